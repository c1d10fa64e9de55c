"""Dates and date-times as CRM exports write them, read to calendar dates.

Day-first or month-first is decided once per column, never per value. Date columns repeat
their values (a thousand close dates for a million deals), so a text column is read once per
distinct value. A date-*time* column (``2024-04-01 09:15``, ``5/20/2024 7:42``) is almost all
distinct, but the time of day never moves the date unless a time zone is asked for: its rows
are grouped by their shape (each digit written as 9) and the digits that matter (year, month,
day, and the hour of a US date, which must be a real hour), and one row per group is read.

Examples
--------
>>> import pandas as pd
>>> d = parse_dates(pd.Series(["31.03.2024", "1.4.2024 10:30"]))
>>> d.values.dt.strftime("%Y-%m-%d").tolist(), d.dayfirst
(['2024-03-31', '2024-04-01'], True)
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ValueParseError
from .cells import STR, Coded, blank_mask, chunk_joined, digit_shapes, first_rows, string_buffers
from .wording_errors import (
    DAYFIRST_BUT_DAY_FIRST,
    DAYFIRST_BUT_MONTH_FIRST,
    MIXED_DATE_ORDERS,
    ONE_DATE_FORMAT,
    PASS_DAYFIRST,
)

__all__ = ["ParsedDates", "parse_dates"]


@dataclass
class ParsedDates:
    """Result of :func:`parse_dates`."""

    values: pd.Series  #: datetime64[ns] at midnight, NaT where blank or unreadable
    bad: np.ndarray  #: True where a non-blank value could not be read
    dayfirst: bool | None = None  #: the order chosen for ``a/b/yyyy`` values (None: none seen)
    ambiguous: bool = False  #: True when no value decided the order (e.g. all days <= 12)
    out_of_range: np.ndarray | None = None  #: True where a readable date is outside 1677-2262
    notes: list[str] = field(default_factory=list)


_ISO_RE = (
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_YMD_RE = r"^(?P<y>\d{4})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"
_NUM_RE = (
    r"^(?P<a>\d{1,2})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})\.?"
    r"(?:[ T,]+(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2})(?:[.,]\d+)?)?\s*(?P<ap>[AaPp]\.?[Mm]\.?)?)?$"
)
_NAMED_FORMATS = (
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%d-%B-%Y",
    "%Y-%m-%d %H:%M:%S.%f",
    "%a %b %d %H:%M:%S %Y",
)


def _year(y: pd.Series) -> pd.Series:
    y = y.astype(float)
    two = y < 100
    # POSIX pivot (as strptime's %y): 69-99 -> 1900s, 00-68 -> 2000s
    return y.where(~two, np.where(y < 69, 2000 + y, 1900 + y))


def _assemble(year, month, day) -> pd.Series:
    frame = pd.DataFrame({"year": year, "month": month, "day": day}).astype(float)
    ok = (
        frame.notna().all(axis=1)
        & frame["month"].between(1, 12)
        & frame["day"].between(1, 31)
        & frame["year"].between(1678, 2261)  # the datetime64[ns] range; others are reported
    )
    out = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    if ok.any():
        good = frame[ok].astype(int)
        out[ok] = pd.to_datetime(good, errors="coerce")
    return out


def parse_dates(
    values: pd.Series,
    *,
    dayfirst: bool | None = None,
    tz: str | None = None,
) -> ParsedDates:
    """Read a column of dates or date-times as written in CRM exports, to calendar dates.

    Accepted: ISO dates and datetimes with or without offsets (``2024-01-22T16:14:25.000+0000``),
    ``M/D/YYYY`` and ``MM/DD/YY hh:mm AM`` (US), ``31.03.2024`` and ``31/03/2024`` (day-first),
    ``2024/03/31``, month names (``31-Mar-2024``, ``Mar 31, 2024``), Excel date cells, and a mix
    of dates and date-times in one column. Day-first or month-first is decided once per column:
    by a value that only fits one order (a first number above 12), else by ``dayfirst``, else
    month-first for ``/`` and day-first for ``.`` with ``ambiguous=True`` so the caller can say so.

    Parameters
    ----------
    values : pandas.Series
        Raw cells.
    dayfirst : bool, optional
        Force the order for ``a/b/yyyy`` values. A value that contradicts it is an error.
    tz : str, optional
        Time zone to convert timestamps that carry an offset to before taking the date;
        by default the date is taken as written.

    Returns
    -------
    ParsedDates

    Examples
    --------
    >>> r = parse_dates(pd.Series(["02/03/24", "02/23/26 08:55 PM", "2024-01-22T23:14:25.000+0000"]))
    >>> r.values.dt.strftime("%Y-%m-%d").tolist(), r.dayfirst
    (['2024-02-03', '2026-02-23', '2024-01-22'], False)
    >>> parse_dates(pd.Series(["2024-01-22T23:14:25Z"]), tz="Europe/Berlin").values.iloc[0]
    Timestamp('2024-01-23 00:00:00')
    """
    if values.dtype == STR and len(values):
        return _dates_by_key(values, dayfirst=dayfirst, tz=tz)
    return _dates_by_value(values, dayfirst=dayfirst, tz=tz)


def _dates_by_value(values: pd.Series, *, dayfirst: bool | None, tz: str | None) -> ParsedDates:
    """Any column (Excel cells included), one distinct text at a time."""
    n = len(values)
    out = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    blank = blank_mask(values)
    obj = pd.Series(values.astype(object).to_numpy())
    oor = np.zeros(n, bool)
    notes: list[str] = []

    # Native datetimes (Excel cells, already-parsed frames); a text column has none.
    if isinstance(values.dtype, pd.StringDtype):
        is_dt = np.zeros(n, bool)
    else:
        is_dt = obj.map(lambda v: isinstance(v, (_dt.datetime, _dt.date, pd.Timestamp, np.datetime64)))
        is_dt = is_dt.to_numpy(bool) & ~blank
    if is_dt.any():
        for i in np.flatnonzero(is_dt):
            v = obj.iloc[i]
            try:
                ts = pd.Timestamp(v)
                if ts.tzinfo is not None:
                    ts = ts.tz_convert(tz) if tz else ts
                    ts = ts.tz_localize(None)
                out.iloc[i] = ts.normalize()
            except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
                oor[i] = True
    # Excel serial numbers read as numbers (e.g. from a CSV of an unformatted date column)
    if isinstance(values.dtype, pd.StringDtype):
        is_num = np.zeros(n, bool)
    else:
        is_num = obj.map(lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool))
        is_num = is_num.to_numpy(bool) & ~blank & ~is_dt
    text_mask = ~blank & ~is_dt & ~is_num
    texts = obj[text_mask].astype(STR).str.strip()
    uniq = pd.Series(texts.unique(), dtype=object)
    parsed = pd.Series(pd.NaT, index=uniq.index, dtype="datetime64[ns]")
    chosen_dayfirst: bool | None = None
    ambiguous = False
    u_oor = np.zeros(len(uniq), bool)

    if len(uniq):

        def fill(mask, dates):
            nonlocal parsed
            take = mask & parsed.isna()
            parsed[take] = dates[take]

        # ISO and Y/M/D values start with a four-digit year, numeric dates with one or two
        # digits and a separator: each pattern is tried only on the values it can match
        year_first = uniq.str.match(r"\d{4}").to_numpy(bool)

        def extract(pattern: str, where: np.ndarray) -> pd.DataFrame:
            return uniq[where].str.extract(pattern).reindex(uniq.index)

        iso = extract(_ISO_RE, year_first)
        m_iso = iso["y"].notna()
        if m_iso.any():
            parsed_iso = _iso_datetimes(uniq[m_iso], iso[m_iso], tz)
            fill(m_iso, parsed_iso.reindex(uniq.index))
            # an ISO-looking value that did not parse is out of range or invalid
        ymd = extract(_YMD_RE, year_first)
        m_ymd = ymd["y"].notna() & ~m_iso
        if m_ymd.any():
            fill(m_ymd, _assemble(ymd["y"], ymd["m"], ymd["d"]))
        num = extract(_NUM_RE, ~year_first)
        m_num = num["a"].notna() & ~m_iso & ~m_ymd
        if m_num.any():
            a = num.loc[m_num, "a"].astype(int)
            b = num.loc[m_num, "b"].astype(int)
            # only a value whose other number is a valid month is evidence (13/13 is just invalid)
            a_only = (a > 12) & (b <= 12)
            b_only = (b > 12) & (a <= 12)
            a_gt = bool(a_only.any())
            b_gt = bool(b_only.any())
            if a_gt and b_gt:
                ex_a = uniq[m_num][a_only].iloc[0]
                ex_b = uniq[m_num][b_only].iloc[0]
                raise ValueParseError(
                    MIXED_DATE_ORDERS.format(day_first=repr(ex_a), month_first=repr(ex_b)),
                    value=ex_b,
                    fix=ONE_DATE_FORMAT,
                )
            evidence = True if a_gt else False if b_gt else None
            if dayfirst is not None and evidence is not None and dayfirst != evidence:
                ex = uniq[m_num][a_only if a_gt else b_only].iloc[0]
                raise ValueParseError(
                    (DAYFIRST_BUT_DAY_FIRST if evidence else DAYFIRST_BUT_MONTH_FIRST).format(given=dayfirst),
                    value=ex,
                    fix=PASS_DAYFIRST.format(evidence=evidence),
                )
            if evidence is not None:
                chosen_dayfirst = evidence
            elif dayfirst is not None:
                chosen_dayfirst = dayfirst
            else:
                dot = bool((num.loc[m_num, "sep"] == ".").all())
                chosen_dayfirst = dot
                ambiguous = bool((a != b).any()) and not dot
            day = a if chosen_dayfirst else b
            month = b if chosen_dayfirst else a
            year = _year(num.loc[m_num, "y"].astype(int))
            dates = _assemble(year, month, day)
            hours = num.loc[m_num, "H"]
            # the time of day never moves a date (no offset), so it is validated but not kept
            bad_time = hours.notna() & (hours.astype(float) > 23)
            dates[bad_time] = pd.NaT
            fill(m_num, dates.reindex(uniq.index))
        rest = parsed.isna() & ~m_iso & ~m_ymd & ~m_num
        for i in np.flatnonzero(rest.to_numpy()):
            text = uniq.iloc[i]
            for fmt in _NAMED_FORMATS:
                try:
                    parsed.iloc[i] = pd.Timestamp(_dt.datetime.strptime(text, fmt)).normalize()
                    break
                except (ValueError, pd.errors.OutOfBoundsDatetime):
                    continue
        # out-of-range years (0001-01-01, 9999-12-31 placeholders) are readable but unusable
        yr = pd.to_numeric(pd.concat([iso["y"], ymd["y"]], axis=1).bfill(axis=1).iloc[:, 0], errors="coerce")
        u_oor = (parsed.isna() & ((yr < 1678) | (yr > 2261))).to_numpy(bool)
        lookup = pd.Series(parsed.to_numpy(), index=uniq.to_numpy())
        lookup_oor = pd.Series(u_oor, index=uniq.to_numpy())
        idx = np.flatnonzero(text_mask)
        out.iloc[idx] = lookup.reindex(texts.to_numpy()).to_numpy()
        oor[idx] = lookup_oor.reindex(texts.to_numpy()).to_numpy(bool)
    if is_num.any():
        serial = pd.to_numeric(obj[is_num], errors="coerce").astype(float)
        ok = serial.between(20000, 80000)  # 1954-10-03 .. 2119-01-12
        conv = pd.to_datetime("1899-12-30") + pd.to_timedelta(serial[ok].round(), unit="D")
        out.iloc[np.flatnonzero(is_num)[ok.to_numpy()]] = conv.to_numpy()
        if ok.any():
            notes.append("numbers in a date column were read as Excel date serials")
    bad = ~blank & out.isna().to_numpy() & ~oor
    out.index = values.index
    return ParsedDates(
        values=out.astype("datetime64[ns]"),
        bad=bad,
        dayfirst=chosen_dayfirst,
        ambiguous=ambiguous,
        out_of_range=oor,
        notes=notes,
    )


_MANY = 20_000  # shorter columns are read per distinct value whatever they hold
_KEY_ROWS = 1 << 15  # rows keyed at a time
# characters of the shapes grouped by key: the regexes read them alike in any engine
_KEY_CHARS = frozenset("9-/.: TZ+,AaPpMm")


def _dates_by_key(values: pd.Series, *, dayfirst: bool | None, tz: str | None) -> ParsedDates:
    """Text columns: read one value per group of rows that must give the same date."""
    arr = chunk_joined(values)
    n = len(arr)
    # a date-time column is almost all distinct values, a date column has a few thousand
    if n > _MANY and pc.any(pc.match_substring(arr.slice(0, 4096), ":")).as_py():
        # Arrow's hash numbers the keys in order of first appearance, as pandas would, and
        # leaves the other threads free meanwhile
        encoded = pc.dictionary_encode(pa.array(_date_keys(arr, tz)))
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        first = first_rows(codes, len(encoded.dictionary))
        coded = Coded(codes, pd.Series(arr.take(pa.array(first)).to_pandas(), dtype=STR))
    else:
        coded = Coded.of(pa.chunked_array([arr]))
    one = _dates_by_value(coded.values, dayfirst=dayfirst, tz=tz)
    return ParsedDates(
        values=pd.Series(coded.take(one.values.to_numpy()), index=values.index, dtype="datetime64[ns]"),
        bad=coded.take(one.bad),
        dayfirst=one.dayfirst,
        ambiguous=one.ambiguous,
        out_of_range=coded.take(one.out_of_range),
        notes=one.notes,
    )


def _key_positions(shape: str, tz: str | None) -> tuple[list[int], list[int]] | None:
    """Where, in values of this shape, are the digits that decide the date, and the digits of an
    hour that must be below 24 (None: the whole value decides).

    The parser ignores the time of day except the hour of a ``M/D/Y H:MM`` value (above 23 it
    is no date) and, with ``tz``, the time of a value with an offset.
    """
    if not shape.isascii() or not set(shape) <= _KEY_CHARS:
        return None
    m = re.match(_ISO_RE, shape)
    if m:
        if tz and m.group("tz") and m.group("H"):
            return None
        groups, hour = ("y", "m", "d"), None
    elif m := re.match(_YMD_RE, shape):
        groups, hour = ("y", "m", "d"), None
    elif m := re.match(_NUM_RE, shape):
        groups, hour = ("a", "b", "y"), "H"
    else:
        return None
    digits = [p for g in groups for p in range(*m.span(g))]
    hours = list(range(*m.span(hour))) if hour and m.group(hour) is not None else []
    return digits, hours


def _nibbles(word: np.ndarray) -> np.ndarray:
    """The low four bits of each of a word's 8 bytes, packed into 32 bits (exact: a digit's
    byte is 0x30 plus the digit, and the other bytes of a shape are the same on every row)."""
    x = word & np.uint64(0x0F0F0F0F0F0F0F0F)
    x = (x | (x >> np.uint64(4))) & np.uint64(0x00FF00FF00FF00FF)
    x = (x | (x >> np.uint64(8))) & np.uint64(0x0000FFFF0000FFFF)
    return (x | (x >> np.uint64(16))) & np.uint64(0xFFFFFFFF)


def _word_reader(data: np.ndarray):
    """A function giving the unaligned 8-byte word (little-endian) at each of some byte positions
    of ``data``, zero bytes past its end.

    The words are read where the bytes lie: only the last few bytes are copied, to pad them (a
    million date-times' text is not copied whole for the sake of its end).

    >>> read = _word_reader(np.frombuffer(b"0123456789", np.uint8))
    >>> [hex(int(w)) for w in read(np.array([0, 2, 9]))]
    ['0x3736353433323130', '0x3938373635343332', '0x39']
    """
    body = max(len(data) - 7, 0)  # positions whose 8 bytes all lie in the data
    inner = np.ndarray(shape=(body,), dtype="<u8", buffer=data, strides=(1,)) if body else np.zeros(0, "<u8")
    tail = np.concatenate([data[body:], np.zeros(16, np.uint8)])
    outer = np.ndarray(shape=(len(tail) - 7,), dtype="<u8", buffer=tail, strides=(1,))

    def read(positions: np.ndarray) -> np.ndarray:
        if not len(positions) or positions.max() < body:
            return inner[positions]
        out = np.empty(len(positions), np.uint64)
        near = positions < body
        out[near] = inner[positions[near]]
        out[~near] = outer[positions[~near] - body]
        return out

    return read


def _date_keys(arr: pa.Array, tz: str | None) -> np.ndarray:
    """Per row, an integer equal for rows that must give the same date.

    Every row is keyed in one sweep over the column, in row order: what differs between shapes
    (where the date's digits start, how many bytes they span, where a two-digit hour is) is
    looked up per row from small tables indexed by the row's shape.
    """
    off, data, _ = string_buffers(arr)
    encoded = pc.dictionary_encode(digit_shapes(arr), null_encoding="encode")
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    shapes = encoded.dictionary.to_pylist()
    k = len(shapes)
    first = np.zeros(k, np.int64)  # where the date's digits start
    low_mask = np.zeros(k, np.uint64)  # the bytes of the first word that hold them
    high_mask = np.zeros(k, np.uint64)  # ... and of the next word (spans over 8 bytes)
    hour_at = np.zeros(k, np.int64)  # the first digit of a two-digit hour
    two_digit_hour = np.zeros(k, bool)
    keyed = np.zeros(k, bool)
    for j, shape in enumerate(shapes):
        positions = None if shape is None else _key_positions(shape, tz)
        if positions is None:
            continue
        digits, hours = positions
        keyed[j] = True
        # the date's digits lie in at most 10 bytes: two words' worth of nibbles, 40 bits
        first[j], span = min(digits), max(digits) - min(digits) + 1
        low_mask[j] = (1 << (8 * min(span, 8))) - 1
        high_mask[j] = (1 << (8 * max(span - 8, 0))) - 1
        if len(hours) == 2:  # a one-digit hour is always below 24
            two_digit_hour[j], hour_at[j] = True, hours[0]
    words = _word_reader(data)  # an unaligned 8-byte word at any byte position
    keys = np.empty(len(codes), np.int64)
    # a block of rows at a time: its temporaries stay in the cache, and no new memory is
    # touched but the keys themselves
    for b in range(0, len(codes), _KEY_ROWS):
        c = codes[b : b + _KEY_ROWS]
        starts = off[b : b + len(c)].astype(np.int64)
        at = starts + first[c]
        key = _nibbles(words(at) & low_mask[c])
        if high_mask.any():
            key |= _nibbles(words(at + 8) & high_mask[c]) << np.uint64(32)
        block = (c.astype(np.int64) << np.int64(41)) | (key.astype(np.int64) << np.int64(1))
        if two_digit_hour.any():
            # the hour's two digits are the low two bytes of the word where it starts
            hour_word = words(starts + hour_at[c])
            tens = (hour_word & np.uint64(0xFF)).astype(np.int64) - 48
            ones = ((hour_word >> np.uint64(8)) & np.uint64(0xFF)).astype(np.int64) - 48
            block |= two_digit_hour[c] & (tens * 10 + ones > 23)
        keys[b : b + len(c)] = block
    keys[~keyed[codes]] = -1  # missing values (and the rows read by value, numbered below)
    by_value = ~keyed
    if shapes.count(None):
        by_value[shapes.index(None)] = False
    if by_value.any():
        rows = np.flatnonzero(by_value[codes])
        keys[rows] = -2 - Coded.of(pa.chunked_array([arr.take(pa.array(rows))])).codes
    return keys


def _iso_datetimes(texts: pd.Series, parts: pd.DataFrame, tz: str | None) -> pd.Series:
    dates = _assemble(parts["y"], parts["m"], parts["d"])
    has_tz = parts["tz"].notna() & parts["H"].notna()
    if tz and has_tz.any():
        stamps = pd.to_datetime(texts[has_tz], utc=True, errors="coerce", format="ISO8601")
        local = stamps.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
        dates[has_tz] = local
    return dates


# --------------------------------------------------------------------------- booleans
_TRUE = {"true", "t", "yes", "y", "1", "1.0", "x", "wahr", "ja", "oui", "si", "sí", "won", "closed"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "falsch", "nein", "non"}
