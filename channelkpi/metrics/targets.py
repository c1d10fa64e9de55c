"""Targets on the KPI grid: a targets table (see :func:`channelkpi.read_targets`) summed onto
a query's groups and period keys."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ColumnError, ValueParseError
from ..schema import LEVELS
from .query import Query

__all__ = ["targets_on_grid"]


def targets_on_grid(targets: pd.DataFrame, q: Query) -> pd.DataFrame:
    """Sum targets onto the query's groups and period keys (``<levels>, key, target``)."""
    lv = list(q.by)
    missing = [c for c in lv if c not in targets.columns]
    if missing:
        have = [c for c in targets.columns if c in LEVELS]
        raise ColumnError(
            f"the targets are set per {have or 'company'}, not per {missing}",
            fix=f"group the KPI by {have or 'nothing (by=None)'} to compare with these targets",
        )
    for col in ("period_start", "period_end", "target"):
        if col not in targets.columns:
            raise ColumnError(f"the targets table has no {col!r} column", fix="read it with channelkpi.read_targets")
    start_keys = targets["period_start"].map(q.key)
    end_keys = targets["period_end"].map(q.key)
    if (start_keys != end_keys).any():
        i = int(np.flatnonzero((start_keys != end_keys).to_numpy())[0])
        raise ValueParseError(
            f"target period {targets['period'].iloc[i] if 'period' in targets else i!r} spans more than one "
            f"{ {'W': 'week', 'M': 'month', 'Q': 'quarter', 'Y': 'year'}[q.freq] } (or is not aligned with the fiscal year)",
            fix="compare with a coarser freq= (e.g. freq='Q' for quarterly targets) or the matching fiscal_year_start=",
        )
    t = targets.assign(key=start_keys.astype("int64"))
    out = t.groupby([*lv, "key"], dropna=False)["target"].sum(min_count=1).reset_index()
    for c in lv:
        out[c] = out[c].astype(object)
    return out
