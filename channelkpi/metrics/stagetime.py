"""Time in stage: how long deals wait in each stage, counting those still waiting honestly.

A visit that ended (the deal moved to another stage, was won or lost) lasted a known number of
days. A visit still open at the history's ``as_of`` has lasted *at least* that long, and so has one
whose deal was deleted or left the export while in the stage: both are censored, and the
median and 75th percentile come from the Kaplan–Meier curve
(:mod:`channelkpi.metrics.survival`, where the choice of a small estimator over a library is
explained), never from treating them as finished.

Examples
--------
>>> import pandas as pd
>>> from channelkpi.history import History, make_intervals
>>> from channelkpi.schema import validate_deals
>>> rows = pd.DataFrame({
...     "deal_id": ["A", "A", "B", "B", "C"],
...     "valid_from": pd.to_datetime(["2025-01-01", "2025-01-05", "2025-01-01", "2025-01-11", "2025-01-21"]),
...     "status": ["open", "won", "open", "lost", "open"], "stage": ["Propose", "Won", "Propose", "Lost", "Propose"]})
>>> deals = validate_deals(pd.DataFrame({"deal_id": ["A", "B", "C"], "status": ["won", "lost", "open"]}))
>>> history = History(intervals=make_intervals(rows), deals=deals, ledger=pd.DataFrame(), source="example",
...                   known=frozenset({"stage", "status"}), stages=("Propose",), as_of=pd.Timestamp("2025-02-01"))
>>> time_in_stage(history)[["stage", "visits", "finished", "censored", "median_days", "p75_days"]]
     stage  visits  finished  censored  median_days  p75_days
0  Propose       3         2         1         10.0       NaN

A: 4 days, B: 10 days, C still there after 11 days. S(4) = 2/3, S(10) = 2/3 x 1/2 = 1/3: the
median is 10 days; the curve never falls to 1/4, so the 75th percentile is unknown.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import pandas as pd

from ..errors import ChannelKPIError
from ..history import History
from ..schema import DTYPES
from ..types import By, DateLike, Where
from .definitions import DEFINITIONS
from .derived import derived
from .query import make_query
from .survival import curve_quantile, kaplan_meier, sorted_curve, survival_quantile
from .visits import (
    FINISHED,
    OUTCOMES,
    Group,
    Stages,
    check_history,
    deal_groups,
    documented,
    group_mask,
    kept_deals,
    level_codes,
    levels_grid,
    stage_order,
    visit_table,
    visits_of,
    with_levels,
)

__all__ = ["VISITS", "VisitsIn", "time_in_stage", "stage_visits"]

_STR = DTYPES["deal_id"]
#: How a date range picks visits: those that began in it, or every visit that overlaps it.
VisitsIn = Literal["entered", "overlapping"]
VISITS: tuple[str, ...] = get_args(VisitsIn)


@documented
def stage_visits(
    history: History,
    *,
    by: By = None,
    stages: Stages = None,
    start: DateLike = None,
    end: DateLike = None,
    where: Where = None,
    visits: VisitsIn = "entered",
    stage: str | int | None = None,
    group: Group = None,
) -> pd.DataFrame:
    """Every visit of a deal to an open stage: the rows behind :func:`time_in_stage`.

    Parameters
    ----------
    history, by, stages, start, end, where, visits
        As for :func:`time_in_stage`.
    stage : str or int, optional
        Only this stage (name or step number).
    {group}

    Returns
    -------
    pandas.DataFrame
        ``deal_id``, the levels, ``step``, ``stage``, ``entered``, ``left`` (NaT: still there),
        ``days``, ``outcome``, ``finished`` (False: censored), ``next_stage``, the amount when
        the visit began and ended (or now) in currency units and cents, ``currency``.

    Examples
    --------
    >>> import pandas as pd
    >>> from channelkpi.history import History, make_intervals
    >>> from channelkpi.schema import validate_deals
    >>> rows = pd.DataFrame({"deal_id": ["A", "A", "B", "B"], "status": ["open", "won", "open", "open"],
    ...     "stage": ["Qualify", "Closed Won", "Qualify", "Propose"], "partner": ["Acme"] * 2 + ["Beta"] * 2,
    ...     "valid_from": pd.to_datetime(["2025-01-02", "2025-01-20", "2025-01-05", "2025-01-25"])})
    >>> history = History(intervals=make_intervals(rows), ledger=pd.DataFrame(), source="example",
    ...     deals=validate_deals(pd.DataFrame({"deal_id": ["A", "B"], "status": ["won", "open"], "partner": ["Acme", "Beta"]})),
    ...     known=frozenset({"stage", "status"}), stages=("Qualify", "Propose"), as_of=pd.Timestamp("2025-02-01"))
    >>> stage_visits(history, stage="Qualify")[["deal_id", "entered", "days", "outcome", "finished"]]
      deal_id    entered  days   outcome  finished
    0       A 2025-01-02  18.0       won      True
    1       B 2025-01-05  20.0  advanced      True
    """
    rows, order, q, _ = _visits(history, by=by, stages=stages, start=start, end=end, where=where, visits_in=visits)
    keep = np.ones(len(rows), dtype=bool)
    if stage is not None:
        if isinstance(stage, (int, np.integer)) and not isinstance(stage, bool):
            keep &= rows["step"].eq(int(stage)).to_numpy()
        elif stage in order.stages:
            keep &= rows["stage"].eq(stage).to_numpy()
        else:
            raise ChannelKPIError(f"stage={stage!r} is not an open stage", fix=f"use one of {list(order.stages)}")
    keep &= group_mask(rows, group, q.by)
    return rows[keep].reset_index(drop=True)


def _picked(history, *, by, stages, start, end, where, visits_in="entered"):
    """The visits the options pick: the visit table, a mask over its rows, the order, the query,
    the deals kept and the groups (None without ``by=``)."""
    history = check_history(history)
    q = make_query(by=by, start=start, end=end, where=where)
    keep = kept_deals(history, q)
    groups = deal_groups(history, q) if q.by else None
    order = stage_order(history, stages=stages)
    if visits_in not in VISITS:
        raise ChannelKPIError(f"visits={visits_in!r} is not a way to pick visits", fix=f"use one of {list(VISITS)}")
    table = visit_table(history, order)
    entered = table.rows["entered"].to_numpy("datetime64[ns]")
    inside = visits_of(history, table, keep)
    if q.start is not None:
        if visits_in == "entered":
            inside &= entered >= np.datetime64(q.start, "ns")
        else:  # a visit [entered, left) still going on at the start (or never ended) counts too
            left = table.rows["left"].to_numpy("datetime64[ns]")
            inside &= np.isnat(left) | (left > np.datetime64(q.start, "ns"))
    if q.end is not None:
        inside &= entered < np.datetime64(q.end + pd.Timedelta(days=1), "ns")
    return table, inside, order, q, keep, groups


def _visits(history, *, by, stages, start, end, where, visits_in="entered"):
    table, inside, order, q, keep, groups = _picked(
        history, by=by, stages=stages, start=start, end=end, where=where, visits_in=visits_in
    )
    rows = with_levels(history, table, table.rows[inside], table.deal[inside], q, keep)
    rows["finished"] = rows["outcome"].isin(FINISHED)
    rows["amount_entered"] = rows["amount_cents_entered"].astype("Float64").astype(float) / 100
    rows["amount_left"] = rows["amount_cents_left"].astype("Float64").astype(float) / 100
    columns = ["deal_id", *q.by, "step", "stage", "entered", "left", "days", "outcome", "finished", "next_stage"]
    columns += ["amount_entered", "amount_left", "amount_cents_entered", "amount_cents_left", "currency"]
    rows = rows[columns].sort_values([*q.by, "step", "entered", "deal_id"], kind="stable").reset_index(drop=True)
    return rows, order, q, groups


def _by_days(history, order, table) -> np.ndarray:
    """The visits' rows by step, then days (derived once): any selection of them, taken in this
    order, is sorted for the Kaplan–Meier curve of each stage without sorting again."""
    rows = table.rows

    def make():
        return np.lexsort((rows["days"].to_numpy(float), rows["step"].to_numpy(np.int64)))

    return derived(history, ("visits_by_days", order.stages), make)


def _stage_stats(history, table, inside, order, q, keep) -> tuple[pd.DataFrame, int]:
    """Per group and step with a visit: the counts and days of :func:`time_in_stage`, and the
    deals used. Each (group, step) is a slice of visits sorted by days."""
    lv = list(q.by)
    sel = _by_days(history, order, table)
    sel = sel[inside[sel]]
    n_steps = len(order.stages)
    step = table.rows["step"].to_numpy(np.int64)[sel]
    days = table.rows["days"].to_numpy(float)[sel]
    outcome = table.outcome[sel]
    if lv:
        picked = table.rows.iloc[sel][["deal_id", "step", "days", "outcome"]]
        rows = with_levels(history, table, picked, table.deal[sel], q, keep)
        if len(rows) != len(sel):  # a deal listed twice in the deals table: its visits twice
            return _stage_stats_grouped(rows, lv), int(rows["deal_id"].nunique())
        code, values = level_codes(rows, lv)
        flat = code * n_steps + step - 1
        by_key = np.argsort(flat, kind="stable")  # days stay sorted inside each group
        flat, days, outcome = flat[by_key], days[by_key], outcome[by_key]
    else:
        values, flat = pd.DataFrame(index=[0]), step - 1
    finished_code = np.array([o in FINISHED for o in OUTCOMES])
    bounds = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1], True]) if len(flat) else np.array([0])
    stats = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        d, o = days[lo:hi], outcome[lo:hi]
        e = finished_code[o]
        key = int(flat[lo])
        times, at_risk, survival = sorted_curve(d, e)
        done = d[e]
        stats.append(
            {
                **({col: values[col].iloc[key // n_steps] for col in lv}),
                "step": key % n_steps + 1,
                "visits": hi - lo,
                "finished": int(e.sum()),
                "censored": int((o == OUTCOMES.index("still_there")).sum()),
                "removed": int((o == OUTCOMES.index("removed")).sum()),
                "median_days": curve_quantile(times, survival, 0.5),
                "p75_days": curve_quantile(times, survival, 0.75),
                "finished_min_days": float(done[0]) if len(done) else np.nan,
                "finished_max_days": float(done[-1]) if len(done) else np.nan,
            }
        )
    used = int(np.count_nonzero(np.bincount(table.deal[sel]))) if len(sel) else 0
    return pd.DataFrame(stats, columns=[*lv, "step", *_COUNTS, *_DAYS]), used


def _stage_stats_grouped(rows: pd.DataFrame, lv: list[str]) -> pd.DataFrame:
    stats = []
    for key, part in rows.groupby([*lv, "step"], dropna=False, sort=False):
        finished = part["outcome"].isin(FINISHED)
        curve = kaplan_meier(part["days"], finished)
        done = part.loc[finished, "days"]
        stats.append(
            {
                **dict(zip([*lv, "step"], key)),
                "visits": len(part),
                "finished": int(finished.sum()),
                "censored": int(part["outcome"].eq("still_there").sum()),
                "removed": int(part["outcome"].eq("removed").sum()),
                "median_days": survival_quantile(curve, 0.5),
                "p75_days": survival_quantile(curve, 0.75),
                "finished_min_days": float(done.min()) if len(done) else np.nan,
                "finished_max_days": float(done.max()) if len(done) else np.nan,
            }
        )
    return pd.DataFrame(stats, columns=[*lv, "step", *_COUNTS, *_DAYS])


_COUNTS = ["visits", "finished", "censored", "removed"]
_DAYS = ["median_days", "p75_days", "finished_min_days", "finished_max_days"]


@documented
def time_in_stage(
    history: History,
    *,
    by: By = None,
    stages: Stages = None,
    start: DateLike = None,
    end: DateLike = None,
    where: Where = None,
    visits: VisitsIn = "entered",
) -> pd.DataFrame:
    """Per stage (and group): visits, how many finished, and the median and 75th-percentile days.

    Parameters
    ----------
    {history}
    {by}
    {stages}
    start, end : date-like, optional
        Only the visits in this range (inclusive days), followed to ``history.as_of``.
    {where}
    visits : {"entered", "overlapping"}, default "entered"
        Which visits the range keeps: those that began in it, or every visit that overlaps
        it (begun before the range and still going on at its start too) -- where deals waited
        during the range, as a dashboard's date range reads it.

    Returns
    -------
    pandas.DataFrame
        One row per group and stage: the levels, ``step``, ``stage``, ``visits``, ``finished``,
        ``censored`` (still in the stage at ``as_of``), ``removed`` (the deal was deleted or
        left the export while in the stage; censored too), ``median_days`` and ``p75_days``
        (Kaplan–Meier; NaN when the curve does not fall that far), ``finished_min_days`` and
        ``finished_max_days``.

    See Also
    --------
    stage_visits : the visits behind every row.
    channelkpi.metrics.survival.kaplan_meier : the estimator.

    Examples
    --------
    >>> import pandas as pd
    >>> from channelkpi.history import History, make_intervals
    >>> from channelkpi.schema import validate_deals
    >>> rows = pd.DataFrame({"deal_id": ["A", "A", "B", "B"], "status": ["open", "won", "open", "open"],
    ...     "stage": ["Qualify", "Closed Won", "Qualify", "Propose"], "partner": ["Acme"] * 2 + ["Beta"] * 2,
    ...     "valid_from": pd.to_datetime(["2025-01-02", "2025-01-20", "2025-01-05", "2025-01-25"])})
    >>> history = History(intervals=make_intervals(rows), ledger=pd.DataFrame(), source="example",
    ...     deals=validate_deals(pd.DataFrame({"deal_id": ["A", "B"], "status": ["won", "open"], "partner": ["Acme", "Beta"]})),
    ...     known=frozenset({"stage", "status"}), stages=("Qualify", "Propose"), as_of=pd.Timestamp("2025-02-01"))
    >>> time_in_stage(history)[["stage", "visits", "finished", "censored", "median_days"]]
         stage  visits  finished  censored  median_days
    0  Qualify       2         2         0         18.0
    1  Propose       1         0         1          NaN
    """
    table, inside, order, q, keep, groups = _picked(
        history, by=by, stages=stages, start=start, end=end, where=where, visits_in=visits
    )
    lv = list(q.by)
    steps = pd.DataFrame({"step": np.arange(1, len(order.stages) + 1, dtype=np.int64), "stage": list(order.stages)})
    grid = levels_grid(groups, q.by).merge(steps, how="cross")
    table, used = _stage_stats(history, table, inside, order, q, keep)
    counts, days = _COUNTS, _DAYS
    table = table.astype({"step": np.int64} | {c: _STR for c in lv})
    out = grid.astype({c: _STR for c in lv}).merge(table, on=[*lv, "step"], how="left")
    out[counts] = out[counts].fillna(0).astype(np.int64)
    out[days] = out[days].astype(float)
    out = out[[*lv, "step", "stage", *counts, *days]].astype({"stage": _STR})
    out.attrs["channelkpi"] = {
        "kpi": "time_in_stage",
        "definition": DEFINITIONS["time_in_stage"].formula,
        "stage_order": list(order.stages),
        "stage_order_source": order.source,
        "warnings": list(order.warnings),
        "as_of": history.as_of,
        "rows": len(history.deals),
        "used": used,
        "excluded": {},
    }
    return out
