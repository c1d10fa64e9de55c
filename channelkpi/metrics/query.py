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

import difflib
import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import pandas as pd

from ..errors import ChannelKPIError
from ..schema import LEVELS
from ..types import ENGINES, Engine
from .periods import Compare, check_fiscal_year_start, check_freq, lag, period_frame
from .rules import Freq, date_key, day_number

__all__ = ["Engine", "ENGINES", "Query", "make_query", "date_range", "check_engine", "check_columns"]


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
    """``by=`` as a tuple of column names; whether the deals have them is
    :func:`check_columns`'s question (the table is not known here)."""
    if by is None:
        return ()
    levels = (by,) if isinstance(by, str) else tuple(by)
    bad = [b for b in levels if not isinstance(b, str) or not b]
    if bad:
        raise ChannelKPIError(
            f"by={bad[0]!r} is not a column name",
            fix=f"use one or several of {list(LEVELS)}, or of the text columns kept with the deals",
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
        if not isinstance(col, str):
            raise ChannelKPIError(f"where= names {col!r}, which is not a column name", fix="name deals columns")
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


def check_columns(q: Query, names: Collection[str], text: Collection[str]) -> None:
    """Check that the deals have the columns ``q`` groups and filters by: ``names`` are the
    deals' columns (with the optional canonical ones that count as empty), ``text`` those of
    them that hold text (any text column is a level: the canonical ones, fields kept from an
    export, a partner table's columns).

    Raises
    ------
    ChannelKPIError
        For a ``by=`` name that is no column (naming the closest ones and every level the
        deals have) or a column that is not text, and a ``where=`` name that is no column.

    Examples
    --------
    >>> q = make_query(by="regoin")
    >>> check_columns(q, ["deal_id", "status", "partner", "region"], ["deal_id", "partner", "region"])
    Traceback (most recent call last):
    ...
    channelkpi.errors.ChannelKPIError: by='regoin' is not a level channelkpi can group by: ...(did you mean 'region'?)...
    """
    levels = _level_order(text)
    for col in q.by:
        if col in levels or (col == "deal_id" and col in text):
            continue
        if col == "status":
            problem = "by='status' is not a level channelkpi can group by: every KPI splits won, lost and open itself"
        elif col in names:
            problem = f"by={col!r} is not a level channelkpi can group by: it holds dates or numbers, not names"
        else:
            problem = (
                f"by={col!r} is not a level channelkpi can group by: the deals have no such column"
                + _did_you_mean(col, levels)
            )
        raise ChannelKPIError(problem, fix=f"group by one or several of {levels}")
    for col, _ in q.where:
        if col not in names:
            raise ChannelKPIError(
                f"where= names {col!r}, which is not a deals column{_did_you_mean(col, list(names))}",
                fix=f"filter on one of {list(names)}",
            )


def _level_order(text: Collection[str]) -> list[str]:
    """The columns a KPI can group by: the canonical levels first, then the others."""
    return [*(c for c in LEVELS if c in text), *(c for c in text if c not in (*LEVELS, "deal_id", "status"))]


def _did_you_mean(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def check_engine(engine) -> Engine:
    """``engine`` if it is one of :data:`ENGINES`, else a clear error."""
    if engine not in ENGINES:
        raise ChannelKPIError(f"engine={engine!r}", fix=f"use one of {list(ENGINES)}")
    return engine
