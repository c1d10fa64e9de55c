"""What a column's values say about it, from a bounded sample of rows plus whole-column counts.

A proposal must be quick on a million rows, so the values are read from at most
:data:`SAMPLE_ROWS` rows (the first ones and rows spread over the rest); only two facts need the
whole column, and each is asked for only of the columns it can decide: whether an id-like
column is unique, and the distinct values (with their counts) of a stage or status column.

Examples
--------
>>> from channelkpi.ingest.reader import read_raw
>>> raw = read_raw(b"ref,when,value,phase\\nA1,31/01/2024,\\"1.200,50\\",Won\\nA2,02/02/2024,80,Lost\\n")
>>> p = profile_columns(raw)
>>> p["ref"].unique, p["when"].dates, p["when"].dayfirst, p["value"].decimal, p["phase"].distinct
(True, 1.0, True, ',', 2)
>>> read_stage("Getekend"), read_stage("3 - Negotiating")[0], read_stage("Closed")[0]
(('won', "'Getekend' means won (Dutch)"), 'open', None)
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ChannelKPIError
from .cells import blank_mask, has_repeats
from .currencies import CURRENCY_NAMES
from .meaning_headers import word_key
from .parse import parse_amounts, parse_dates
from .presets import DEFAULT_STAGE_MAP, STATUS_WORDS, norm
from .reader import RawTable
from .vocabulary import CLOSED_WORDS, LANGUAGES, STAGES, STATUS_VALUES

__all__ = ["FEW", "SAMPLE_ROWS", "Profile", "profile_columns", "read_stage", "stage_counts", "status_word"]

#: At most this many rows are read for the values (half the first rows, half spread out).
SAMPLE_ROWS = 2000
#: A column with at most this many distinct values in the sample may be a stage or status.
FEW = 40

_STAGE_WORDS: dict[str, tuple[str, str]] = {}
for _reading, _by_language in STAGES.items():
    for _lang, _words in _by_language.items():
        for _word in _words:
            _STAGE_WORDS.setdefault(word_key(_word), (_reading, _lang))
_ISO = frozenset(CURRENCY_NAMES.values())
_STATUSES = frozenset(word_key(w) for w in STATUS_VALUES)
_CLOSED = frozenset(word_key(w) for w in CLOSED_WORDS)
_WON_LIKE = re.compile(r"\b(?:won|win|gewonnen|gagne)")
_LOST_LIKE = re.compile(r"\b(?:lost|lose|verloren|perdu|dead|disqualified)")
_CODE_LIKE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./#:-]{0,39}$")
_DECIMAL_COMMA = re.compile(r"\d,\d{1,2}(?:\D*)$|\d\.\d{3},")
_DECIMAL_POINT = re.compile(r"\d\.\d{1,2}(?:\D*)$|\d,\d{3}\.")
_DATE_LIKE = re.compile(
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}[-. ]?[A-Za-z\u00c0-\u017f]{3,9}\.?[-. ]\d{2,4}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}"
)
_MONEY_MARKS = re.compile(r"[€$£¥]|\b[A-Z]{3}\b|\d[.,]\d{2}\D*$|\d[,.' ]\d{3}")


@dataclass(frozen=True)
class Profile:
    """What the sampled values of one column look like (shares are of its filled cells)."""

    header: str
    filled: int  #: non-blank cells in the sample
    distinct: int  #: distinct non-blank values in the sample
    dates: float  #: share read as dates
    dayfirst: bool | None  #: the day/month order the values decide (None: they do not)
    numbers: float  #: share read as numbers or amounts
    money: float  #: share written like money (a currency, two decimals, thousands separators)
    decimal: str | None  #: the decimal separator the values decide
    currency: str | None  #: the one currency written in the cells, if any
    percent: bool  #: every number lies in 0..100
    percent_sign: bool  #: values are written with ``%``
    codes: float  #: share that look like codes (one word of letters and digits, with a digit)
    iso: float  #: share that are currency codes or names
    text: float  #: share that are neither numbers nor dates
    known: tuple[tuple[str, str], ...]  #: distinct sampled values that read as won/lost/open words
    statuses: bool  #: every sampled value is a plain status word (open, won, lost, offen, perdu, ...)
    unique: bool | None  #: whole column: every row has its own value (None: not asked)
    repeats: int  #: whole column: rows that repeat another row's value (when asked)


def _sample_positions(n: int) -> np.ndarray:
    if n <= SAMPLE_ROWS:
        return np.arange(n)
    half = SAMPLE_ROWS // 2
    return np.unique(np.concatenate([np.arange(half), np.linspace(half, n - 1, half).astype(np.int64)]))


def _share(mask: np.ndarray, of: int) -> float:
    return float(mask.sum()) / of if of else 0.0


def _dates(values: pd.Series) -> tuple[np.ndarray, bool | None]:
    """Which values read as dates, and the day/month order they decide; text that does not
    look like dates at all is not tried (trying every date format on free text is slow)."""
    looks = np.array([isinstance(v, (pd.Timestamp, dt.date)) or bool(_DATE_LIKE.search(str(v))) for v in values])
    if looks.mean() < 0.5:
        return np.zeros(len(values), bool), None
    try:
        parsed = parse_dates(values)
    except ChannelKPIError:
        return np.zeros(len(values), bool), None
    ok = ~parsed.bad & parsed.values.notna().to_numpy()
    return ok, (None if parsed.ambiguous else parsed.dayfirst)


def _numbers(values: pd.Series) -> tuple[np.ndarray, str | None, np.ndarray]:
    try:
        parsed = parse_amounts(values)
    except ChannelKPIError:  # a column that mixes a decimal point and a decimal comma
        return np.zeros(len(values), bool), None, np.full(len(values), np.nan)
    currency = parsed.currency
    # "Rep 12" reads as 12 in a currency "REP": only real currencies make a number money
    ok = ~parsed.bad & parsed.values.notna().to_numpy() & (currency.isna() | currency.isin(_ISO)).to_numpy()
    codes = {c for c in currency[ok].dropna()}
    return ok, (codes.pop() if len(codes) == 1 else None), parsed.values.to_numpy(float)


def _has_letter_and_digit(text: str) -> bool:
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


def _decimal(texts: list[str]) -> str | None:
    comma = any(_DECIMAL_COMMA.search(t) for t in texts)
    point = any(_DECIMAL_POINT.search(t) for t in texts)
    return "," if comma and not point else "." if point and not comma else None


def _profile(raw: RawTable, header: str, column: pd.Series) -> Profile:
    filled_mask = ~blank_mask(column)
    values = column[filled_mask].reset_index(drop=True)
    n = len(values)
    texts = [str(v).strip() for v in values]
    distinct = sorted(set(texts))
    date_ok, dayfirst = _dates(values) if n else (np.zeros(0, bool), None)
    num_ok, currency, numbers = _numbers(values) if n else (np.zeros(0, bool), None, np.zeros(0))
    num_ok &= ~date_ok
    read = numbers[num_ok]
    # a code has letters and digits ("Q-101", "OP9001"); a bare number may as well be money,
    # and digits with dashes a phone number
    code_ok = np.array([bool(_CODE_LIKE.match(t)) and _has_letter_and_digit(t) for t in texts], bool) & ~num_ok
    iso_ok = np.array([t.upper() in _ISO or t.lower() in CURRENCY_NAMES for t in texts], bool)
    number_texts = [t for t, ok in zip(texts, num_ok) if ok]
    known = (
        tuple((v, r) for v in distinct[: FEW + 1] if (r := status_word(v)) is not None) if len(distinct) <= FEW else ()
    )
    unique, repeats = None, 0
    one_word = all(_CODE_LIKE.match(t) for t in texts)
    if n and len(distinct) == n == len(column) and one_word and not date_ok.any():
        unique, repeats = _whole_column_unique(raw, header)
    return Profile(
        header=header,
        filled=n,
        distinct=len(distinct),
        dates=_share(date_ok, n),
        dayfirst=dayfirst,
        numbers=_share(num_ok, n),
        money=_share(np.array([bool(_MONEY_MARKS.search(t)) for t in number_texts], bool), n),
        decimal=_decimal(number_texts),
        currency=currency,
        percent=bool(len(read)) and bool(np.nanmin(read) >= 0 and np.nanmax(read) <= 100),
        percent_sign=bool(number_texts) and all(t.endswith("%") for t in number_texts),
        codes=_share(code_ok & ~date_ok, n),
        iso=_share(iso_ok, n),
        text=_share(~num_ok & ~date_ok, n),
        known=known,
        statuses=bool(distinct) and all(norm(v) in STATUS_WORDS or word_key(v) in _STATUSES for v in distinct),
        unique=unique,
        repeats=repeats,
    )


def _whole_column_unique(raw: RawTable, header: str) -> tuple[bool, int]:
    """Whether every row of the whole column holds its own non-blank value, and how many rows
    repeat another's (counted only when some do)."""
    column = raw.cells[header]
    if column.hasnans:
        return False, 0
    if not has_repeats(column):
        return True, 0
    return False, int(len(column) - column.nunique())


def profile_columns(raw: RawTable) -> dict[str, Profile]:
    """A :class:`Profile` of every column, from a bounded sample of its rows."""
    sample = raw.cells.rows(_sample_positions(len(raw)))
    return {h: _profile(raw, h, sample[h]) for h in raw.headers}


def status_word(value: object) -> str | None:
    """won/lost/open when ``value`` is, or contains, a known stage or status word, else None."""
    reading, _why, known = _recognise(value)
    return reading if known else None


def read_stage(value: object) -> tuple[str | None, str]:
    """How a stage or status value reads (won, lost, open, or None: ask) and why.

    Known words in four languages read as they say; a value that contains a won or lost word
    reads so; a value that looks closed without saying how needs a reading; any other value
    reads as open, as :func:`channelkpi.load_crm` reads a stage it does not know.
    """
    reading, why, _known = _recognise(value)
    return reading, why


def _recognise(value: object) -> tuple[str | None, str, bool]:
    """(reading, why, whether a known word decided it)."""
    key = norm(value)
    known = DEFAULT_STAGE_MAP.get(key) or STATUS_WORDS.get(key)
    if known:
        return known, f"{str(value)!r} is a standard {known} stage", True
    words = word_key(value)
    hit = _STAGE_WORDS.get(words)
    if hit:
        return hit[0], f"{str(value)!r} means {hit[0]} ({LANGUAGES[hit[1]]})", True
    tokens = words.split()
    inside = {_STAGE_WORDS[t][0] for t in tokens if t in _STAGE_WORDS}
    if _WON_LIKE.search(words):
        inside.add("won")
    if _LOST_LIKE.search(words):
        inside.add("lost")
    closed = [t for t in tokens if t in _CLOSED]
    if len(inside - {"open"}) == 1 and not (closed and "open" in inside):
        reading = (inside - {"open"}).pop()
        return reading, f"{str(value)!r} contains a {reading} word", True
    if len(inside - {"open"}) > 1:
        return None, f"{str(value)!r} has both won and lost words: say which", True
    if closed:
        return None, f"{str(value)!r} looks closed without saying won or lost: say which", True
    if inside == {"open"}:
        return "open", f"{str(value)!r} contains an open-stage word", True
    return "open", f"{str(value)!r} is not a won or lost word, so it reads as an open stage", False


def stage_counts(raw: RawTable, header: str) -> list[tuple[str, int]]:
    """Every distinct non-blank value of a whole column with its row count, most rows first."""
    coded = raw.cells.coded(header)
    counts = coded.counts()
    blank = blank_mask(coded.values)
    pairs = [(str(v), int(c)) for v, c, b in zip(coded.values, counts, blank) if not b and c]
    return sorted(pairs, key=lambda p: -p[1])
