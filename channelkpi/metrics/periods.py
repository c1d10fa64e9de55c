"""Period keys and labels: weeks, months, quarters and (fiscal) years as integers.

Every date becomes an integer key at the requested grain, computed with integer arithmetic on
year, month and day so that the same expression runs on pandas, polars, DuckDB and Spark:

* ``"M"``: ``year * 12 + month - 1``
* ``"Q"``: ``(year * 12 + month - 1 - (fiscal_year_start - 1)) // 3``
* ``"Y"``: ``(year * 12 + month - 1 - (fiscal_year_start - 1)) // 12``
* ``"W"``: ISO weeks, ``(days since 1970-01-01 + 3) // 7`` (weeks start on Monday)
* ``None``: ``0`` (one period: the whole range)

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
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import ChannelKPIError

__all__ = [
    "Freq",
    "FREQS",
    "check_freq",
    "check_fiscal_year_start",
    "date_key",
    "period_frame",
    "days_from_civil",
    "lag",
]

Freq = Literal["W", "M", "Q", "Y"] | None
FREQS = (None, "W", "M", "Q", "Y")
_EPOCH = pd.Timestamp("1970-01-01")


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


def days_from_civil(y, m, d):
    """Days since 1970-01-01 from year, month, day using only + - * // (any engine, any array).

    >>> days_from_civil(1970, 1, 1), days_from_civil(2024, 3, 1)
    (0, 19783)
    """
    y = y - (m <= 2) * 1
    era = y // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def date_key(ts: pd.Timestamp, freq: str | None, fiscal_year_start: int) -> int:
    """The integer period key of one date (the pure-Python twin of the engine's expression)."""
    ts = pd.Timestamp(ts)
    ym = ts.year * 12 + ts.month - 1
    if freq is None:
        return 0
    if freq == "M":
        return ym
    if freq == "Q":
        return (ym - (fiscal_year_start - 1)) // 3
    if freq == "Y":
        return (ym - (fiscal_year_start - 1)) // 12
    return (days_from_civil(ts.year, ts.month, ts.day) + 3) // 7


def lag(freq: str | None, compare: str) -> int:
    """How many keys back the comparison period is."""
    if compare == "previous":
        return 1
    return {"M": 12, "Q": 4, "Y": 1, "W": 52}[freq]


def _ym_ts(ym: np.ndarray) -> np.ndarray:
    """First days of the months ``year * 12 + month - 1``."""
    return (np.asarray(ym, dtype=np.int64) - 1970 * 12).astype("datetime64[M]").astype("datetime64[ns]")


def period_frame(keys, freq: str | None, fiscal_year_start: int) -> pd.DataFrame:
    """Key -> ``period`` label, ``period_start`` and ``period_end`` (inclusive last day)."""
    return _period_frame(tuple(sorted(set(int(k) for k in keys))), freq, fiscal_year_start).copy()


@functools.lru_cache(maxsize=64)
def _period_frame(keys: tuple[int, ...], freq: str | None, fys: int) -> pd.DataFrame:
    keys = np.asarray(keys, dtype=np.int64)
    if freq is None:
        return pd.DataFrame({"key": keys})
    if freq == "W":
        start = _EPOCH + pd.to_timedelta(keys * 7 - 3, unit="D")
        end = start + pd.Timedelta(days=6)
        iso = start.isocalendar()
        label = [f"{y}-W{w:02d}" for y, w in zip(iso.year, iso.week)]
        return pd.DataFrame({"key": keys, "period": label, "period_start": start, "period_end": end})
    if freq == "M":
        ym = keys
        months = 1
    elif freq == "Q":
        ym = keys * 3 + fys - 1
        months = 3
    else:
        ym = keys * 12 + fys - 1
        months = 12
    start = pd.Series(_ym_ts(ym))
    end = pd.Series(_ym_ts(ym + months)) - pd.Timedelta(days=1)
    if freq == "M":
        label = [f"{s.year}-{s.month:02d}" for s in start]
    else:
        fy_key = (ym - (fys - 1)) // 12
        fy = (fy_key * 12 + fys - 1 + 11) // 12  # the calendar year in which the fiscal year ends
        if freq == "Q":
            q = ((ym - (fys - 1)) % 12) // 3 + 1
            label = [f"{y}-Q{n}" if fys == 1 else f"FY{y} Q{n}" for y, n in zip(fy, q)]
        else:
            label = [f"{y}" if fys == 1 else f"FY{y}" for y in fy]
    return pd.DataFrame({"key": keys, "period": label, "period_start": start.to_numpy(), "period_end": end.to_numpy()})
