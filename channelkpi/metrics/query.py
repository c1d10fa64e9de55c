"""What a KPI call asks of stage 1: the checked and normalised common options.

Examples
--------
>>> q = make_query(by="partner", freq="Q", start="2025-01", end="2025-12", compare="year")
>>> q.by, q.freq, str(q.start.date()), str(q.end.date()), q.lookback
(('partner',), 'Q', '2025-01-01', '2025-12-31', 4)
>>> str(q.scan_start.date())  # four quarters back, for the comparison
'2024-01-01'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from ..errors import ChannelKPIError
from ..schema import COLUMNS, LEVELS
from ..types import ENGINES, Engine
from .periods import Compare, check_fiscal_year_start, check_freq, lag, period_frame
from .rules import Freq, date_key, day_number

__all__ = ["Engine", "ENGINES", "Query", "make_query", "date_range", "check_engine"]


@dataclass(frozen=True)
class Query:
    """What to aggregate: levels, period grain, date range, filters."""

    by: tuple[str, ...]
    freq: Freq
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    fiscal_year_start: int
    where: tuple[tuple[str, tuple], ...] = ()
    lookback: int = 0  # extra periods before ``start`` (for comparisons)

    @property
    def periods_apply(self) -> bool:
        """Whether dates matter: periods or a date range (else every deal is in the one period)."""
        return self.freq is not None or self.start is not None or self.end is not None

    def key(self, ts) -> int:
        """The period key of a date."""
        return date_key(ts, self.freq, self.fiscal_year_start)

    @functools.cached_property
    def scan_start(self) -> pd.Timestamp | None:
        """Start of the rows to scan, including the lookback periods."""
        if self.start is None or not self.lookback:
            return self.start
        first = period_frame([self.key(self.start) - self.lookback], self.freq, self.fiscal_year_start)
        return pd.Timestamp(first["period_start"].iloc[0])

    @property
    def day_range(self) -> tuple[int | None, int | None]:
        """The day numbers of :attr:`scan_start` and :attr:`end` (None: open)."""
        s, e = self.scan_start, self.end
        return (None if s is None else day_number(s), None if e is None else day_number(e))


def _as_levels(by) -> tuple[str, ...]:
    if by is None:
        return ()
    levels = (by,) if isinstance(by, str) else tuple(by)
    bad = [b for b in levels if b not in LEVELS]
    if bad:
        raise ChannelKPIError(
            f"by={bad[0]!r} is not a level channelkpi can group by",
            fix=f"use one or several of {list(LEVELS)}",
        )
    if len(set(levels)) != len(levels):
        raise ChannelKPIError(f"by={list(levels)} names a level twice", fix="name each level once")
    return levels


def _as_date(value, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ChannelKPIError(f"{name}={value!r} is not a date", fix=f"pass {name} as 'YYYY-MM-DD'") from None
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def date_range(start=None, end=None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Read a KPI date range (inclusive days); ``end="2025-12"`` or ``"2025"`` is the end of
    that month or year.

    Parameters
    ----------
    start, end : date-like, optional
        The first and last day (None: open).

    Returns
    -------
    tuple of pandas.Timestamp or None
        The first and last day, at midnight.

    Examples
    --------
    >>> [str(d.date()) for d in date_range("2025-01", "2025-12")]
    ['2025-01-01', '2025-12-31']
    """
    start_ts, end_ts = _as_date(start, "start"), _as_date(end, "end")
    if isinstance(end, str) and len(end.strip()) in (4, 7):  # the whole year or month
        end_ts = (end_ts + (pd.offsets.YearEnd(0) if len(end.strip()) == 4 else pd.offsets.MonthEnd(0))).normalize()
    if start_ts is not None and end_ts is not None and start_ts > end_ts:
        raise ChannelKPIError(f"start={start_ts.date()} is after end={end_ts.date()}", fix="swap start and end")
    return start_ts, end_ts


def make_query(
    *,
    by=None,
    freq: Freq = None,
    start=None,
    end=None,
    fiscal_year_start: int = 1,
    where=None,
    compare: Compare | None = None,
) -> Query:
    """Check and normalise the common KPI options (see :mod:`channelkpi.metrics.kpis`).

    Raises
    ------
    ChannelKPIError
        For an option that is not valid, saying which values are.
    """
    freq = check_freq(freq)
    fys = check_fiscal_year_start(fiscal_year_start)
    start_ts, end_ts = date_range(start, end)
    where_items: list[tuple[str, tuple]] = []
    for col, values in (where or {}).items():
        if col not in COLUMNS:
            raise ChannelKPIError(
                f"where= names {col!r}, which is not a deals column", fix=f"use one of {list(COLUMNS)}"
            )
        vals = (values,) if isinstance(values, str) or not hasattr(values, "__iter__") else tuple(values)
        where_items.append((col, tuple(str(v) for v in vals)))
    lookback = 0
    if compare is not None:
        if compare not in ("previous", "year"):
            raise ChannelKPIError(f"compare={compare!r}", fix="use compare='previous' or compare='year'")
        if freq is None:
            raise ChannelKPIError("compare= needs periods", fix="pass freq='M', 'Q', 'Y' or 'W' together with compare=")
        lookback = lag(freq, compare)
    return Query(_as_levels(by), freq, start_ts, end_ts, fys, tuple(where_items), lookback)


def check_engine(engine) -> Engine:
    """``engine`` if it is one of :data:`ENGINES`, else a clear error."""
    if engine not in ENGINES:
        raise ChannelKPIError(f"engine={engine!r}", fix=f"use one of {list(ENGINES)}")
    return engine
