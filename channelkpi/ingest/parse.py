"""Vectorised parsers for the values CRM exports contain: amounts, dates, booleans.

Each parser works on a whole column, decides the column's convention once (decimal comma or
point, day-first or month-first) and never per value, and returns the parsed values together
with a mask of the values it could not read so the caller can report them by row.

Examples
--------
>>> import pandas as pd
>>> parsed = parse_amounts(pd.Series(["$7,450,000.00 ", "USD 10,083.86", None]))
>>> parsed.values.tolist()
[7450000.0, 10083.86, nan]
>>> parsed.currency.tolist()
['USD', 'USD', nan]
>>> parse_amounts(pd.Series(["1.200,50 €", "1 200,50 €"])).values.tolist()
[1200.5, 1200.5]
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

__all__ = [
    "ParsedAmounts",
    "ParsedDates",
    "parse_amounts",
    "parse_dates",
    "parse_bools",
    "is_blank",
    "CURRENCY_NAMES",
    "normalize_currency",
]

_STR = pd.StringDtype(na_value=np.nan)
_SPACES = re.compile(r"[\s\u00a0\u2007\u202f\u2009]+")

#: Currency symbols and names -> ISO 4217 codes. ``$`` alone is read as USD.
CURRENCY_NAMES: dict[str, str] = {
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "us dollar": "USD",
    "u.s. dollar": "USD",
    "dollar": "USD",
    "us dollars": "USD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "british pound": "GBP",
    "pound sterling": "GBP",
    "british pound sterling": "GBP",
    "¥": "JPY",
    "jpy": "JPY",
    "japanese yen": "JPY",
    "yen": "JPY",
    "₹": "INR",
    "inr": "INR",
    "indian rupee": "INR",
    "chf": "CHF",
    "swiss franc": "CHF",
    "fr.": "CHF",
    "c$": "CAD",
    "ca$": "CAD",
    "cad": "CAD",
    "canadian dollar": "CAD",
    "a$": "AUD",
    "au$": "AUD",
    "aud": "AUD",
    "australian dollar": "AUD",
    "nz$": "NZD",
    "nzd": "NZD",
    "new zealand dollar": "NZD",
    "r$": "BRL",
    "brl": "BRL",
    "brazilian real": "BRL",
    "zł": "PLN",
    "pln": "PLN",
    "polish zloty": "PLN",
    "kč": "CZK",
    "czk": "CZK",
    "czech koruna": "CZK",
    "sek": "SEK",
    "swedish krona": "SEK",
    "nok": "NOK",
    "norwegian krone": "NOK",
    "dkk": "DKK",
    "danish krone": "DKK",
    "mxn": "MXN",
    "mexican peso": "MXN",
    "cny": "CNY",
    "yuan renminbi": "CNY",
    "chinese yuan": "CNY",
    "sgd": "SGD",
    "singapore dollar": "SGD",
    "hkd": "HKD",
    "hong kong dollar": "HKD",
    "zar": "ZAR",
    "south african rand": "ZAR",
    "krw": "KRW",
    "₩": "KRW",
    "korean won": "KRW",
}
_ISO = re.compile(r"^[A-Za-z]{3}$")


def normalize_currency(value: object) -> str | float:
    """Return the ISO code for a currency code, name or symbol (``NaN`` for blanks).

    Unknown three-letter codes are upper-cased; other unknown names are returned as written.

    >>> normalize_currency("US Dollar"), normalize_currency("eur"), normalize_currency("€")
    ('USD', 'EUR', 'EUR')
    """
    if is_blank(value):
        return np.nan
    text = _SPACES.sub(" ", str(value)).strip()
    code = CURRENCY_NAMES.get(text.lower())
    if code:
        return code
    return text.upper() if _ISO.match(text) else text


def is_blank(value: object) -> bool:
    """True for ``None``, NaN, NaT and strings that are empty after stripping."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _blank_mask(values: pd.Series) -> np.ndarray:
    """True where a cell is missing or a string of only whitespace."""
    if isinstance(values.dtype, pd.StringDtype):
        return np.array(values.isna() | (values.str.strip() == ""), dtype=bool)
    obj = pd.Series(values.astype(object).to_numpy())
    empty_str = obj.map(lambda v: isinstance(v, str) and not v.strip())
    return np.array(obj.isna(), dtype=bool) | np.array(empty_str, dtype=bool)


# --------------------------------------------------------------------------- amounts
@dataclass
class ParsedAmounts:
    """Result of :func:`parse_amounts`."""

    values: pd.Series  #: float64, NaN where blank or unreadable
    currency: pd.Series  #: ISO code found inline (``$``, ``USD``, ``€``), NaN where none
    bad: np.ndarray  #: True where a non-blank value could not be read
    decimal: str = "."  #: the decimal separator the column was read with
    notes: list[str] = field(default_factory=list)


_AMOUNT_CORE = re.compile(
    r"^(?P<pre>[^\d\s.,+\-−()']*?)\s*(?P<num>[+\-−]?[\d][\d.,' ]*)\s*(?P<post>[^\d\s.,+\-−()']*)$"
)


def _split_amount(text: str) -> tuple[str, str, bool] | None:
    """Return (number text, currency text, negative) or None when it is not an amount."""
    s = _SPACES.sub(" ", text).strip()
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if s.endswith("-") and not s.startswith("-"):
        negative, s = True, s[:-1].strip()
    for sign in ("-", "−"):
        if s.startswith(sign):  # "-$1,200" and "- 1200"
            negative, s = not negative, s[1:].strip()
    m = _AMOUNT_CORE.match(s)
    if not m:
        return None
    num = m.group("num").strip()
    if num[0] in "+-−":
        negative = negative != (num[0] in "-−")
        num = num[1:]
    pre, post = m.group("pre").strip(), m.group("post").strip()
    if pre and post:
        return None
    cur = pre or post
    if cur.startswith("-") or cur.startswith("−"):
        return None
    return num, cur, negative


def parse_amounts(values: pd.Series) -> ParsedAmounts:
    """Read a column of money amounts as written in CRM exports.

    Accepts plain numbers, thousands separators (``10,000``, ``1.200,50``, ``1 200,50``,
    ``1'200.50``), currency symbols or codes before or after the number (``$``, ``USD``, ``€``),
    negative numbers as ``-5``, ``(5)`` or ``5-``, trailing spaces, and numeric cells from
    Excel. Whether ``,`` or ``.`` is the decimal separator is decided once for the column from the
    values that are unambiguous (``1.200,50`` or ``12,5`` mean a decimal comma).

    Parameters
    ----------
    values : pandas.Series
        Raw cells (strings, numbers, blanks).

    Returns
    -------
    ParsedAmounts

    Examples
    --------
    >>> parse_amounts(pd.Series(["(1,250.00)", "£1001", "12,5", ""])).values.tolist()
    Traceback (most recent call last):
    ...
    channelkpi.errors.ValueParseError: amounts mix a decimal point and a decimal comma ...
    >>> parse_amounts(pd.Series(["(1,250.00)", "£1001", ""])).values.tolist()
    [-1250.0, 1001.0, nan]
    """
    from ..errors import ValueParseError

    n = len(values)
    out = np.full(n, np.nan)
    cur_out = np.full(n, np.nan, dtype=object)
    bad = np.zeros(n, bool)
    blank = _blank_mask(values)
    obj = values.astype(object).to_numpy()

    # Fast path: numbers and numeric strings (C speed, no per-value Python).
    numeric = pd.to_numeric(pd.Series(obj), errors="coerce").to_numpy(float)
    plain = ~np.isnan(numeric) & ~blank
    # bool cells are not money
    is_bool = np.fromiter((isinstance(v, (bool, np.bool_)) for v in obj), bool, n)
    plain &= ~is_bool
    out[plain] = numeric[plain]
    rest = ~plain & ~blank
    notes: list[str] = []
    decimal = "."
    if rest.any():
        texts = pd.Series(obj[rest]).astype(_STR)
        # Amounts are mostly distinct, their *shapes* are not: "12,345.67" and "98,765.43" are
        # both "99,999.99". Every decision (separators, sign, currency, validity) depends only
        # on the shape, so it is made once per shape; the digits are then read vectorised.
        shapes = texts.str.replace(r"\d", "9", regex=True)
        uniq = pd.unique(shapes)
        split = {u: _split_amount(u) for u in uniq}
        nums = [(u, sp[0]) for u, sp in split.items() if sp]
        comma = [u for u, t in nums if _is_comma_decimal(t)]
        dot = [u for u, t in nums if _is_dot_decimal(t)]
        if comma and dot:
            ex_c = texts[shapes == comma[0]].iloc[0]
            ex_d = texts[shapes == dot[0]].iloc[0]
            raise ValueParseError(
                f"amounts mix a decimal point and a decimal comma ({ex_d!r} and {ex_c!r})",
                value=ex_c,
                fix="export the column in one number format, or fix the odd values",
            )
        decimal = "," if comma else "."
        if not comma and any(re.fullmatch(r"\d{1,3}\.\d{3}", t.replace("9", "1")) for _, t in nums):
            notes.append(
                "values such as '1.200' were read with '.' as the decimal point; "
                "if they are thousands, the export uses a decimal comma"
            )
        sign: dict[str, float] = {}
        code_of: dict[str, object] = {}
        for u, sp in split.items():
            if sp is None:
                continue
            num, cur, neg = sp
            if _to_float(num, decimal) is None:
                continue
            code = normalize_currency(cur) if cur else np.nan
            if cur and code == cur and not _ISO.match(cur):
                continue  # "12 apples": an unknown word next to a number is not a currency
            sign[u] = -1.0 if neg else 1.0
            code_of[u] = code
        ok = shapes.isin(list(sign)).to_numpy()
        digits = texts[ok].str.replace(r"[^\d.,]", "", regex=True)
        thousands = "." if decimal == "," else ","
        digits = digits.str.replace(thousands, "", regex=False)
        if decimal == ",":
            digits = digits.str.replace(",", ".", regex=False)
        number = pd.to_numeric(digits, errors="coerce").to_numpy(float)
        number = number * shapes[ok].map(sign).to_numpy(float)
        idx = np.flatnonzero(rest)
        out[idx[ok]] = number
        cur_out[idx[ok]] = shapes[ok].map(code_of).to_numpy(object)
        bad[idx[~ok]] = True
    not_finite = ~np.isfinite(out) & ~np.isnan(out)
    if not_finite.any():
        bad |= not_finite
        out[not_finite] = np.nan
    return ParsedAmounts(
        values=pd.Series(out, index=values.index, dtype="float64"),
        currency=pd.Series(cur_out, index=values.index, dtype=object),
        bad=bad,
        decimal=decimal,
        notes=notes,
    )


def _is_comma_decimal(num: str) -> bool:
    num = num.replace(" ", "").replace("'", "")
    if "," in num and "." in num:
        return num.rfind(",") > num.rfind(".")
    if num.count(".") > 1:
        return True  # 1.200.000
    m = re.search(r",(\d+)$", num)
    return bool(m) and num.count(",") == 1 and len(m.group(1)) != 3


def _is_dot_decimal(num: str) -> bool:
    num = num.replace(" ", "").replace("'", "")
    if "," in num and "." in num:
        return num.rfind(".") > num.rfind(",")
    if num.count(",") > 1:
        return True  # 1,200,000
    m = re.search(r"\.(\d+)$", num)
    return bool(m) and num.count(".") == 1 and len(m.group(1)) != 3


def _to_float(num: str, decimal: str) -> float | None:
    thousands = "." if decimal == "," else ","
    text = num.replace(" ", "").replace("'", "")
    if decimal in text and text.count(decimal) > 1:
        return None
    if thousands in text:
        head, _, tail = text.partition(decimal)
        groups = head.split(thousands)
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
            return None
        text = "".join(groups) + (decimal + tail if tail or decimal in text else "")
    text = text.replace(decimal, ".")
    try:
        return float(text)
    except ValueError:
        return None


# --------------------------------------------------------------------------- dates
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
    from ..errors import ValueParseError

    n = len(values)
    out = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    blank = _blank_mask(values)
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
    texts = obj[text_mask].astype(_STR).str.strip()
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

        iso = uniq.str.extract(_ISO_RE)
        m_iso = iso["y"].notna()
        if m_iso.any():
            parsed_iso = _iso_datetimes(uniq[m_iso], iso[m_iso], tz)
            fill(m_iso, parsed_iso.reindex(uniq.index))
            # an ISO-looking value that did not parse is out of range or invalid
        ymd = uniq.str.extract(_YMD_RE)
        m_ymd = ymd["y"].notna() & ~m_iso
        if m_ymd.any():
            fill(m_ymd, _assemble(ymd["y"], ymd["m"], ymd["d"]))
        num = uniq.str.extract(_NUM_RE)
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
                    f"dates mix day-first and month-first values ({ex_a!r} and {ex_b!r})",
                    value=ex_b,
                    fix="export the column in one date format",
                )
            evidence = True if a_gt else False if b_gt else None
            if dayfirst is not None and evidence is not None and dayfirst != evidence:
                ex = uniq[m_num][a_only if a_gt else b_only].iloc[0]
                raise ValueParseError(
                    f"dayfirst={dayfirst} but the dates are written {'day' if evidence else 'month'}-first",
                    value=ex,
                    fix=f"pass dayfirst={evidence} or leave dayfirst unset",
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


def parse_bools(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Read a flag column (``TRUE``/``FALSE``, ``true``/``false``, ``1``/blank, ``yes``/``no``).

    A blank is ``False`` when the column never writes false explicitly (the ``1``/blank
    convention of some Salesforce exports) and unknown (``<NA>``) otherwise.

    Returns
    -------
    (pandas.Series of boolean, numpy bool array of unreadable values)

    Examples
    --------
    >>> parse_bools(pd.Series(["1", "", "1"]))[0].tolist()
    [True, False, True]
    >>> parse_bools(pd.Series(["TRUE", "", "false"]))[0].tolist()
    [True, <NA>, False]
    """
    blank = _blank_mask(values)
    text = values.astype(object).map(lambda v: str(v).strip().lower() if not is_blank(v) else "")
    text = text.map(lambda s: {"true": "true", "false": "false"}.get(s, s))
    is_true = text.isin(_TRUE).to_numpy()
    is_false = text.isin(_FALSE).to_numpy()
    bad = ~blank & ~is_true & ~is_false
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[is_true] = True
    out[is_false] = False
    if not is_false.any():
        out[blank] = False
    return out, bad
