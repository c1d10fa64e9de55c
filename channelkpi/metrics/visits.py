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
from .query import Query, check_columns

__all__ = [
    "NO_STAGE",
    "OUTCOMES",
    "FINISHED",
    "StageOrder",
    "stage_order",
    "stage_visit_rows",
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
    currency, next_kind, next_stage``."""
    iv = history.intervals
    removed = iv["removed"].to_numpy(bool)
    status = iv["status"].astype(object).to_numpy()
    kind = np.where(removed, "removed", np.where(pd.isna(status), "open", status)).astype(object)
    stage = iv["stage"].astype(object).where(iv["stage"].notna(), NO_STAGE).to_numpy()
    # a closed or removed state has no step: its stage name is kept only for display
    key = np.where(kind == "open", stage, kind + "\x00").astype(object)
    deal = iv["deal_id"].to_numpy(object)
    n = len(iv)
    starts = np.ones(n, dtype=bool)
    if n:
        starts[1:] = (deal[1:] != deal[:-1]) | (key[1:] != key[:-1])
    first = np.flatnonzero(starts)
    last = np.append(first[1:] - 1, n - 1) if n else first
    cents = iv["amount_cents"]
    seg = pd.DataFrame(
        {
            "deal_id": iv["deal_id"].to_numpy()[first],
            "kind": kind[first],
            "stage": stage[first],
            "entered": iv["valid_from"].to_numpy()[first],
            "left": iv["valid_to"].to_numpy()[last],
            "amount_cents_entered": cents.iloc[first].to_numpy(),
            "amount_cents_left": cents.iloc[last].to_numpy(),
            "currency": iv["currency"].to_numpy()[last],
        }
    )
    seg["amount_cents_entered"] = seg["amount_cents_entered"].astype(pd.Int64Dtype())
    seg["amount_cents_left"] = seg["amount_cents_left"].astype(pd.Int64Dtype())
    same = seg["deal_id"].eq(seg["deal_id"].shift(-1)).to_numpy()
    seg["next_kind"] = np.where(same, seg["kind"].shift(-1).to_numpy(), None)
    seg["next_stage"] = np.where(same, seg["stage"].shift(-1).to_numpy(), None)
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
    seg = _segments(history)
    opened = seg[seg["kind"] == "open"]
    seen_open = list(dict.fromkeys(opened["stage"]))
    seen_closed = set(seg.loc[seg["kind"].isin(["won", "lost"]), "stage"]) - set(seen_open)
    warnings: list[str] = []
    if stages is not None:
        if isinstance(stages, str) or not all(isinstance(s, str) and s for s in stages):
            raise ChannelKPIError(
                f"stages={stages!r} is not a list of stage names", fix="pass e.g. stages=['Qualify', 'Propose']"
            )
        if len(set(stages)) != len(stages):
            raise ChannelKPIError(f"stages={list(stages)} names a stage twice", fix="name each stage once")
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
    seg = _segments(history)
    visits = seg[seg["kind"] == "open"].reset_index(drop=True)
    index = {s: i + 1 for i, s in enumerate(order.stages)}
    step = visits["stage"].map(index).astype("int64")
    # float (NaN: no next stage): a column of none at all maps to strings, which cannot be compared
    next_step = visits["next_stage"].astype(object).map(index).astype("float64")
    nk = visits["next_kind"]
    outcome = np.select(
        [nk.isna(), nk.eq("removed"), nk.eq("won"), nk.eq("lost"), next_step > step],
        ["still_there", "removed", "won", "lost", "advanced"],
        "moved_back",
    )
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
    return out


def deal_groups(history: History, q: Query) -> pd.DataFrame:
    """``deal_id`` and the ``by=`` levels of every deal that passes ``where=``, from the deals as
    last seen (a deal belongs to one group for the whole of its history).

    Raises
    ------
    ChannelKPIError
        For a level or filter column the deals do not have, and for ``by="stage"`` (the stage is
        the row).
    """
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
        keep &= deals[col].astype(str).isin(values).to_numpy()
    out = deals.loc[keep, ["deal_id", *q.by]].reset_index(drop=True)
    return out.astype({c: _STR for c in q.by})


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
