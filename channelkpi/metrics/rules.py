"""Row rules: what stage 1 derives from every deal, declared once for every engine.

Each rule is written here once; what follows it are its spellings for the engines (plain
Python, numpy, narwhals, polars, DuckDB SQL), each a line or two that reads the same as the
rule. The test suite (``tests/test_rules.py``) checks every spelling against the others and
against values worked out by hand.

Day numbers
    Days since 1970-01-01 (:data:`EPOCH`), negative before it.
Month indexes
    ``year * 12 + month - 1``.
Period keys
    An integer per week, month, quarter or (fiscal) year: :func:`period_key` says which number
    a period counts (days or months), how far it is shifted and how wide a period is; the key
    of a date is ``(number + offset) // width`` (a floor, also before 1970). A missing date
    has the key :data:`NULL_KEY`; with ``freq=None`` every deal is in the one period ``0``.
Cents
    Money is summed in integer cents rounded half up, ``floor(amount * 100 + 0.5)`` (the
    same on every engine: ``round()`` is half-to-even on some and half-away-from-zero on
    others), and divided by 100 at the end.
Flags
    The 0/1 facts of a deal that stage 1 groups by are packed into one small integer, bit
    ``i`` for flag ``i`` of :data:`CREATED_FLAGS` (the pass by creation) or
    :data:`OUTCOME_FLAGS` (the pass by close). Every engine packs and unpacks through these
    layouts, so reordering one changes all engines alike.

Examples
--------
>>> import datetime
>>> day_number(datetime.date(2026, 2, 15)), month_index(2026, 2)
(20499, 24313)
>>> rule = period_key("Q", 2)   # fiscal quarters of a year starting in February
>>> rule
PeriodKey(unit='month', offset=-1, width=3)
>>> rule.of(month_index(2026, 2)), rule.first(rule.of(month_index(2026, 2))) == month_index(2026, 2)
(8104, True)
>>> cents(19.995), cents(0.125)
(2000.0, 13.0)
>>> CREATED_FLAGS.unpack(CREATED_FLAGS.pack({"cl_null": 1, "has_amount": 1}))["has_amount"]
1
"""

from __future__ import annotations

import datetime
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..types import FREQS, Freq

__all__ = [
    "EPOCH",
    "NULL_KEY",
    "CYCLE_WEEKS_CAP",
    "Freq",
    "FREQS",
    "days_from_civil",
    "day_number",
    "month_index",
    "PeriodKey",
    "period_key",
    "date_key",
    "cents",
    "FlagLayout",
    "CREATED_FLAGS",
    "OUTCOME_FLAGS",
    "numpy_dates",
    "numpy_key",
    "narwhals_floordiv",
    "narwhals_days",
    "narwhals_month_index",
    "narwhals_key",
    "narwhals_cents",
    "polars_days",
    "polars_month_index",
    "duckdb_days",
    "duckdb_month_index",
]

#: Day 0.
EPOCH = datetime.date(1970, 1, 1)
#: The period key of a missing date (never a real period).
NULL_KEY = -(2**40)
#: Cycle-length histograms: the last weekly bin holds 52 weeks and more.
CYCLE_WEEKS_CAP = 52


# --------------------------------------------------------------------------- day numbers
def days_from_civil(y, m, d):
    """Days since 1970-01-01 from year, month, day using only + - * // (any engine, any array).

    >>> days_from_civil(1970, 1, 1), days_from_civil(2024, 3, 1), days_from_civil(1969, 12, 31)
    (0, 19783, -1)
    """
    y = y - (m <= 2) * 1
    era = y // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def day_number(value) -> int:
    """The day number of one date, timestamp or ``'YYYY-MM-DD'`` (its calendar date).

    >>> day_number("1970-01-02"), day_number(datetime.datetime(1969, 12, 29, 23, 59))
    (1, -3)
    """
    if isinstance(value, str):
        value = datetime.date.fromisoformat(value[:10])
    return days_from_civil(value.year, value.month, value.day)


def month_index(year, month):
    """``year * 12 + month - 1``: consecutive months are consecutive integers.

    >>> month_index(1970, 1), month_index(2025, 12) + 1 == month_index(2026, 1)
    (23640, True)
    """
    return year * 12 + month - 1


# --------------------------------------------------------------------------- period keys
@dataclass(frozen=True)
class PeriodKey:
    """How a period grain numbers its periods: ``key = (x + offset) // width``, where ``x`` is
    the day number (``unit="day"``) or the month index (``unit="month"``) of a date.

    Examples
    --------
    >>> weeks = period_key("W", 1)
    >>> weeks.of(day_number("1969-12-29")), weeks.of(day_number("1969-12-28"))  # Monday, Sunday
    (0, -1)
    >>> str(EPOCH + datetime.timedelta(days=weeks.first(0)))
    '1969-12-29'
    """

    unit: Literal["day", "month"]
    offset: int
    width: int

    def of(self, x, floordiv: Callable = operator.floordiv):
        """The key of ``x`` (a number, an array or an expression); ``floordiv`` spells the
        floor division for engines whose ``//`` is not one."""
        shifted = x + self.offset if self.offset else x
        return floordiv(shifted, self.width) if self.width != 1 else shifted

    def first(self, key):
        """The first day number or month index of period ``key``."""
        return key * self.width - self.offset


def period_key(freq: Freq, fiscal_year_start: int) -> PeriodKey | None:
    """The numbering of ``freq``'s periods (None for ``freq=None``: one period, key 0).

    Weeks are ISO weeks (Monday to Sunday); quarters and years start in ``fiscal_year_start``.

    >>> period_key("M", 1), period_key("Y", 4)
    (PeriodKey(unit='month', offset=0, width=1), PeriodKey(unit='month', offset=-3, width=12))
    """
    shift = -(fiscal_year_start - 1)
    if freq is None:
        return None
    if freq == "W":
        return PeriodKey("day", 3, 7)  # day 0 is a Thursday: week 0 starts on Monday 1969-12-29
    return {"M": PeriodKey("month", 0, 1), "Q": PeriodKey("month", shift, 3), "Y": PeriodKey("month", shift, 12)}[freq]


def date_key(value, freq: Freq, fiscal_year_start: int) -> int:
    """The period key of one date (plain Python).

    >>> date_key(datetime.date(2026, 2, 15), "Q", 2) == date_key(datetime.date(2026, 4, 30), "Q", 2)
    True
    >>> date_key("2024-12-30", "W", 1) == date_key("2025-01-05", "W", 1)  # both in 2025-W01
    True
    """
    rule = period_key(freq, fiscal_year_start)
    if rule is None:
        return 0
    if isinstance(value, str):
        value = datetime.date.fromisoformat(value[:10])
    x = day_number(value) if rule.unit == "day" else month_index(value.year, value.month)
    return rule.of(x)


# --------------------------------------------------------------------------- cents
def cents(amount, floor: Callable = math.floor):
    """``amount`` in whole cents, rounded half up; ``floor`` spells the floor on arrays and
    expressions (``numpy.floor``, ``lambda e: e.floor()``).

    >>> cents(0.125), cents(-0.125)  # half up: toward +infinity, also for negatives
    (13.0, -12.0)
    """
    return float(floor(amount * 100 + 0.5)) if floor is math.floor else floor(amount * 100 + 0.5)


# --------------------------------------------------------------------------- flags
@dataclass(frozen=True)
class FlagLayout:
    """0/1 flags packed into one integer: bit ``i`` holds flag ``names[i]``.

    Examples
    --------
    >>> layout = FlagLayout(("won", "late"))
    >>> layout.pack({"late": 1}), layout.size, layout.unpack(3)
    (2, 4, {'won': 1, 'late': 1})
    >>> layout.pack_arrays({"won": np.array([True, False]), "late": np.array([True, True])})
    array([3, 2], dtype=uint8)
    """

    names: tuple[str, ...]

    def __post_init__(self):
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"a flag layout names a flag twice: {self.names}")

    @property
    def size(self) -> int:
        """How many packed values there are."""
        return 1 << len(self.names)

    def bit(self, name: str) -> int:
        """The value of flag ``name`` set alone."""
        return 1 << self.names.index(name)

    def pack(self, flags: Mapping):
        """``sum(flag * bit)`` over the given flags (numbers, arrays or expressions; absent
        flags are 0): the same arithmetic on every engine."""
        unknown = set(flags) - set(self.names)
        if unknown:
            raise ValueError(f"{sorted(unknown)} are not flags of {self.names}")
        terms = [flags[name] * self.bit(name) for name in self.names if name in flags]
        packed = terms[0]
        for term in terms[1:]:
            packed = packed + term
        return packed

    def pack_arrays(self, flags: Mapping[str, np.ndarray]) -> np.ndarray:
        """:meth:`pack` for numpy arrays of booleans (or 0/1), in the smallest unsigned integer
        type that holds every packed value (one byte for up to eight flags: several times
        faster over a million rows than in int64)."""
        dtype = np.min_scalar_type(self.size - 1)
        return self.pack({name: np.asarray(values).astype(dtype, copy=False) for name, values in flags.items()})

    def unpack(self, packed) -> dict:
        """Each flag (0 or 1) of packed values (an integer or an integer array)."""
        return {name: (packed >> i) & 1 for i, name in enumerate(self.names)}


#: The pass by creation: in range by creation / by close, no close date, no created date,
#: closed before created, has an amount, no expected close date.
CREATED_FLAGS = FlagLayout(("cr_in", "cl_in", "cl_null", "cr_null", "cbc", "has_amount", "ex_null"))
#: The pass by close: on the as-of timeline, has an amount, has a cycle length.
OUTCOME_FLAGS = FlagLayout(("tl", "has_amount", "cyc_n"))


# --------------------------------------------------------------------------- numpy
def numpy_dates(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Day numbers and month indexes (int32, 0 where missing) and the missing mask of an array
    of ``datetime64`` (wall-clock) values."""
    day = values.astype("datetime64[D]")
    null = np.isnat(day)
    # 32-bit: a million deals take 4 MB per column (dates within +-5.8 million years)
    days = np.where(null, 0, day.astype(np.int64)).astype(np.int32)
    months = day.astype("datetime64[M]").astype(np.int64) + month_index(EPOCH.year, EPOCH.month)
    return days, np.where(null, 0, months).astype(np.int32), null


def numpy_key(days: np.ndarray, months: np.ndarray, null: np.ndarray, freq: Freq, fiscal_year_start: int):
    """Period keys (int64, :data:`NULL_KEY` where missing) from :func:`numpy_dates`."""
    rule = period_key(freq, fiscal_year_start)
    if rule is None:
        return np.zeros(len(days), dtype=np.int64)
    x = (days if rule.unit == "day" else months).astype(np.int64)
    return np.where(null, NULL_KEY, rule.of(x))


# --------------------------------------------------------------------------- narwhals
def _nw():
    import narwhals.stable.v2 as nw

    return nw


def narwhals_floordiv(x, k: int):
    """``x // k`` as a float floor: narwhals spells integer ``//`` as a large CASE expression on
    SQL engines. Exact here: every operand is far below 2**53."""
    return (x / k).floor().cast(_nw().Int64)


def _filled(col: str):
    nw = _nw()
    # on a null-free copy: pandas cannot cast a missing year to int
    return nw.col(col).fill_null(nw.lit(datetime.datetime(1970, 1, 1)))


def narwhals_days(col: str):
    """Day numbers of a date column in portable civil-date arithmetic (no engine has a portable
    date difference); 0 where missing."""
    nw = _nw()
    c = _filled(col)
    m = c.dt.month().cast(nw.Int64)
    march = nw.when(m <= 2)
    y = c.dt.year().cast(nw.Int64) - march.then(nw.lit(1, dtype=nw.Int64)).otherwise(nw.lit(0, dtype=nw.Int64))
    mp = march.then(m + 9).otherwise(m - 3)  # months since March
    doy = narwhals_floordiv(153 * mp + 2, 5) + c.dt.day().cast(nw.Int64) - 1
    # days_from_civil without the era split: years since 0000-03-01 are positive for every
    # date pandas can hold
    return y * 365 + narwhals_floordiv(y, 4) - narwhals_floordiv(y, 100) + narwhals_floordiv(y, 400) + doy - 719468


def narwhals_month_index(col: str):
    """Month indexes of a date column; 0 where missing."""
    nw = _nw()
    c = _filled(col)
    return (
        nw.when(nw.col(col).is_null())
        .then(nw.lit(0, dtype=nw.Int64))
        .otherwise(month_index(c.dt.year().cast(nw.Int64), c.dt.month().cast(nw.Int64)))
    )


def narwhals_key(days: str, months: str, null: str, freq: Freq, fiscal_year_start: int):
    """Period keys from day-number, month-index and 0/1 missing columns."""
    nw = _nw()
    rule = period_key(freq, fiscal_year_start)
    if rule is None:
        return nw.lit(0, dtype=nw.Int64)
    x = nw.col(days if rule.unit == "day" else months)
    key = rule.of(x, narwhals_floordiv)
    return nw.when(nw.col(null) == 1).then(nw.lit(NULL_KEY, dtype=nw.Int64)).otherwise(key).cast(nw.Int64)


def narwhals_cents(amount):
    """:func:`cents` of an expression (null stays null)."""
    return cents(amount, lambda e: e.floor())


# --------------------------------------------------------------------------- polars
def polars_days(col: str):
    """Day numbers of a date column in polars' own date functions (the civil arithmetic costs
    it several times more); 0 where missing."""
    import polars as pl

    return pl.col(col).cast(pl.Date).cast(pl.Int64).fill_null(0)


def polars_month_index(col: str):
    """Month indexes of a date column in polars; 0 where missing."""
    import polars as pl

    return month_index(pl.col(col).dt.year().cast(pl.Int64), pl.col(col).dt.month().cast(pl.Int64)).fill_null(0)


# --------------------------------------------------------------------------- DuckDB
def duckdb_days(col: str) -> str:
    """Day numbers of a date column in DuckDB SQL; 0 where missing."""
    return f"coalesce(date_diff('day', DATE '1970-01-01', CAST(\"{col}\" AS DATE)), 0)"


def duckdb_month_index(col: str) -> str:
    """Month indexes of a date column in DuckDB SQL; 0 where missing."""
    return f'coalesce(year("{col}") * 12 + month("{col}") - 1, 0)'
