"""Stage visits: a deal's history read as a path through the open stages.

A *visit* is a stretch of time a deal spent open in one stage: consecutive intervals of a
:class:`~channelkpi.history.History` with the same open stage are one visit (an amount change
does not start a new one). Each visit ends one way, decided by the state that follows it:

``advanced``
    the next state is an open stage later in the stage order (skipping stages included);
``moved_back``
    an open stage earlier in the order (counted at the stage the deal left);
``won`` / ``lost``
    the deal closed;
``removed``
    the deal was deleted or left the export;
``still_there``
    nothing followed: the deal was in the stage at ``as_of``.

Won and lost are outcomes, not stages: the stage names of closed states (``Closed Won``) are
never steps. The stage order is, in this order of preference: ``stages=``; the CRM's order
(``History.stages``, with the stages only ever seen closed left out); the order of the stages'
median entry time. Open stages found in the history but missing from the order are added after
it by median entry time, and a warning says so. An open state without a stage is the stage
``(no stage)``.

Examples
--------
>>> import pandas as pd
>>> from channelkpi.history import History, make_intervals
>>> from channelkpi.schema import validate_deals
>>> rows = pd.DataFrame({"deal_id": ["D1"] * 3, "valid_from": pd.to_datetime(["2025-01-01", "2025-01-11", "2025-02-01"]),
...                      "status": ["open", "open", "won"], "stage": ["Proposal", "Negotiation", "Closed Won"]})
>>> history = History(intervals=make_intervals(rows), deals=validate_deals(pd.DataFrame({"deal_id": ["D1"], "status": ["won"]})),
...                   ledger=pd.DataFrame(), source="example", known=frozenset({"stage", "status"}),
...                   stages=("Proposal", "Negotiation", "Closed Won"), as_of=pd.Timestamp("2025-03-01"))
>>> order = stage_order(history)
>>> order.stages, order.source
(('Proposal', 'Negotiation'), 'crm')
>>> stage_visit_rows(history, order)[["deal_id", "stage", "entered", "days", "outcome"]]
  deal_id        stage    entered  days  outcome
0      D1     Proposal 2025-01-01  10.0 advanced
1      D1  Negotiation 2025-01-11  21.0      won
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

from ..errors import ChannelKPIError
from ..history import History
from ..schema import DTYPES
from .derived import derived
from .query import Query, check_columns

__all__ = [
    "NO_STAGE",
    "OUTCOMES",
    "FINISHED",
    "StageOrder",
    "stage_order",
    "stage_visit_rows",
    "VisitTable",
    "visit_table",
    "kept_deals",
    "visits_of",
    "deals_kept",
    "level_codes",
    "with_levels",
    "deal_groups",
    "check_history",
    "levels_grid",
    "group_mask",
    "HISTORY_PARAMETERS",
    "Group",
    "Stages",
    "documented",
]

#: The stage of an open state that has none.
NO_STAGE = "(no stage)"
#: How a visit ends, in the order the funnel shows them.
OUTCOMES: tuple[str, ...] = ("advanced", "moved_back", "won", "lost", "removed", "still_there")
#: The outcomes that end a visit by the deal's own move (the rest are censored).
FINISHED: tuple[str, ...] = ("advanced", "moved_back", "won", "lost")

_DAY = np.timedelta64(1, "D")
_STR = DTYPES["deal_id"]


@dataclass(frozen=True)
class StageOrder:
    """The funnel's steps and where their order came from."""

    #: the open stages, first step first
    stages: tuple[str, ...]
    #: ``"stages="``, ``"crm"`` or ``"median entry"``
    source: str
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- documentation
#: A stage order (``stages=``): the open stages' names, first step first.
Stages = Sequence[str] | None
#: One group of a table (``group=``): the ``by=`` levels' values, or a plain value with one level.
Group = Mapping[str, str] | str | None

#: The options the history analyses (funnel, time in stage, slips) share, documented once:
#: :func:`documented` puts each where a docstring's Parameters section holds ``{name}`` alone
#: on a line. The options whose meaning differs (``start``/``end``: a cohort, visits, changes)
#: are written in each function.
HISTORY_PARAMETERS = {
    "history": """history : History
    The deals' history (:func:`channelkpi.load_history`).""",
    "by": """by : Level or list of Level, optional
    Group by these columns of the deals as last seen (``history.deals``), ``"partner"``,
    ``"owner"``, any other text column (a kept field, a partner table's ``"tier"``); several:
    their combinations. A deal counts in one group for its whole path. Default: one group.""",
    "stages": """stages : sequence of str, optional
    The open stages in order. Default: the CRM's order (``history.stages``), else the stages'
    median entry time (``attrs["channelkpi"]["stage_order_source"]`` says which).""",
    "where": """where : dict of str -> list of str, optional
    Keep only these deals (their values as last seen), e.g. ``{"partner": ["Acme"]}``.""",
    "fiscal_year_start": """fiscal_year_start : int
    First month of the fiscal year (1-12); a fiscal year is named by the year it ends in.""",
    "group": """group : dict of str -> str, or str, optional
    Only this group, ``{"partner": "Acme"}`` (a plain value when ``by=`` is one level).""",
}

_F = TypeVar("_F", bound=Callable)


def documented(func: _F) -> _F:
    """Put the shared option texts of :data:`HISTORY_PARAMETERS` where ``func``'s docstring
    holds their ``{name}`` lines (indented as the docstring's Parameters are)."""

    def text(match: re.Match) -> str:
        indent, name = match.group(1), match.group(2)
        return "\n".join(indent + line if line else line for line in HISTORY_PARAMETERS[name].splitlines())

    names = "|".join(HISTORY_PARAMETERS)
    func.__doc__ = re.sub(rf"^( *)\{{({names})\}}$", text, func.__doc__ or "", flags=re.M)
    return func


def check_history(history) -> History:
    """``history`` if it is a :class:`~channelkpi.history.History`, else a clear error."""
    if not isinstance(history, History):
        raise ChannelKPIError(
            f"a History is needed, not {type(history).__name__}",
            fix="read the history with channelkpi.load_history(...) (a CRM history file or dated exports)",
        )
    return history


def _segments(history: History) -> pd.DataFrame:
    """Consecutive intervals of a deal in the same state (open stage, won, lost or removed),
    merged: ``deal_id, kind, stage, entered, left, amount_cents_entered, amount_cents_left,
    currency, next_kind, next_stage`` and ``stage_code`` (the stage as a code into
    :func:`_stage_names`). Derived once per history (:func:`~channelkpi.metrics.derived.derived`)."""
    return derived(history, "segments", lambda: _make_segments(history))


def _stage_names(history: History) -> np.ndarray:
    """The distinct stage names of the intervals (a missing one as :data:`NO_STAGE`), by code."""
    return derived(history, "stage_names", lambda: _stage_codes(history)[1])


def _stage_codes(history: History) -> tuple[np.ndarray, np.ndarray]:
    def make():
        codes, uniques = pd.factorize(history.intervals["stage"], use_na_sentinel=True)
        names = np.array([*(str(u) for u in uniques), NO_STAGE], dtype=object)
        codes = np.where(codes < 0, len(names) - 1, codes)
        # a stage called "(no stage)" and a missing one are the same step
        merged, distinct = pd.factorize(names)
        return merged[codes].astype(np.int64), np.asarray(distinct, dtype=object)

    return derived(history, "stage_codes", make)


def _make_segments(history: History) -> pd.DataFrame:
    iv = history.intervals
    n = len(iv)
    removed = iv["removed"].to_numpy(bool)
    # kinds by code (a state's status, "open" without one, "removed"): no row is turned into text
    status_codes, statuses = pd.factorize(iv["status"], use_na_sentinel=True)
    kinds = np.array([*(str(s) for s in statuses), "open", "removed"], dtype=object)
    kind = np.where(removed, len(kinds) - 1, np.where(status_codes < 0, len(kinds) - 2, status_codes))
    merged, kind_names = pd.factorize(kinds)
    kind = merged[kind]
    kind_names = np.asarray(kind_names, dtype=object)
    open_code = int(np.flatnonzero(kind_names == "open")[0])
    stage, stage_names = _stage_codes(history)
    # a closed or removed state has no step: its stage name is kept only for display
    key = np.where(kind == open_code, stage, -1 - kind)
    new_deal = np.ones(n, dtype=bool)
    if n > 1:
        ids = iv["deal_id"]
        new_deal = ids.ne(ids.shift()).to_numpy(dtype=bool, na_value=True, copy=True)
        new_deal[0] = True
    starts = new_deal.copy()
    if n:
        starts[1:] |= key[1:] != key[:-1]
    first = np.flatnonzero(starts)
    last = np.append(first[1:] - 1, n - 1) if n else first
    cents = iv["amount_cents"]
    deal = (np.cumsum(new_deal) - 1)[first]
    seg_kind, seg_stage = kind[first], stage[first]
    same = np.zeros(len(first), dtype=bool)
    same[:-1] = deal[1:] == deal[:-1]
    next_kind = np.full(len(first), None, dtype=object)
    next_stage = np.full(len(first), None, dtype=object)
    next_kind[:-1] = kind_names[seg_kind[1:]]
    next_stage[:-1] = stage_names[seg_stage[1:]]
    next_code = np.full(len(first), -1, dtype=np.int64)
    next_code[:-1] = seg_stage[1:]
    seg = pd.DataFrame(
        {
            "deal_id": iv["deal_id"].iloc[first].reset_index(drop=True),
            "kind": kind_names[seg_kind],
            "stage": stage_names[seg_stage],
            "entered": iv["valid_from"].to_numpy()[first],
            "left": iv["valid_to"].to_numpy()[last],
            "amount_cents_entered": cents.iloc[first].to_numpy(),
            "amount_cents_left": cents.iloc[last].to_numpy(),
            "currency": iv["currency"].iloc[last].reset_index(drop=True),
        }
    )
    seg["amount_cents_entered"] = seg["amount_cents_entered"].astype(pd.Int64Dtype())
    seg["amount_cents_left"] = seg["amount_cents_left"].astype(pd.Int64Dtype())
    seg["next_kind"] = np.where(same, next_kind, None)
    seg["next_stage"] = np.where(same, next_stage, None)
    seg["stage_code"] = seg_stage
    seg["next_stage_code"] = np.where(same, next_code, -1)
    return seg


def _median_entry_order(visits: pd.DataFrame, names) -> list[str]:
    entries = visits[visits["stage"].isin(list(names))]
    med = entries.groupby("stage")["entered"].median()
    return sorted(names, key=lambda s: (med[s], s))


def stage_order(history: History, *, stages=None) -> StageOrder:
    """The funnel's steps: the open stages in order, and where the order came from.

    Parameters
    ----------
    history : History
        The deals' history.
    stages : sequence of str, optional
        The order to use; default: the CRM's (``history.stages``), else the median entry time.

    Returns
    -------
    StageOrder
        ``stages`` (open stages only, first step first), ``source`` and ``warnings``.
    """
    history = check_history(history)
    if stages is not None:
        if isinstance(stages, str) or not all(isinstance(s, str) and s for s in stages):
            raise ChannelKPIError(
                f"stages={stages!r} is not a list of stage names", fix="pass e.g. stages=['Qualify', 'Propose']"
            )
        if len(set(stages)) != len(stages):
            raise ChannelKPIError(f"stages={list(stages)} names a stage twice", fix="name each stage once")
        stages = tuple(stages)
    return derived(history, ("stage_order", stages), lambda: _make_stage_order(history, stages))


def _make_stage_order(history: History, stages: tuple[str, ...] | None) -> StageOrder:
    seg = _segments(history)
    opened = seg[seg["kind"] == "open"]
    seen_open = list(dict.fromkeys(opened["stage"]))
    seen_closed = set(seg.loc[seg["kind"].isin(["won", "lost"]), "stage"]) - set(seen_open)
    warnings: list[str] = []
    if stages is not None:
        order, source = [s for s in stages if s not in seen_closed], "stages="
        if len(order) < len(stages):
            warnings.append(
                f"stages {[s for s in stages if s in seen_closed]} are only ever closed (won or lost): outcomes, not steps"
            )
    elif history.stages:
        order, source = [], "crm"
        for s in history.stages:
            if s in seen_closed:  # the CRM lists its open stages first: the closed ones follow
                break
            order.append(s)
        order += [s for s in history.stages if s in seen_open and s not in order]
    else:
        order, source = _median_entry_order(opened, seen_open), "median entry"
        if order:
            warnings.append(
                "the stage order is not known: the stages are ordered by their median entry time "
                f"({' > '.join(order)}); pass stages=[...] to set it"
            )
    extra = [s for s in seen_open if s not in order]
    if extra:
        extra = _median_entry_order(opened, extra)
        warnings.append(
            f"open stages {extra} are not in the stage order ({source}): added after it by median entry time"
        )
        order += extra
    return StageOrder(tuple(order), source, tuple(warnings))


def stage_visit_rows(history: History, order: StageOrder) -> pd.DataFrame:
    """Every visit of a deal to an open stage, with how it ended.

    Returns
    -------
    pandas.DataFrame
        ``deal_id, step (1 = first stage), stage, entered, left (NaT: still there), days (to
        left, or to as_of when still there), outcome, next_stage, amount_cents_entered,
        amount_cents_left, currency``, by deal and time.
    """
    return _visit_table(history, order).rows.copy()


@dataclass(frozen=True)
class VisitTable:
    """The visits of a history in a stage order (:func:`stage_visit_rows`' rows), and per visit
    its deal and outcome as codes: what the funnel and time in stage filter and count without
    turning text into objects on every call."""

    rows: pd.DataFrame
    #: per visit: its deal, a code into ``deal_ids``
    deal: np.ndarray
    #: the distinct deals of the visits
    deal_ids: pd.Index
    #: per visit: its outcome, a code into :data:`OUTCOMES`
    outcome: np.ndarray


def visit_table(history: History, order: StageOrder) -> VisitTable:
    """The visits of ``history`` in ``order``, derived once per history and order (read-only:
    select from ``rows``, do not change it)."""
    return _visit_table(history, order)


def _visit_table(history: History, order: StageOrder) -> VisitTable:
    return derived(history, ("visits", order.stages), lambda: _make_visits(history, order))


def _make_visits(history: History, order: StageOrder) -> VisitTable:
    seg = _segments(history)
    visits = seg[(seg["kind"] == "open").to_numpy()].reset_index(drop=True)
    names = _stage_names(history)
    index = {s: i + 1 for i, s in enumerate(order.stages)}
    # float (NaN: not a step), by stage code: every open stage is a step of the order
    step_of = np.array([index.get(name, np.nan) for name in names] + [np.nan], dtype="float64")
    step = step_of[visits["stage_code"].to_numpy()].astype("int64")
    next_step = step_of[visits["next_stage_code"].to_numpy()]
    nk = visits["next_kind"]
    code = np.select(
        [nk.isna(), nk.eq("removed"), nk.eq("won"), nk.eq("lost"), next_step > step],
        [OUTCOMES.index(o) for o in ("still_there", "removed", "won", "lost", "advanced")],
        OUTCOMES.index("moved_back"),
    ).astype(np.int8)
    outcome = np.asarray(OUTCOMES, dtype=object)[code]
    ended = visits["left"].fillna(history.as_of)
    days = ((ended - visits["entered"]) / _DAY).clip(lower=0.0)
    out = pd.DataFrame(
        {
            "deal_id": visits["deal_id"].astype(_STR),
            "step": step,
            "stage": visits["stage"].astype(_STR),
            "entered": visits["entered"].astype("datetime64[ns]"),
            "left": visits["left"].astype("datetime64[ns]"),
            "days": days.astype(float),
            "outcome": pd.Series(outcome, dtype=_STR),
            "next_stage": visits["next_stage"].where(nk.eq("open")).astype(_STR),
            "amount_cents_entered": visits["amount_cents_entered"],
            "amount_cents_left": visits["amount_cents_left"],
            "currency": visits["currency"].astype(_STR),
        }
    )
    deal, deal_ids = pd.factorize(out["deal_id"])
    return VisitTable(out, deal.astype(np.int64), pd.Index(deal_ids), code)


def deal_groups(history: History, q: Query) -> pd.DataFrame:
    """``deal_id`` and the ``by=`` levels of every deal that passes ``where=``, from the deals as
    last seen (a deal belongs to one group for the whole of its history).

    Raises
    ------
    ChannelKPIError
        For a level or filter column the deals do not have, and for ``by="stage"`` (the stage is
        the row).
    """
    keep = kept_deals(history, q)
    out = history.deals.loc[keep, ["deal_id", *q.by]].reset_index(drop=True)
    return out.astype({c: _STR for c in q.by})


def kept_deals(history: History, q: Query) -> np.ndarray:
    """Which rows of ``history.deals`` pass ``where=`` (a boolean array), checking the options
    as :func:`deal_groups` does. A filter is matched against each column's distinct values,
    coded once per history, not against every deal's text."""
    deals = history.deals
    if "stage" in q.by:
        raise ChannelKPIError(
            "by='stage' cannot split a stage table: every row is a stage already", fix="leave stage out of by="
        )
    text = [
        c
        for c in deals.columns
        if pd.api.types.is_string_dtype(deals[c]) or isinstance(deals[c].dtype, pd.CategoricalDtype)
    ]
    check_columns(q, list(deals.columns), [c for c in text if c != "status"])
    keep = np.ones(len(deals), dtype=bool)
    for col, values in q.where:
        codes, uniques = _deal_codes(history, col)
        # as deals[col].astype(str).isin(values), one distinct value at a time
        hit = pd.Series(uniques).astype(str).isin(values).to_numpy(bool)
        keep &= hit[codes]
    return keep


def _deal_codes(history: History, col: str) -> tuple[np.ndarray, pd.Index | np.ndarray]:
    def make():
        codes, uniques = pd.factorize(history.deals[col], use_na_sentinel=False)
        return codes.astype(np.int64), uniques

    return derived(history, ("deal_codes", col), make)


def _deal_rows(history: History, table: VisitTable) -> tuple[np.ndarray, bool]:
    """Per deal of ``table``: its row in ``history.deals`` (-1: none), and whether the deals'
    ids are distinct (else a deal's visits are joined to each of its rows, by a merge)."""

    def make():
        ids = history.deals["deal_id"]
        at = table.deal_ids.get_indexer(ids)
        row = np.full(len(table.deal_ids), -1, dtype=np.int64)
        found = at >= 0
        row[at[found]] = np.flatnonzero(found)
        return row, bool(ids.is_unique)

    return derived(history, ("deal_rows", id(table)), make)


def deals_kept(history: History, table: VisitTable, keep: np.ndarray) -> np.ndarray:
    """Per deal of ``table`` (by code): whether ``keep`` (a :func:`kept_deals` array) keeps it."""
    row, _ = _deal_rows(history, table)
    hit = np.append(keep, False)  # row -1, a deal the deals table lacks: never kept
    return hit[row]


def visits_of(history: History, table: VisitTable, keep: np.ndarray) -> np.ndarray:
    """Which visits of ``table`` are of the deals ``keep`` marks (a :func:`kept_deals` array):
    as ``rows["deal_id"].isin(kept ids)``, by codes."""
    return deals_kept(history, table, keep)[table.deal]


def level_codes(rows: pd.DataFrame, by) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's group (its ``by`` levels' values, a missing value its own) as a code 0, 1, ...,
    and the groups' values by code (one empty group without ``by``)."""
    code = np.zeros(len(rows), dtype=np.int64)
    for col in by:
        part, uniques = pd.factorize(rows[col], use_na_sentinel=False)
        code, _ = pd.factorize(code * max(len(uniques), 1) + part)
    n = int(code.max()) + 1 if len(code) else 0
    first = np.zeros(n, dtype=np.int64)
    first[code[::-1]] = np.arange(len(code) - 1, -1, -1)
    values = pd.DataFrame({col: rows[col].iloc[first].reset_index(drop=True) for col in by}, index=range(n))
    return code.astype(np.int64), values


def with_levels(
    history: History, table: VisitTable, rows: pd.DataFrame, deals: np.ndarray, q: Query, keep: np.ndarray
) -> pd.DataFrame:
    """``rows`` (of the deals ``keep`` marks; ``deals``: each row's deal, a code of ``table``)
    with the ``by=`` levels of their deals as last seen: ``rows.merge(deal_groups(...),
    on="deal_id", how="left")``, by position when the deals' ids are distinct."""
    by = list(q.by)
    row, unique = _deal_rows(history, table)
    if not unique:
        groups = history.deals.loc[keep, ["deal_id", *by]].reset_index(drop=True)
        return rows.merge(groups.astype({c: _STR for c in by}), on="deal_id", how="left")
    rows = rows.reset_index(drop=True)
    at = row[deals]
    for col in by:
        rows[col] = history.deals[col].astype(_STR).iloc[at].reset_index(drop=True)
    return rows


def levels_grid(groups: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    """The distinct groups (one empty row without ``by=``)."""
    if not by:
        return pd.DataFrame(index=[0])
    return (
        groups[list(by)]
        .drop_duplicates()
        .sort_values(list(by), kind="stable", na_position="last")
        .reset_index(drop=True)
    )


def group_mask(rows: pd.DataFrame, group, by: tuple[str, ...]) -> np.ndarray:
    """The rows of ``group=`` (a deals-behind call's group, checked against ``by``; a missing
    value matches a missing level), as a boolean array."""
    keep = np.ones(len(rows), dtype=bool)
    if group is None:
        return keep
    if not isinstance(group, dict):
        if len(by) != 1:
            raise ChannelKPIError(
                f"group={group!r} needs a level name", fix=f"pass group={{level: value}} with levels {list(by)}"
            )
        group = {by[0]: group}
    unknown = [c for c in group if c not in by]
    if unknown:
        raise ChannelKPIError(f"group= names {unknown}, not among by={list(by)}", fix="name the levels passed as by=")
    for col, value in group.items():
        keep &= (rows[col].isna() if pd.isna(value) else rows[col].eq(value)).to_numpy()
    return keep
