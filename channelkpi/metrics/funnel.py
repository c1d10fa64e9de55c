"""The stage funnel: how the deals that entered the pipeline moved through its stages.

The deals counted are a cohort: those whose first visit to an open stage began in the date range
(every deal when there is none), followed to the history's ``as_of``. For each stage (the steps
and their order: :mod:`channelkpi.metrics.visits`), a deal that ever entered it counts once in
``entered`` and once in the way its *last* visit to the stage ended, so that

    entered = advanced + moved_back + won + lost + removed + still_there

exactly. ``visits`` counts every entry (a deal that came back counts again there, not in
``entered``). ``entered_in_order`` counts the deals that entered the stage after passing through
every earlier stage in order (other moves in between allowed: the "this order" funnel); it never
exceeds ``entered`` (which is the "any order" count) and never grows from one step to the next.

Conversions: ``step_conversion = advanced / entered`` (the share that left the stage forward,
skipping stages included); ``cumulative_conversion = entered_in_order / entered_in_order of the
first step`` (non-increasing). A rate over nothing is missing (NaN).

Examples
--------
>>> import pandas as pd
>>> from channelkpi.history import History, make_intervals
>>> from channelkpi.schema import validate_deals
>>> rows = pd.DataFrame({
...     "deal_id": ["A", "A", "A", "B", "B"],
...     "valid_from": pd.to_datetime(["2025-01-02", "2025-01-20", "2025-02-03", "2025-01-05", "2025-01-25"]),
...     "status": ["open", "open", "won", "open", "lost"],
...     "stage": ["Qualify", "Propose", "Closed Won", "Qualify", "Closed Lost"]})
>>> deals = validate_deals(pd.DataFrame({"deal_id": ["A", "B"], "status": ["won", "lost"]}))
>>> history = History(intervals=make_intervals(rows), deals=deals, ledger=pd.DataFrame(), source="example",
...                   known=frozenset({"stage", "status"}), stages=("Qualify", "Propose"), as_of=pd.Timestamp("2025-03-01"))
>>> stage_funnel(history)[["stage", "entered", "advanced", "won", "lost", "cumulative_conversion"]]
     stage  entered  advanced  won  lost  cumulative_conversion
0  Qualify        2         1    0     1                    1.0
1  Propose        1         0    1     0                    0.5
>>> funnel_deals(history, stage="Qualify", measure="lost")["deal_id"].tolist()
['B']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ChannelKPIError
from ..history import History
from ..schema import DTYPES
from ..types import By, DateLike, Where
from .definitions import DEFINITIONS
from .derived import derived
from .query import make_query
from .visits import (
    OUTCOMES,
    Group,
    Stages,
    check_history,
    deal_groups,
    deals_kept,
    documented,
    group_mask,
    kept_deals,
    level_codes,
    levels_grid,
    stage_order,
    visit_table,
    with_levels,
)

__all__ = ["FUNNEL_MEASURES", "stage_funnel", "funnel_deals"]

#: The counts of a funnel row that :func:`funnel_deals` can open.
FUNNEL_MEASURES: tuple[str, ...] = ("entered", *OUTCOMES, "visits", "entered_in_order")

_STR = DTYPES["deal_id"]
_NEVER = np.iinfo(np.int64).min


def _in_order(visits: pd.DataFrame, steps: int) -> pd.DataFrame:
    """``(deal_id, step)`` of every deal that entered ``step`` after entering every earlier step,
    in order. The earliest such entry of step j follows the earliest of step j - 1 (greedy), so
    one pass per step finds them all."""
    reached = []
    prev = pd.Series(_NEVER, index=pd.Index(visits["deal_id"].unique(), name="deal_id"), dtype=np.int64)
    at = visits["entered"].astype(np.int64)
    for step in range(1, steps + 1):
        here = visits["step"].eq(step).to_numpy()
        cand = pd.DataFrame({"deal_id": visits["deal_id"].to_numpy()[here], "t": at.to_numpy()[here]})
        cand = cand[cand["t"].to_numpy() > prev.reindex(cand["deal_id"]).to_numpy()]
        prev = cand.groupby("deal_id")["t"].min()
        if prev.empty:
            break
        reached.append(pd.DataFrame({"deal_id": prev.index, "step": step}))
    if not reached:
        return pd.DataFrame({"deal_id": pd.Series([], dtype=_STR), "step": pd.Series([], dtype=np.int64)})
    out = pd.concat(reached, ignore_index=True)
    return out.astype({"deal_id": _STR, "step": np.int64})


_COLUMNS = [
    "step",
    "stage",
    "outcome",
    "visits",
    "in_order",
    "first_entered",
    "entered",
    "left",
    "next_stage",
    "amount_entered",
    "amount_left",
    "amount_cents_entered",
    "amount_cents_left",
    "currency",
]


def _deal_steps(history: History, order, table) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Every (deal, stage) of every deal as the funnel counts it, derived once per history and
    order: the rows, each row's deal (a code of ``table``) and its deal's first entry to an open
    stage (the cohort's date). A deal's rows depend on its own visits only, so the rows of any
    selection of deals are these rows' of the deals selected."""

    def make():
        visits = table.rows.assign(_deal=table.deal)
        grouped = visits.groupby(["_deal", "step"], sort=False)
        last = visits.loc[grouped["entered"].idxmax()].reset_index(drop=True)
        counts = grouped.agg(visits=("entered", "size"), first_entered=("entered", "min")).reset_index()
        rows = last.merge(counts, on=["_deal", "step"], how="left")
        ordered = _in_order(visits, len(order.stages)).assign(in_order=True)
        rows = rows.merge(ordered, on=["deal_id", "step"], how="left")
        rows["in_order"] = rows["in_order"].fillna(False).astype(bool)
        rows["amount_entered"] = rows["amount_cents_entered"].astype("Float64").astype(float) / 100
        rows["amount_left"] = rows["amount_cents_left"].astype("Float64").astype(float) / 100
        rows["visits"] = rows["visits"].astype(np.int64)
        deal = rows["_deal"].to_numpy(np.int64)
        at = visits["entered"].to_numpy("datetime64[ns]").view(np.int64)
        first = np.full(len(table.deal_ids), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, table.deal, at)
        rows["_outcome"] = pd.Categorical(rows["outcome"].astype(object), categories=list(OUTCOMES)).codes
        return rows[["deal_id", *_COLUMNS, "_outcome"]], deal, first[deal].view("datetime64[ns]")

    return derived(history, ("funnel_rows", order.stages), make)


def _funnel_table(history, *, by, stages, start, end, where, ordered=True):
    """Every (deal, stage) of the cohort with how it counts; the order; the query; the groups
    (None without ``by=``). ``ordered=False``: in no particular order (for counting)."""
    history = check_history(history)
    q = make_query(by=by, start=start, end=end, where=where)
    keep = kept_deals(history, q)
    groups = deal_groups(history, q) if q.by else None
    order = stage_order(history, stages=stages)
    table = visit_table(history, order)
    every, deal, first = _deal_steps(history, order, table)
    inside = deals_kept(history, table, keep)[deal]
    if q.start is not None:
        inside &= first >= np.datetime64(q.start, "ns")
    if q.end is not None:
        inside &= first < np.datetime64(q.end + pd.Timedelta(days=1), "ns")
    rows = with_levels(history, table, every[inside], deal[inside], q, keep)
    # counting reads the outcome's code; a table shown has none
    rows = rows[["deal_id", *q.by, *_COLUMNS, *([] if ordered else ["_outcome"])]]
    if ordered:
        rows = rows.sort_values([*q.by, "step", "entered", "deal_id"], kind="stable")
    return rows.reset_index(drop=True), order, q, groups


def _counts(rows: pd.DataFrame, lv: list[str], n_steps: int) -> pd.DataFrame:
    """Per group and step with a deal: ``entered``, the outcomes, ``visits`` and
    ``entered_in_order`` (counted with integer codes, not by grouping the rows' text)."""
    code, values = level_codes(rows, lv)
    size = len(values) * n_steps
    flat = code * n_steps + rows["step"].to_numpy(np.int64) - 1
    outcome = rows["_outcome"].to_numpy(np.int64)
    data = {"entered": np.bincount(flat, minlength=size)}
    by_outcome = np.bincount(flat * len(OUTCOMES) + outcome, minlength=size * len(OUTCOMES))
    for k, name in enumerate(OUTCOMES):
        data[name] = by_outcome.reshape(size, len(OUTCOMES))[:, k]
    data["visits"] = np.bincount(flat, weights=rows["visits"].to_numpy(np.int64), minlength=size).astype(np.int64)
    data["entered_in_order"] = np.bincount(flat, weights=rows["in_order"].to_numpy(bool), minlength=size)
    data["entered_in_order"] = data["entered_in_order"].astype(np.int64)
    seen = np.flatnonzero(data["entered"])
    out = values.iloc[seen // n_steps].reset_index(drop=True) if lv else pd.DataFrame(index=range(len(seen)))
    out["step"] = (seen % n_steps + 1).astype(np.int64)
    for name, column in data.items():
        out[name] = column[seen]
    return out[[*lv, "step", "entered", "visits", "entered_in_order", *OUTCOMES]]


@documented
def stage_funnel(
    history: History,
    *,
    by: By = None,
    stages: Stages = None,
    start: DateLike = None,
    end: DateLike = None,
    where: Where = None,
) -> pd.DataFrame:
    """Per stage (and group): the deals that entered it and how they left it.

    Parameters
    ----------
    {history}
    {by}
    {stages}
    start, end : date-like, optional
        The cohort: deals whose first visit to an open stage began in this range (inclusive
        days), followed to ``history.as_of``. Default: every deal.
    {where}

    Returns
    -------
    pandas.DataFrame
        One row per group and step: the levels, ``step`` (1 = first), ``stage``, ``entered``,
        ``advanced``, ``moved_back``, ``won``, ``lost``, ``removed``, ``still_there``,
        ``visits``, ``entered_in_order``, ``step_conversion``, ``cumulative_conversion``. Every
        group has every step (zeros where no deal went). ``attrs["channelkpi"]`` holds the
        stage order, where it came from, warnings and ``as_of``.

    See Also
    --------
    funnel_deals : the deals behind any count.
    channelkpi.explain : ``explain("stage_funnel")`` prints the definition.

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
    >>> stage_funnel(history, by="partner")[["partner", "stage", "entered", "advanced", "won", "still_there"]]
      partner    stage  entered  advanced  won  still_there
    0    Acme  Qualify        1         0    1            0
    1    Acme  Propose        0         0    0            0
    2    Beta  Qualify        1         1    0            0
    3    Beta  Propose        1         0    0            1
    """
    rows, order, q, groups = _funnel_table(
        history, by=by, stages=stages, start=start, end=end, where=where, ordered=False
    )
    lv = list(q.by)
    steps = pd.DataFrame({"step": np.arange(1, len(order.stages) + 1, dtype=np.int64), "stage": list(order.stages)})
    grid = levels_grid(groups, q.by).merge(steps, how="cross")
    keys = [*lv, "step"]
    counts = ["entered", *OUTCOMES, "visits", "entered_in_order"]
    agg = _counts(rows, lv, len(order.stages))
    out = grid.merge(agg, on=keys, how="left") if lv else grid.merge(agg.drop(columns=lv), on="step", how="left")
    out[counts] = out[counts].fillna(0).astype(np.int64)
    out = out[[*lv, "step", "stage", *counts]]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["step_conversion"] = np.where(out["entered"] > 0, out["advanced"] / out["entered"].replace(0, 1), np.nan)
        if lv:
            base = out.groupby(lv, dropna=False, sort=False)["entered_in_order"].transform("first")
        else:
            base = pd.Series(out["entered_in_order"].iloc[0] if len(out) else 0, index=out.index)
        out["cumulative_conversion"] = np.where(base > 0, out["entered_in_order"] / base.replace(0, 1), np.nan)
    out = out.astype({c: _STR for c in lv} | {"stage": _STR}).reset_index(drop=True)
    out.attrs["channelkpi"] = {
        "kpi": "stage_funnel",
        "definition": DEFINITIONS["stage_funnel"].formula,
        "stage_order": list(order.stages),
        "stage_order_source": order.source,
        "warnings": list(order.warnings),
        "as_of": history.as_of,
        "rows": len(history.deals),
        "used": int(rows["deal_id"].nunique()),
        "excluded": {},
    }
    return out


@documented
def funnel_deals(
    history: History,
    *,
    stage,
    measure: str = "entered",
    group: Group = None,
    by: By = None,
    stages: Stages = None,
    start: DateLike = None,
    end: DateLike = None,
    where: Where = None,
) -> pd.DataFrame:
    """The deals behind one count of :func:`stage_funnel` (same options, same rules).

    Parameters
    ----------
    history, by, stages, start, end, where
        As for :func:`stage_funnel`.
    stage : str or int
        The stage's name or step number.
    measure : str
        One of :data:`FUNNEL_MEASURES`: ``"entered"``, an outcome (``"advanced"``,
        ``"moved_back"``, ``"won"``, ``"lost"``, ``"removed"``, ``"still_there"``),
        ``"visits"`` (the deals that entered; their ``visits`` sum to the count) or
        ``"entered_in_order"``.
    {group}

    Returns
    -------
    pandas.DataFrame
        One row per deal: ``deal_id``, the levels, ``step``, ``stage``, ``outcome`` (how its last
        visit ended), ``visits``, ``in_order``, ``first_entered`` and ``entered`` (its first and
        last entry), ``left`` (NaT: still there), ``next_stage``, the amount when it entered and
        when it left (or now) in currency units and cents, and ``currency``. As many rows as
        the count (``visits``: their sum).

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
    >>> funnel_deals(history, stage="Qualify", measure="advanced")[["deal_id", "outcome", "entered", "next_stage"]]
      deal_id   outcome    entered next_stage
    0       B  advanced 2025-01-05    Propose
    """
    if measure not in FUNNEL_MEASURES:
        raise ChannelKPIError(f"measure={measure!r} is not a funnel count", fix=f"use one of {list(FUNNEL_MEASURES)}")
    rows, order, q, _ = _funnel_table(history, by=by, stages=stages, start=start, end=end, where=where)
    if isinstance(stage, (int, np.integer)) and not isinstance(stage, bool):
        step = int(stage)
        if not 1 <= step <= len(order.stages):
            raise ChannelKPIError(f"stage={step} is not a step", fix=f"use 1 to {len(order.stages)}")
    elif stage in order.stages:
        step = order.stages.index(stage) + 1
    else:
        raise ChannelKPIError(f"stage={stage!r} is not a step of the funnel", fix=f"use one of {list(order.stages)}")
    keep = rows["step"].eq(step)
    if measure in OUTCOMES:
        keep &= rows["outcome"].eq(measure)
    elif measure == "entered_in_order":
        keep &= rows["in_order"]
    return rows[keep.to_numpy() & group_mask(rows, group, q.by)].reset_index(drop=True)
