"""The stage-1 contract: what a backend computes from the deal rows, and what it hands stage 2.

A backend is one kind of input's stage 1 (:class:`Stage1`): the lazy backend
(:mod:`channelkpi.metrics.lazy`: pandas via DuckDB, polars, DuckDB relations, Spark, through
narwhals) and the prepared backend (:mod:`channelkpi.metrics.prepared`: numpy arrays coded
once). Each answers three questions about the deals a query selects:

``passes()``
    The raw aggregate tables (:class:`Passes`), the same columns on every backend: ``created``
    (levels x ``cr_key`` x status x ``flags``, packed by
    :data:`~channelkpi.metrics.rules.CREATED_FLAGS`) and, when asked, ``outcomes`` (levels x
    ``cl_key`` x status x ``cl_in`` x ``oflags``, packed by
    :data:`~channelkpi.metrics.rules.OUTCOME_FLAGS`), ``closed_in``, ``cycle_hist``,
    ``next_expected`` and ``open_expected``.
``snapshot(as_of)``
    Deals open at the end of a day, per group: ``n``, ``cents``, ``wcents``.
``last_date()``
    The last created or close date (None without any).

:func:`collect` asks them and returns :class:`Aggregates`, everything stage 2
(:mod:`channelkpi.metrics.finish`) works on: nothing after it reads a deal row.

Examples
--------
>>> import channelkpi as ck
>>> from channelkpi.datasets import make_deals
>>> from channelkpi.metrics.prepared import PreparedStage1
>>> from channelkpi.metrics.query import make_query
>>> deals = make_deals(400, seed=8)
>>> q = make_query(by="unit", start="2024-01-01")
>>> agg = collect(PreparedStage1(ck.prepare(deals), q, {"flows"}), q, {"flows"})
>>> sorted(agg.snapshots), agg.as_of == deals[["created", "closed"]].max().max()
(['open', 'open_start'], True)
>>> int(agg.status["n"].sum()) == len(deals)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from ..errors import SchemaError
from . import rules
from .query import Query

__all__ = ["NEEDS", "Stage1", "Passes", "Aggregates", "assemble", "collect"]

#: What a KPI may ask of stage 1: ``created`` (the pass by creation, which always runs),
#: ``outcomes`` (closed deals by close period, with the won deals in range for the medians and
#: channel sums), ``lost_cycle`` (the cycle median of lost deals too), ``flows`` (the as-of
#: pipeline), ``cycle_hist`` (cycle lengths in weeks), ``coverage`` (open deals by expected
#: close, for targets) and ``open_expected`` (open deals by expected close in range).
NEEDS = frozenset({"created", "outcomes", "lost_cycle", "flows", "cycle_hist", "coverage", "open_expected"})


@dataclass
class Passes:
    """The raw tables of one backend's passes over the rows."""

    tables: dict[str, pd.DataFrame]
    rows: int | None = None  #: deals before ``where=`` (None: not counted, no filter)


class Stage1(Protocol):
    """One kind of input's stage 1, for one query (see the module docstring)."""

    #: What ran it: ``"numpy"``, ``"duckdb"``, ``"polars"``, ``"pandas"``, ``"pyspark"`` ...
    engine: str

    def passes(self) -> Passes: ...

    def snapshot(self, as_of: pd.Timestamp) -> pd.DataFrame: ...

    def last_date(self) -> pd.Timestamp | None: ...


@dataclass
class Aggregates:
    """The compact result of stage 1 (all pandas, small): what stage 2 works on."""

    query: Query
    needs: frozenset[str]
    groups: pd.DataFrame  #: every level combination in the (filtered) deals
    rows: int  #: deals in the input
    filtered_out: int  #: deals removed by ``where=``
    status: pd.DataFrame  #: flags x status -> n (for exclusion counts)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    engine: str = "pandas"
    #: with ``freq=None`` and ``flows``: the day the pipeline is measured on (``end``, else the
    #: last date in the deals, else today) ...
    as_of: pd.Timestamp | None = None
    #: ... and the deals open then (``open``) and the day before ``start`` (``open_start``)
    snapshots: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: groups a partner or owner table adds that have no deal in the selection (their level
    #: columns): shown with zero counts, never ranked among the groups that have deals
    without_deals: pd.DataFrame | None = None
    #: past period ends read each deal as a history recorded it (not as it is now)
    recorded: bool = False


def collect(stage1: Stage1, q: Query, needs) -> Aggregates:
    """Run a backend's stage 1 for ``q``: its passes, and the as-of snapshots the whole-range
    pipeline needs (``freq=None`` with ``flows``)."""
    needs = frozenset(needs)
    unknown = needs - NEEDS
    if unknown:
        raise ValueError(f"stage 1 does not compute {sorted(unknown)}")
    agg = assemble(stage1.passes(), q, needs, stage1.engine)
    if "flows" in needs and q.freq is None:
        as_of = q.end
        if as_of is None:
            as_of = stage1.last_date()
        agg.as_of = pd.Timestamp.today().normalize() if as_of is None else as_of
        agg.snapshots["open"] = stage1.snapshot(agg.as_of)
        if q.start is not None:
            agg.snapshots["open_start"] = stage1.snapshot(q.start - pd.Timedelta(days=1))
    return agg


def assemble(passes: Passes, q: Query, needs: frozenset[str], engine: str) -> Aggregates:
    """The backend-independent part of stage 1: unpack the flag keys, derive the sums that follow
    from them, list the groups, check the statuses and count the exclusions."""
    levels = list(q.by)
    tables = dict(passes.tables)
    created = tables["created"]
    layout = rules.CREATED_FLAGS
    packed = created["flags"].to_numpy(np.int64)
    _unpack(created, "flags", layout)
    created["amount_n"] = created["n"] * created["has_amount"]
    # on the timeline or not follows from the group (the same test as the tl column): the
    # timeline sums are the group's own, or zero, without an aggregate of their own
    on_timeline = (
        (created["cr_null"] == 0) & (created["cbc"] == 0) & ((created["status"] == "open") | (created["cl_null"] == 0))
    ).to_numpy(np.int64)
    created["tl_n"] = created["n"] * on_timeline
    created["tl_cents"] = created["cents"] * on_timeline
    created["tl_wcents"] = created.pop("wcents") * on_timeline
    groups = (
        created[levels].drop_duplicates().sort_values(levels, kind="stable").reset_index(drop=True)
        if levels
        else pd.DataFrame(index=[0])
    )
    unknown = sorted(set(map(str, created["status"].unique())) - {"open", "won", "lost"})
    if unknown:
        counts = created[created["status"].astype(str).isin(unknown)].groupby("status")["n"].sum()
        raise SchemaError(
            "status must be open, won or lost; the deals table also has "
            + ", ".join(f"{k!r} ({v} rows)" for k, v in counts.items()),
            column="status",
            fix="load exports with channelkpi.read_crm (stage_map= says what a stage means), or map the values "
            "where the data lives",
        )
    status = _status_counts(created["status"], packed, created["n"], layout)
    if "outcomes" in tables:
        outcomes = tables["outcomes"]
        _unpack(outcomes, "oflags", rules.OUTCOME_FLAGS)
        on_timeline = outcomes.pop("tl")
        outcomes["amount_n"] = outcomes["n"] * outcomes.pop("has_amount")
        outcomes["cycle_n"] = outcomes["n"] * outcomes.pop("cyc_n")
        outcomes["tl_n"] = outcomes["n"] * on_timeline
        outcomes["tl_cents"] = outcomes["cents"] * on_timeline
        outcomes["tl_wcents"] = outcomes.pop("wcents") * on_timeline
    rows_kept = int(status["n"].sum())
    rows = rows_kept if passes.rows is None else passes.rows
    return Aggregates(q, needs, groups, rows, rows - rows_kept, status, tables, engine)


def _status_counts(status: pd.Series, packed: np.ndarray, n: pd.Series, layout: rules.FlagLayout) -> pd.DataFrame:
    """Rows per status and flag combination (``status``, the flags, ``n``), ordered by status
    and packed flags: grouped on two integer codes rather than on every flag column."""
    statuses, codes = np.unique(status.astype(object).to_numpy(), return_inverse=True)
    found, at = np.unique(codes.astype(np.int64) * layout.size + packed, return_inverse=True)
    counts = np.zeros(len(found), dtype=np.int64)
    np.add.at(counts, at, n.to_numpy(np.int64))
    status = pd.Series(statuses[found // layout.size], dtype=status.dtype)
    return pd.DataFrame({"status": status, **layout.unpack(found % layout.size), "n": counts})


def _unpack(frame: pd.DataFrame, column: str, layout: rules.FlagLayout) -> None:
    """Replace a packed column of a collected aggregate by its 0/1 flags."""
    for name, values in layout.unpack(frame.pop(column).to_numpy(np.int64)).items():
        frame[name] = values
