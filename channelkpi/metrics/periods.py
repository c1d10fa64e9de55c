"""Periods: checking ``freq=`` and ``fiscal_year_start=``, and labelling period keys.

The key of a date at each grain is a row rule (:func:`channelkpi.metrics.rules.period_key`):
months are ``year * 12 + month - 1``, quarters and years count months from the fiscal year
start, weeks are ISO weeks (Monday to Sunday). This module turns keys back into labels and
first and last days.

A fiscal year is named after the calendar year in which it ends: with ``fiscal_year_start=2``,
FY2027 runs from February 2026 to January 2027 and its Q1 is February-April 2026.

Examples
--------
>>> import pandas as pd
>>> key = date_key(pd.Timestamp("2026-02-15"), "Q", 2)
>>> period_frame([key], "Q", 2)[["period", "period_start", "period_end"]]
        period period_start period_end
0  FY2027 Q1   2026-02-01 2026-04-30
>>> period_frame([date_key(pd.Timestamp("2024-12-30"), "W", 1)], "W", 1)["period"].tolist()
['2025-W01']
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..errors import ChannelKPIError
from ..types import Compare
from .rules import EPOCH, FREQS, Freq, date_key, days_from_civil, period_key

__all__ = [
    "Freq",
    "FREQS",
    "Compare",
    "check_freq",
    "check_fiscal_year_start",
    "date_key",
    "period_frame",
    "days_from_civil",
    "lag",
]

_EPOCH = pd.Timestamp(EPOCH)


def check_freq(freq) -> str | None:
    if freq in FREQS:
        return freq
    aliases = {"week": "W", "month": "M", "quarter": "Q", "year": "Y", "ME": "M", "QE": "Q", "YE": "Y", "A": "Y"}
    if isinstance(freq, str) and freq in aliases:
        return aliases[freq]
    raise ChannelKPIError(
        f"freq={freq!r} is not a period channelkpi knows",
        fix="use freq=None (whole range), 'W', 'M', 'Q' or 'Y'",
    )


def check_fiscal_year_start(month) -> int:
    if isinstance(month, (int, np.integer)) and 1 <= int(month) <= 12:
        return int(month)
    raise ChannelKPIError(
        f"fiscal_year_start={month!r} is not a month", fix="pass the first month of the fiscal year, 1-12"
    )


def lag(freq: Freq, compare: Compare) -> int:
    """How many keys back the comparison period is.

    >>> lag("M", "year"), lag("W", "previous")
    (12, 1)
    """
    if compare == "previous":
        return 1
    return {"M": 12, "Q": 4, "Y": 1, "W": 52}[freq]


def _month_starts(months: np.ndarray) -> pd.Series:
    """First days of month indexes ``year * 12 + month - 1``."""
    since_epoch = np.asarray(months, dtype=np.int64) - (EPOCH.year * 12 + EPOCH.month - 1)
    return pd.Series(since_epoch.astype("datetime64[M]").astype("datetime64[ns]"))


def period_frame(keys, freq: Freq, fiscal_year_start: int) -> pd.DataFrame:
    """Key -> ``period`` label, ``period_start`` and ``period_end`` (inclusive last day)."""
    return _period_frame(tuple(sorted(set(int(k) for k in keys))), freq, fiscal_year_start).copy()


@functools.lru_cache(maxsize=64)
def _period_frame(keys: tuple[int, ...], freq: Freq, fys: int) -> pd.DataFrame:
    keys = np.asarray(keys, dtype=np.int64)
    rule = period_key(freq, fys)
    if rule is None:
        return pd.DataFrame({"key": keys})
    first, after = rule.first(keys), rule.first(keys + 1)
    if rule.unit == "day":
        start = _EPOCH + pd.to_timedelta(first, unit="D")
        end = _EPOCH + pd.to_timedelta(after - 1, unit="D")
        iso = start.isocalendar()
        label = [f"{y}-W{w:02d}" for y, w in zip(iso.year, iso.week)]
        return pd.DataFrame({"key": keys, "period": label, "period_start": start, "period_end": end})
    start = _month_starts(first)
    end = _month_starts(after) - pd.Timedelta(days=1)
    if freq == "M":
        label = [f"{s.year}-{s.month:02d}" for s in start]
    else:
        year_rule = period_key("Y", fys)
        # the calendar year in which the fiscal year ends: the year of its last month
        fy = (year_rule.first(year_rule.of(first) + 1) - 1) // 12
        if freq == "Q":
            q = (first - year_rule.first(year_rule.of(first))) // 3 + 1
            label = [f"{y}-Q{n}" if fys == 1 else f"FY{y} Q{n}" for y, n in zip(fy, q)]
        else:
            label = [f"{y}" if fys == 1 else f"FY{y}" for y in fy]
    return pd.DataFrame({"key": keys, "period": label, "period_start": start.to_numpy(), "period_end": end.to_numpy()})
