"""The deals behind one KPI cell: which rows a number counts, and how each one counts.

A KPI table says *how much*; the next question is *which deals*. :func:`deals_behind` answers
it for one cell (one group x one period) of any KPI, from the same options the KPI function
took, by the same row rules (:mod:`channelkpi.metrics.rules`) and the same windows
(:mod:`channelkpi.metrics.definitions`): the rows it returns reproduce the cell's sums, counts
and medians.

Each column of a KPI table is one *measure* (:class:`Measure`): the deals it reads by their close
date (``outcome``: won, lost), by their creation date (``cohort``), open at a day (``stock``),
open and expected to close (``expected``) or, for the close rate over created deals, two of
them at once. What a deal is called in ``counts_as``:

``won``, ``lost``
    Won or lost and closed in the period (within ``start``/``end``).
``created in the period (won)``, ``(lost)``, ``(still open)``
    Created in the period, and where it stands now (a cohort).
``open at the period end``, ``open at the period start``, ``open at the period start and end``
    Created by then and not yet won or lost (the pipeline as of that day).
``open, expected to close in the period``
    ``basis="open"`` deal size.
``excluded: <reason>``
    A deal the measure would read but a rule of the KPI leaves out, named as ``explain()``
    names it: ``outside period`` (its date is outside ``start``/``end``), ``no close date``,
    ``no created date``, ``no amount``, ``closed before created``, ``no expected close``. With
    periods, a row is listed when the measure's date falls in the cell's period; with
    ``freq=None`` (the whole range is the one cell) every such row of the group is listed.

Examples
--------
>>> from channelkpi.datasets import toy_deals
>>> rows = deals_behind(toy_deals(), "win_rate", by="partner", cell={"partner": "Acme"})
>>> rows[["deal_id", "amount", "counts_as"]]
  deal_id  amount counts_as
0      d2   400.0       won
1      d1   200.0       won
2      d3   100.0      lost
"""

from __future__ import annotations

import datetime
import difflib
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ChannelKPIError
from ..history import History
from ..i18n import N_
from ..i18n import gettext as _
from ..schema import DTYPES, STATUS_DTYPE, STATUSES
from ..types import Basis, By, DateLike, Denominator, Engine, Freq, Weight, Where
from .canonical import ABSENT_VALUES, canonical_pandas, deals_of, dimensions_of
from .periods import period_frame
from .prepared import PreparedDeals
from .query import Query, check_engine, make_query
from .recorded import last_change, open_states
from .rules import EPOCH, day_number

__all__ = [
    "Measure",
    "KPI_COLUMNS",
    "KPI_DEFAULT",
    "COUNTS_AS",
    "counts_as_text",
    "kind_rank",
    "measure_of",
    "deals_behind",
]


class _KPIDefault(str):
    """``by=``'s default: whatever the KPI function groups by when not told."""

    def __repr__(self) -> str:
        return "the KPI's default"


#: ``by=``'s default in :func:`deals_behind`: the KPI's own (``"partner"`` for
#: ``quality_score``, ``"channel"`` for ``channel_performance``, else None).
KPI_DEFAULT = _KPIDefault("the KPI's default")

#: Every way a deal counts (``counts_as``), as the code writes it: the column keeps these
#: (people and tests filter on them); a table shown to people says them with
#: :func:`counts_as_text`.
COUNTS_AS = (
    N_("won"),
    N_("lost"),
    N_("created in the period (won)"),
    N_("created in the period (lost)"),
    N_("created in the period (still open)"),
    N_("open at the period end"),
    N_("open at the period start"),
    N_("open at the period start and end"),
    N_("open, expected to close in the period"),
)
#: Why a deal the measure would read is left out (``excluded: no amount``), as ``explain()``
#: names the reasons.
_EXCLUDED = N_("excluded: {reason}")
_REASON_WORDS = (
    N_("outside period"),
    N_("no close date"),
    N_("no created date"),
    N_("no amount"),
    N_("closed before created"),
    N_("no expected close"),
)


def counts_as_text(label: str) -> str:
    """How a deal counts (a ``counts_as`` value) in the language in force; a deal in two
    measures ("won; created in the period (won)") has both said.

    >>> from channelkpi.i18n import using
    >>> counts_as_text("excluded: no amount")
    'excluded: no amount'
    >>> with using("de-DE"):
    ...     counts_as_text("won; open at the period end"), counts_as_text("excluded: no amount")
    ('gewonnen; offen am Periodenende', 'ausgeschlossen: kein Betrag')
    """
    parts = []
    for part in str(label).split("; "):
        reason = part.removeprefix("excluded: ")
        if reason != part:
            parts.append(_(_EXCLUDED).format(reason=_(reason)))
        else:
            parts.append(_(part))
    return "; ".join(parts)


_OPEN, _WON, _LOST = (STATUSES.index(s) for s in ("open", "won", "lost"))
_NONE = "(none)"  # the group of a missing level value, as the KPI tables show it


@dataclass(frozen=True)
class Measure:
    """Which deals one column of a KPI table reads.

    ``family`` is ``"outcome"`` (closed deals of ``statuses`` by close date), ``"cohort"``
    (deals by creation date), ``"stock"`` (open at the period's ``"end"``, ``"start"`` or both
    for a ``"change"``), ``"expected"`` (open deals by expected close) or
    ``"won_over_created"`` (won deals closed in the period and the deals created in it).
    ``value``: only deals with an amount count; ``cycle``: only deals with a cycle length;
    ``channel``: only deals of that marketing channel.
    """

    family: str
    statuses: tuple[str, ...] = ()
    value: bool = False
    cycle: bool = False
    stock: str = "end"
    channel: str | None = None


_WON_M = Measure("outcome", ("won",))
_LOST_M = Measure("outcome", ("lost",))
_CLOSED_M = Measure("outcome", ("won", "lost"))
_WON_VALUE = Measure("outcome", ("won",), value=True)
_COHORT = Measure("cohort")
_OPEN_END = Measure("stock")

#: What every column name means wherever it appears (a KPI may say otherwise, see
#: :data:`KPI_COLUMNS`).
_COMMON: dict[str, Measure] = {
    "won_count": _WON_M,
    "lost_count": _LOST_M,
    "closed_count": _CLOSED_M,
    "n": _CLOSED_M,
    "win_rate": _CLOSED_M,
    "win_rate_low": _CLOSED_M,
    "win_rate_high": _CLOSED_M,
    "won_amount": _WON_VALUE,
    "lost_amount": Measure("outcome", ("lost",), value=True),
    "avg_deal_size": _WON_VALUE,
    "median_deal_size": _WON_VALUE,
    "amount_count": _WON_VALUE,
    "won_share": _WON_VALUE,
    "created_count": _COHORT,
    "open_count": _OPEN_END,
    "open_amount": _OPEN_END,
    "weighted_amount": _OPEN_END,
    "open_start_count": Measure("stock", stock="start"),
    "change_count": Measure("stock", stock="change"),
    "change_amount": Measure("stock", stock="change"),
    "cycle_days_median": Measure("outcome", ("won",), cycle=True),
    "cycle_days_mean": Measure("outcome", ("won",), cycle=True),
    "lost_cycle_days_median": Measure("outcome", ("lost",), cycle=True),
    "lost_cycle_days_mean": Measure("outcome", ("lost",), cycle=True),
    # the quality score ranks won amount, won count, win rate and deal size, all read from
    # the deals won and lost in the period
    "quality_score": _CLOSED_M,
    "rank": _CLOSED_M,
    "win_rate_shrunk": _CLOSED_M,
    **{f"pct_{c}": _CLOSED_M for c in ("won_amount", "won_count", "win_rate_shrunk", "avg_deal_size")},
    "success_rate": _COHORT,
    "pending_share": _COHORT,
    "lost_share": _COHORT,
    "success_rate_value": _COHORT,
}
_COHORT_COUNTS = {"won_count": _COHORT, "lost_count": _COHORT, "open_count": _COHORT}
_OPEN_BASIS = {
    "avg_deal_size": Measure("expected", value=True),
    "median_deal_size": Measure("expected", value=True),
    "amount_count": Measure("expected", value=True),
    "open_count": Measure("expected"),
    "open_amount": Measure("expected"),
}

#: Each KPI's columns that :func:`deals_behind` opens, the first its headline number.
KPI_COLUMNS: dict[str, tuple[str, ...]] = {
    "average_deal_size": ("avg_deal_size", "median_deal_size", "won_count", "won_amount", "amount_count"),
    "deal_count": ("won_count", "created_count", "closed_count", "open_count"),
    "pipeline": ("open_amount", "open_count", "weighted_amount", "change_count", "change_amount"),
    "channel_performance": (
        "won_amount",
        "created_count",
        "won_count",
        "won_share",
        "win_rate",
        "avg_deal_size",
        "cycle_days_median",
    ),
    "win_rate": ("win_rate", "win_rate_low", "win_rate_high", "won_count", "lost_count", "n"),
    "deal_velocity": (
        "cycle_days_median",
        "cycle_days_mean",
        "open_start_count",
        "win_rate",
        "avg_deal_size",
        "won_count",
        "lost_cycle_days_median",
        "lost_cycle_days_mean",
    ),
    "quality_score": (
        "quality_score",
        "rank",
        "won_count",
        "won_amount",
        "win_rate_shrunk",
        "avg_deal_size",
        "win_rate",
        "n",
        "pct_won_amount",
        "pct_won_count",
        "pct_win_rate_shrunk",
        "pct_avg_deal_size",
    ),
    "deal_success": (
        "success_rate",
        "pending_share",
        "created_count",
        "won_count",
        "lost_share",
        "lost_count",
        "open_count",
        "success_rate_value",
    ),
    "kpi_table": (
        "won_count",
        "lost_count",
        "created_count",
        "closed_count",
        "open_count",
        "won_amount",
        "avg_deal_size",
        "median_deal_size",
        "open_amount",
        "weighted_amount",
        "change_count",
        "change_amount",
        "win_rate",
        "win_rate_low",
        "win_rate_high",
        "n",
        "cycle_days_median",
        "cycle_days_mean",
        "open_start_count",
        "quality_score",
        "rank",
        "win_rate_shrunk",
        "success_rate",
        "pending_share",
    ),
}
_COMPOSITE = {
    "sales_velocity": "open_start_count, win_rate, avg_deal_size and cycle_days_mean",
    "velocity_change": "open_start_count, win_rate, avg_deal_size and cycle_days_mean",
}


def _as_recorded(states: pd.DataFrame, history: History) -> pd.DataFrame:
    """Open states listed as deals: the amount, stage, partner, owner, expected close and
    probability as recorded; the status and the created and close dates the deal's own (a
    state's are the days it began and ended)."""
    own = history.deals.set_index("deal_id")[["status", "created", "closed"]].reindex(states["deal_id"])
    out = states.copy()
    for col in own:
        out[col] = own[col].to_numpy()
    return out


def _did_you_mean(value, choices) -> str:
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=3)
    return f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""


def measure_of(
    kpi: str,
    column: str | None = None,
    *,
    basis: Basis = "won",
    weight: Weight = "count",
    denominator: Denominator = "closed",
) -> tuple[str, Measure]:
    """The column a drill-down opens and the deals it reads.

    Parameters
    ----------
    kpi : str
        A KPI function's name (``"win_rate"``, ``"kpi_table"`` ...).
    column : str, optional
        A column of its table (default: the KPI's headline number, the first of
        :data:`KPI_COLUMNS`; ``kpi_table`` also opens ``won_amount_<channel>``).
    basis, weight, denominator : str
        The KPI's variants (:func:`channelkpi.average_deal_size`, :func:`channelkpi.win_rate`).

    Returns
    -------
    tuple of (str, Measure)

    Examples
    --------
    >>> measure_of("deal_success", "won_count")
    ('won_count', Measure(family='cohort', statuses=(), value=False, cycle=False, stock='end', channel=None))
    >>> measure_of("win_rate", weight="value")[1].value
    True
    """
    if kpi not in KPI_COLUMNS:
        raise ChannelKPIError(
            f"kpi={kpi!r} is not a KPI whose deals can be listed",
            fix=f"{_did_you_mean(kpi, KPI_COLUMNS)}use one of {list(KPI_COLUMNS)}",
        )
    column = KPI_COLUMNS[kpi][0] if column is None else column
    if column in _COMPOSITE:
        raise ChannelKPIError(
            f"{column} multiplies several numbers, each read from other deals",
            fix=f"open one of its inputs instead: column= {_COMPOSITE[column]}",
        )
    known = list(KPI_COLUMNS[kpi])
    if kpi == "average_deal_size" and basis == "open":
        known = list(_OPEN_BASIS)
    if kpi == "kpi_table":
        known += [f"won_amount_{ch}" for ch in ("paid", "earned", "owned", "partner", "other")]
    if kpi == "win_rate" and weight == "value":
        known += ["won_amount", "lost_amount"]
    if column not in known and not (kpi == "kpi_table" and column.startswith("won_amount_")):
        raise ChannelKPIError(
            f"column={column!r} is not a column of {kpi} whose deals can be listed",
            fix=f"{_did_you_mean(column, known)}use one of {known}",
        )
    if column.startswith("won_amount_"):
        return column, Measure("outcome", ("won",), value=True, channel=column.removeprefix("won_amount_"))
    if kpi == "deal_success" and column in _COHORT_COUNTS:
        return column, _COHORT_COUNTS[column]
    if kpi == "average_deal_size" and basis == "open":
        if column not in _OPEN_BASIS:
            raise ChannelKPIError(f"with basis='open' the table has no {column}", fix=f"use one of {list(_OPEN_BASIS)}")
        return column, _OPEN_BASIS[column]
    if kpi == "win_rate":
        if denominator == "created" and column in ("win_rate", "n"):
            return column, Measure("won_over_created")
        if weight == "value" and column == "win_rate":  # (the interval and n stay counts)
            return column, Measure("outcome", ("won", "lost"), value=True)
    return column, _COMMON[column]


# --------------------------------------------------------------------------- the cell
def _period_days(key: int, q: Query) -> tuple[int, int]:
    """First and last day number of period ``key``."""
    frame = period_frame([key], q.freq, q.fiscal_year_start)
    return day_number(frame["period_start"].iloc[0]), day_number(frame["period_end"].iloc[0])


def _norm(label: str) -> str:
    return re.sub(r"[\s_-]+", "", str(label)).upper()


def _period_key(value, q: Query) -> int:
    """The period key of the ``period`` a cell names: the label a KPI table shows
    (``"2025-Q1"``, ``"2025-03"``, ``"FY2027 Q1"``, ``"2025-W01"``) or a date in the period."""
    if isinstance(value, (pd.Timestamp, datetime.date, np.datetime64)):
        return q.key(pd.Timestamp(value))
    text = str(value).strip()
    year = re.search(r"\d{4}", text)
    labels: list[str] = []
    if year:  # the periods of the years around the one named (a fiscal year is named by its end)
        y = int(year.group())
        lo, hi = q.key(pd.Timestamp(y - 1, 1, 1)), q.key(pd.Timestamp(min(y + 1, 9998), 12, 31))
        frame = period_frame(range(lo, hi + 1), q.freq, q.fiscal_year_start)
        labels = frame["period"].tolist()
        wanted = _norm(text)
        for key, label in zip(frame["key"].tolist(), labels):
            if _norm(label) == wanted:
                return int(key)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):  # a day: its period
        return q.key(pd.Timestamp(text))
    example = period_frame([q.key(pd.Timestamp("2025-01-01"))], q.freq, q.fiscal_year_start)["period"].iloc[0]
    hint = _did_you_mean(text, labels)
    raise ChannelKPIError(
        f"period={value!r} is not a period of freq={q.freq!r}",
        fix=f"{hint}give the label the KPI table shows (e.g. {example!r}) or a date in the period",
    )


def _cell(cell, q: Query) -> tuple[dict[str, str], int | None]:
    """The cell's level values (as text) and period key (None with ``freq=None``)."""
    cell = dict(cell or {})
    keys = [*q.by, *(["period"] if q.freq is not None else [])]
    unknown = [k for k in cell if k not in keys]
    if unknown:
        what = f"the cell of by={list(q.by)}, freq={q.freq!r} has the keys {keys}"
        raise ChannelKPIError(
            f"cell= names {unknown[0]!r}, but {what}",
            fix=f"{_did_you_mean(unknown[0], keys)}"
            + (
                "with freq=None the cell is the whole range: drop 'period'" if unknown[0] == "period" else f"use {keys}"
            ),
        )
    missing = [k for k in keys if k not in cell]
    if missing:
        raise ChannelKPIError(f"cell= does not say {missing}", fix=f"give every key of the cell: {keys}")
    values = {lv: _NONE if cell[lv] is None else str(cell[lv]) for lv in q.by}
    if q.freq is None:
        return values, None
    key = _period_key(cell["period"], q)
    first = q.key(q.start) if q.start is not None else None
    last = q.key(q.end) if q.end is not None else None
    if (first is not None and key < first) or (last is not None and key > last):
        raise ChannelKPIError(
            f"period={cell['period']!r} is outside start={q.start and str(q.start.date())}, "
            f"end={q.end and str(q.end.date())}",
            fix="pick a period of the table, or widen start/end",
        )
    return values, key


def _unknown_value(level: str, value: str, present) -> ChannelKPIError:
    present = sorted({str(v) for v in present})
    return ChannelKPIError(
        f"no deal has {level}={value!r}",
        column=level,
        value=value,
        fix=f"{_did_you_mean(value, present)}use a value of the column, e.g. {present[:5]}",
    )


# --------------------------------------------------------------------------- row masks
@dataclass
class _Window:
    """The days the cell reads: its period (None: the whole range), the date range, and for
    the pipeline the days it is measured on."""

    q: Query
    period: tuple[int, int] | None
    end_day: int | None = None  # the pipeline as of (freq=None)
    start_day: int | None = None  # the day before the start (freq=None, with start=)

    def in_range(self, days, null):
        if not self.q.periods_apply:
            return np.ones(len(days), dtype=bool)
        first, last = self.q.day_range
        inside = ~null
        if first is not None:
            inside &= days >= first
        if last is not None:
            inside &= days <= last
        return inside

    def in_period(self, days, null):
        if self.period is None:
            return np.ones(len(days), dtype=bool)
        return ~null & (days >= self.period[0]) & (days <= self.period[1])


def _open_at(p: PreparedDeals, day: int, *, periods: bool) -> np.ndarray:
    """Open at the end of ``day``: on the timeline, created by then, not closed by then. With
    periods the pipeline is a running sum of created minus won and lost deals, so an open deal
    stays open whatever its close date says; the whole-range snapshot tests the close date."""
    if periods:
        return p.tl & (p.cr_days <= day) & (~p.closed | (p.cl_days > day))
    return p.tl & (p.cr_days <= day) & (p.cl_null | (p.cl_days > day))


_REASONS = ("outside_period", "no_close_date", "no_created_date", "no_amount", "closed_before_created")


def _labels(p: PreparedDeals, rows: np.ndarray, m: Measure, w: _Window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows listed (indexes into ``p``), how each counts, and which of them are excluded."""
    n = p.rows
    status = p.status
    periods = w.q.periods_apply
    counted: list[tuple[np.ndarray, np.ndarray | str]] = []  # (mask, label or labels per row)
    excluded: dict[str, np.ndarray] = {}
    none = np.zeros(n, dtype=bool)

    def outcome(statuses, value=False, cycle=False):
        chosen = np.zeros(max(len(p.status_names), len(STATUSES)), dtype=bool)
        chosen[[STATUSES.index(s) for s in statuses]] = True
        wanted = chosen[status] & rows
        base = wanted & w.in_period(p.cl_days, p.cl_null)
        cl_in = w.in_range(p.cl_days, p.cl_null)
        excluded["no_close_date"] = excluded.get("no_close_date", none) | (base & ~cl_in & p.cl_null)
        excluded["outside_period"] = excluded.get("outside_period", none) | (base & ~cl_in & ~p.cl_null)
        used = base & cl_in
        if value:
            excluded["no_amount"] = excluded.get("no_amount", none) | (used & ~p.has_amount)
            used &= p.has_amount
        if cycle:
            excluded["no_created_date"] = used & p.cr_null
            excluded["closed_before_created"] = used & p.cbc
            # without periods a closed deal without a close date counts, but has no cycle
            excluded["no_close_date"] = excluded["no_close_date"] | (used & ~p.cr_null & p.cl_null)
            used &= p.cycle_ok
        return used, lambda idx: np.asarray(STATUSES, dtype=object)[status[idx]]

    if m.family == "outcome":
        counted.append(outcome(m.statuses, m.value, m.cycle))
    if m.family in ("cohort", "won_over_created"):
        base = rows & w.in_period(p.cr_days, p.cr_null)
        cr_in = w.in_range(p.cr_days, p.cr_null)
        if m.family == "cohort":
            excluded["no_created_date"] = base & ~cr_in & p.cr_null
            excluded["outside_period"] = base & ~cr_in & ~p.cr_null
        now = np.asarray(
            ["created in the period (still open)", "created in the period (won)", "created in the period (lost)"],
            dtype=object,
        )  # (in the order of STATUSES)
        counted.append((base & cr_in, lambda idx: now[status[idx]]))
    if m.family == "won_over_created":
        won, _ = outcome(("won",))
        excluded.clear()
        counted.insert(0, (won, "won"))
    if m.family == "expected":
        opened = rows & (status == _OPEN)
        base = opened & w.in_period(p.ex_days, p.ex_null)
        if w.period is None:
            excluded["no_expected_close"] = opened & p.ex_null
        ex_in = w.in_range(p.ex_days, p.ex_null) if periods else ~p.ex_null
        excluded["outside_period"] = base & ~p.ex_null & ~ex_in
        used = base & ~p.ex_null & ex_in
        if m.value:
            excluded["no_amount"] = used & ~p.has_amount
            used &= p.has_amount
        counted.append((used, "open, expected to close in the period"))
    if m.family == "stock":
        if w.period is not None:
            end = _open_at(p, w.period[1], periods=True)
            start = _open_at(p, w.period[0] - 1, periods=True)
        else:
            end = _open_at(p, w.end_day, periods=False)
            start = end if w.start_day is None else _open_at(p, w.start_day, periods=False)
            excluded["no_created_date"] = rows & p.cr_null
            excluded["no_close_date"] = rows & p.closed & p.cl_null & ~p.cr_null
            excluded["closed_before_created"] = rows & p.cbc & ~p.cr_null
        end, start = end & rows, start & rows
        if m.stock == "end":
            counted.append((end, "open at the period end"))
        elif m.stock == "start":
            counted.append((start, "open at the period start"))
        else:
            texts = np.asarray(
                ["open at the period start", "open at the period end", "open at the period start and end"],
                dtype=object,
            )
            counted.append((end | start, lambda idx: texts[end[idx] * 1 + (end[idx] & start[idx]) * 1]))

    # the masks are over every deal (cheap array tests); the labels only for the rows listed
    listed = np.zeros(n, dtype=bool)
    for mask, _ in counted:
        listed |= mask
    reasons = [r for r in (*_REASONS, "no_expected_close") if r in excluded]
    for reason in reasons:
        listed |= excluded[reason]
    if m.channel is not None:
        codes, channels, null = p.level("channel")
        listed &= (channels == m.channel)[codes] & ~null
    idx = np.flatnonzero(listed)
    label = np.full(len(idx), None, dtype=object)
    done = np.zeros(len(idx), dtype=bool)
    for mask, text in reversed(counted):  # a deal in two measures: both labels, the first one first
        hit = mask[idx]
        words = np.asarray(text(idx) if callable(text) else np.full(len(idx), text, dtype=object), dtype=object)
        both = hit & done
        label[both] = words[both] + "; " + label[both]
        label[hit & ~done] = words[hit & ~done]
        done |= hit
    excluded_rows = ~done
    for reason in reasons:  # in the order explain() counts them: the first that applies is named
        hit = excluded[reason][idx] & ~done
        label[hit] = "excluded: " + reason.replace("_", " ")
        done |= hit
    return idx, label, excluded_rows


# --------------------------------------------------------------------------- inputs
def _without_deals(deals, values: Mapping[str, str]) -> dict[str, set[str]]:
    """The cell's level values that a partner or owner table lists: a name without deals is a
    cell of zeros in the KPI table (``with_dimension_groups``), so its deals are none, not an
    unknown name."""
    listed: dict[str, set[str]] = {}
    for table in dimensions_of(deals).values():
        for level in values:
            if level in table.columns:
                listed.setdefault(level, set()).update(str(v) for v in table[level].dropna())
    return listed


def _group_mask(p: PreparedDeals, values: Mapping[str, str], listed: Mapping[str, set[str]]) -> np.ndarray:
    mask = np.ones(p.rows, dtype=bool)
    for level, value in values.items():
        if level not in p.deals.columns:
            raise ChannelKPIError(f"by={level!r} is not a column of the deals", fix="group by one of its columns")
        codes, labels, _ = p.level(level)
        hit = np.fromiter((str(v) == value for v in labels), dtype=bool, count=len(labels))
        if not hit.any() and value not in listed.get(level, ()):
            raise _unknown_value(level, value, [*labels, *listed.get(level, ())])
        mask &= hit[codes]
    return mask


def _where_mask(p: PreparedDeals, q: Query) -> np.ndarray | None:
    if not q.where:
        return None
    mask = np.ones(p.rows, dtype=bool)
    for col, values in q.where:
        s = p.deals[col]
        if pd.api.types.is_string_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype):
            codes, labels, null = p.level(col)
            hit = np.fromiter((str(v) in set(values) for v in labels), dtype=bool, count=len(labels))
            mask &= hit[codes] & ~null
        else:
            mask &= (s.astype(str).isin(set(values)) & s.notna()).to_numpy(bool)
    return mask


def _last_day(p: PreparedDeals, sel: np.ndarray | None) -> int | None:
    """The last created or close day of the selected deals (the whole-range pipeline's day)."""
    days = []
    for d, null in ((p.cr_days, p.cr_null), (p.cl_days, p.cl_null)):
        ok = ~null if sel is None else ~null & sel
        if ok.any():
            days.append(int(d[ok].max()))
    return max(days) if days else None


def _as_canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """A collected frame with the canonical dtypes (each engine hands its own back)."""
    out = {}
    for col in frame.columns:
        s = frame[col]
        if col == "status":
            s = s.astype(str).astype(STATUS_DTYPE)
        elif col in ("created", "closed", "expected_close"):
            s = pd.to_datetime(s)
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_localize(None)
            s = s.astype(DTYPES[col])
        elif col in DTYPES:
            s = s.astype(DTYPES[col])
        out[col] = s
    return pd.DataFrame(out, index=frame.index)


def _lazy_rows(deals, q: Query, values: dict[str, str], m: Measure, w: _Window, columns, listed):
    """The group's rows of a table narwhals reads, collected alone, and the last day of the
    where-selected deals (for the whole-range pipeline)."""
    import narwhals.stable.v2 as nw

    from .lazy import lazy_native

    frame, absent, _ = lazy_native(deals, columns=columns)
    for col, value in [*values.items(), *((c, v) for c, vs in q.where for v in [vs])]:
        if col in absent:  # a constant column: it keeps every row or none
            constant = ABSENT_VALUES[col]
            text = _NONE if constant is None else constant
            keep = text == value if col in values else (constant is not None and constant in value)
            if not keep:
                return pd.DataFrame(columns=list(DTYPES)), None
    for col, wanted in q.where:
        if col not in absent:
            frame = frame.filter(nw.col(col).cast(nw.String).is_in(list(wanted)))
    last = None
    if m.family == "stock" and w.period is None and q.end is None:
        out = frame.select(nw.col("created").max().alias("cr"), nw.col("closed").max().alias("cl"))
        got = _collect(out).iloc[0]
        days = [day_number(pd.Timestamp(v)) for v in (got["cr"], got["cl"]) if pd.notna(v)]
        last = max(days) if days else None
    group = frame
    for level, value in values.items():
        if level in absent:
            continue
        text = nw.when(nw.col(level).is_null()).then(nw.lit(_NONE)).otherwise(nw.col(level).cast(nw.String))
        group = group.filter(text == value)
    rows = group.filter(_date_filter(nw, m, w)) if w.period is not None else group
    collected = _collect(rows)
    if not len(collected):
        for level, value in values.items():
            if level in absent:
                continue
            present = _collect(frame.select(nw.col(level)).unique())[level]
            present = [_NONE if pd.isna(v) else str(v) for v in present]
            if value not in present and value not in listed.get(level, ()):
                raise _unknown_value(level, value, [*present, *listed.get(level, ())])
    return _as_canonical(collected), last


def _collect(lf) -> pd.DataFrame:
    if lf.implementation.is_pyspark():
        return lf.collect(backend="pyarrow").to_native().to_pandas()
    return lf.collect(backend="pandas").to_native()


def _date_filter(nw, m: Measure, w: _Window):
    """A superset of the rows of the cell's period (the exact test runs on the collected rows)."""

    def day(d: int):
        return nw.lit(datetime.datetime.combine(EPOCH + datetime.timedelta(days=d), datetime.time()))

    first, last = w.period
    after = day(last + 1)

    def within(col):
        return (nw.col(col) >= day(first)) & (nw.col(col) < after)

    if m.family == "outcome":
        return within("closed")
    if m.family == "cohort":
        return within("created")
    if m.family == "won_over_created":
        return within("closed") | within("created")
    if m.family == "expected":
        return within("expected_close")
    # open at the period end or at its start: created by its end, not closed before its start
    return (nw.col("created") < after) & (
        (nw.col("status").cast(nw.String) == "open") | nw.col("closed").is_null() | (nw.col("closed") >= day(first))
    )


def _pandas_rows(deals: pd.DataFrame, q: Query, values: dict[str, str], m: Measure, w: _Window, columns, listed):
    table = canonical_pandas(deals, columns)
    mask = pd.Series(True, index=table.index)
    for col, wanted in q.where:
        s = table[col]
        mask &= s.astype(str).isin(set(wanted)) & s.notna()
    last = None
    if m.family == "stock" and w.period is None and q.end is None:
        chosen = table.loc[mask, ["created", "closed"]]
        days = [day_number(v) for v in chosen.max() if pd.notna(v)]
        last = max(days) if days else None
    for level, value in values.items():
        if level not in table.columns:
            raise ChannelKPIError(f"by={level!r} is not a column of the deals", fix="group by one of its columns")
        s = table[level]
        text = s.astype(object).where(s.notna(), _NONE).astype(str)
        hit = text == value
        if not hit.any() and value not in listed.get(level, ()):
            raise _unknown_value(level, value, [*text.unique(), *listed.get(level, ())])
        mask &= hit
    return table[mask.to_numpy(bool)], last


def _order(
    deals: pd.DataFrame, idx: np.ndarray, labels: np.ndarray, excluded: np.ndarray, *, sort, ascending
) -> np.ndarray:
    """Positions into ``idx``: grouped by how the rows count (:func:`kind_rank`; kinds of one
    rank in the order their largest deal comes), each group by amount (largest first, missing
    last) and ``deal_id``; or by ``sort`` (missing last), ties by ``deal_id``."""
    ids = _text_order(deals["deal_id"].take(idx))
    if sort is None:
        amount = deals["amount"].to_numpy(float)[idx]
        by_amount = np.lexsort((ids, -np.nan_to_num(amount, nan=-np.inf)))
        kinds, kind_of = np.unique(labels.astype(str), return_inverse=True)
        first = np.full(len(kinds), len(idx))
        np.minimum.at(first, kind_of[by_amount], np.arange(len(idx)))
        key = np.array([kind_rank(k) for k in kinds], dtype=np.int64) * (len(idx) + 1) + first
        return by_amount[np.argsort(key[kind_of[by_amount]], kind="stable")]
    if sort == "counts_as":
        values = pd.Series(labels, dtype=object)
    elif sort in deals.columns:
        values = deals[sort].iloc[idx].reset_index(drop=True)
    else:
        raise ChannelKPIError(
            f"sort={sort!r} is not a column of the deals",
            fix=f"{_did_you_mean(sort, [*deals.columns, 'counts_as'])}sort by one of {[*deals.columns, 'counts_as']}",
        )
    missing = values.isna().to_numpy(bool)
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        ranks = pd.Series(values).rank(method="dense").fillna(0).to_numpy(float)
    else:  # text: case-insensitive
        ranks = values.astype(object).where(~missing, "").map(lambda v: str(v).casefold())
        ranks = pd.Series(ranks).rank(method="dense").to_numpy(float)
    if not ascending:
        ranks = -ranks
    return np.lexsort((ids, ranks, missing))


def kind_rank(kind: str) -> int:
    """Where rows that count as ``kind`` go in the default order: what the number counts (won,
    or a rate's numerator) first, the other counted rows next, the excluded ones last.

    >>> [kind_rank(k) for k in ("won", "lost", "created in the period (won)", "excluded: no amount")]
    [0, 1, 0, 2]
    """
    text = str(kind)
    if text.startswith("excluded"):
        return 2
    return 0 if text == "won" or text.endswith("(won)") else 1


def _text_order(values: pd.Series) -> np.ndarray:
    """Each value's rank in text order (code-point order, as Python compares strings; missing
    last): Arrow ranks tens of thousands of strings several times faster than a sort of Python
    strings."""
    return pc.rank(pa.array(values, type=pa.large_string()), sort_keys="ascending", tiebreaker="dense").to_numpy()


# --------------------------------------------------------------------------- the function
def deals_behind(
    deals,
    kpi: str,
    *,
    column: str | None = None,
    cell: Mapping[str, object] | None = None,
    by: By = KPI_DEFAULT,
    freq: Freq = None,
    start: DateLike = None,
    end: DateLike = None,
    fiscal_year_start: int = 1,
    where: Where = None,
    basis: Basis = "won",
    weight: Weight = "count",
    denominator: Denominator = "closed",
    as_of: DateLike = None,
    weights: Mapping[str, float] | None = None,
    columns: Mapping[str, str] | None = None,
    engine: Engine = "auto",
    limit: int | None = None,
    sort: str | None = None,
    ascending: bool = True,
) -> pd.DataFrame:
    """The deal rows behind one cell of a KPI table, and how each one counts.

    Give the options the KPI function was called with, and the cell: its value of every
    ``by`` level and its ``period``. The counted rows reproduce the cell: their number is the
    count, their amounts (in cents, rounded half up) sum to the amount, the mean or median of
    their amounts or cycle lengths is the cell's. For a number that is not a plain sum or count
    the rows are those of its raw parts:

    * a rate (``win_rate``, its interval, ``success_rate``, ``pending_share``): the numerator
      is the rows counted as ``won`` (or ``... (won)``, ``... (still open)``), the denominator
      all counted rows;
    * ``quality_score``, ``rank``, ``win_rate_shrunk``, ``pct_*``: the group's won and lost
      deals, from which its won count, won amount, close rate and deal size are computed (the
      score then ranks those among the period's peers and shrinks the rate toward theirs);
    * ``change_count``, ``change_amount``: open at the period end minus open at its start;
    * ``won_share``: the numerator (the group's won amount);
    * ``win_rate`` with ``denominator="created"``: ``won`` deals over deals
      ``created in the period``; a deal that is both says both, separated by ``"; "``.

    ``sales_velocity`` multiplies four numbers read from different deals: open its inputs.

    Parameters
    ----------
    deals : LoadResult, pandas.DataFrame, PreparedDeals or a table narwhals reads
        The deals the KPI was computed from. From a polars, DuckDB or Spark table only the
        group's rows (and, with periods, those whose date is near the period) are collected.
        A load result (or deals prepared from one) also knows its partner and owner tables: a
        name they list without deals is a cell of no deals, not an unknown name. Grouped or
        filtered by ``product`` (a line column), a load result with line items (or deals
        prepared from one) lists each deal containing the product once, with ``amount`` the
        product's line amount and ``deal_amount`` the deal's.
    kpi : str
        The KPI function's name: ``"average_deal_size"``, ``"deal_count"``, ``"pipeline"``,
        ``"channel_performance"``, ``"win_rate"``, ``"deal_velocity"``, ``"quality_score"``,
        ``"deal_success"`` or ``"kpi_table"``.
    column : str, optional
        The column of the KPI's table the cell is in (default: the KPI's headline number; see
        :data:`KPI_COLUMNS`). For ``"kpi_table"``, also ``won_amount_<channel>``.
    cell : dict, optional
        ``{level: value, ..., "period": label}``: every ``by`` level and, with periods, the
        period as the table shows it (``"2025-Q1"``, ``"2025-03"``, ``"FY2027 Q1"``,
        ``"2025-W01"``) or a date in it (e.g. the row's ``period_start``). A missing level
        value is ``"(none)"`` (or None). With ``by=None`` and ``freq=None`` the cell is the
        whole range and may be left out.
    by, freq, start, end, fiscal_year_start, where, columns, engine
        As for the KPI function (``by`` may be any column the KPI functions group by; by
        default the KPI's own: ``"partner"`` for ``quality_score``, ``"channel"`` for
        ``channel_performance``, else None).
    basis, weight, denominator, as_of, weights
        The KPI's own options (:func:`channelkpi.average_deal_size`,
        :func:`channelkpi.win_rate`, :func:`channelkpi.pipeline`,
        :func:`channelkpi.quality_score`); ``weights`` does not change which deals count.
    limit : int, optional
        Return only the first ``limit`` rows (in the order below); the rows of the whole cell
        are still counted (``attrs["channelkpi"]["rows"]`` and ``["counts"]``), but only the
        rows returned are built, so a page showing a few hundred rows of a cell of 50,000
        deals does not copy them all.
    sort : str, optional
        Order the rows by this column of the result instead (missing values last, ties by
        ``deal_id``): with ``limit``, the first rows of that order.
    ascending : bool, default True
        With ``sort``: smallest (or earliest, or A) first.

    Returns
    -------
    pandas.DataFrame
        The rows of the deals table (every column it has) with ``counts_as``; the counted rows
        first, then the excluded ones, each by amount (largest first, missing last) and
        ``deal_id``. ``attrs["channelkpi"]`` names the KPI, column and cell, and holds ``rows``
        (how many rows the cell lists, with or without ``limit``) and ``counts`` (how many
        rows of each ``counts_as``, in the order above).

    Raises
    ------
    ChannelKPIError
        For a KPI, column, cell key, level value or period that is not in the table (with
        the nearest names), and for the KPI options' invalid values.

    Examples
    --------
    >>> import channelkpi as ck
    >>> from channelkpi.datasets import toy_deals
    >>> ck.win_rate(toy_deals(), by="partner", freq="Q")[["partner", "period", "won_count", "lost_count"]]
      partner   period  won_count  lost_count
    0    Acme  2024-Q1          2           1
    1    Acme  2024-Q2          0           0
    2   Birch  2024-Q1          0           0
    3   Birch  2024-Q2          1           1
    >>> rows = ck.deals_behind(
    ...     toy_deals(), "win_rate", by="partner", freq="Q", cell={"partner": "Birch", "period": "2024-Q2"}
    ... )
    >>> rows[["deal_id", "partner", "amount", "closed", "counts_as"]]
      deal_id partner  amount     closed counts_as
    0      d4   Birch   350.0 2024-05-10       won
    1      d5   Birch    50.0 2024-04-15      lost
    >>> ck.deals_behind(toy_deals(), "pipeline", end="2024-04-30")[["deal_id", "counts_as"]]
      deal_id               counts_as
    0      d6  open at the period end
    1      d4  open at the period end
    """
    check_engine(engine)
    for name, val, allowed in (
        ("basis", basis, ("won", "open")),
        ("weight", weight, ("count", "value")),
        ("denominator", denominator, ("closed", "created")),
    ):
        if val not in allowed:
            raise ChannelKPIError(f"{name}={val!r}", fix=f"use one of {list(allowed)}")
    if as_of is not None and kpi not in ("pipeline", "kpi_table"):
        raise ChannelKPIError(f"as_of= is an option of pipeline, not of {kpi}", fix="drop as_of=")
    if as_of is not None:  # as the pipeline reads it
        end = as_of if freq is None or end is None else min(pd.Timestamp(end), pd.Timestamp(as_of))
    column, m = measure_of(kpi, column, basis=basis, weight=weight, denominator=denominator)
    if by is KPI_DEFAULT:  # the KPI's own default: partner for the quality score, channel for channels
        from . import kpis

        by = inspect.signature(getattr(kpis, kpi)).parameters["by"].default
    history = deals if isinstance(deals, History) else None
    if history is not None:
        # as the KPI read it: open-at-end measures from the deals as recorded at each end, the
        # others from the deals now; periods up to the history's last change
        end = last_change(history) if end is None else end
        deals = open_states(history) if m.family in ("stock", "expected") else history.state(history.as_of)
    q = make_query(by=by, freq=freq, start=start, end=end, fiscal_year_start=fiscal_year_start, where=where)
    values, key = _cell(cell, q)
    w = _Window(q, None if key is None else _period_days(key, q))
    listed = _without_deals(deals, values)
    if history is not None:  # a group the KPI shows from the deals now, with no open state: no rows
        for level in values:
            for table in (history.deals, history.intervals):
                if level in table:
                    listed.setdefault(level, set()).update(table[level].dropna().astype(str))
    # by product (a line column) on a load result with line items: the deal x line table the KPI
    # read, so a deal is listed under each product it contains, with that product's line amount
    deals = deals.for_query(q) if isinstance(deals, PreparedDeals) else deals_of(deals, q)

    if isinstance(deals, PreparedDeals):
        if columns:
            raise ChannelKPIError(
                "columns= does not apply to prepared deals (they have the canonical names)",
                fix="pass columns= to channelkpi.prepare instead",
            )
        p = deals
        sel = _where_mask(p, q)
        rows = _group_mask(p, values, listed)
        if sel is not None:
            rows &= sel
        last = _last_day(p, sel) if m.family == "stock" and w.period is None and q.end is None else None
    else:
        if isinstance(deals, pd.DataFrame):
            table, last = _pandas_rows(deals, q, values, m, w, columns, listed)
        else:
            table, last = _lazy_rows(deals, q, values, m, w, columns, listed)
        p = PreparedDeals(table.reset_index(drop=True))
        rows = np.ones(p.rows, dtype=bool)
    if m.family == "stock" and w.period is None:
        if q.end is not None:
            w.end_day = day_number(q.end)
        else:
            w.end_day = last if last is not None else day_number(pd.Timestamp.today())
        if q.start is not None:
            w.start_day = day_number(q.start) - 1
    idx, labels, excluded = _labels(p, rows, m, w)
    # the order and the counts come from a few columns of the listed rows; the frame is built
    # only for the rows returned (a whole-table cell lists tens of thousands)
    order = _order(p.deals, idx, labels, excluded, sort=sort, ascending=ascending)
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
            raise ChannelKPIError(f"limit={limit!r}", fix="give a number of rows (0 or more), or None for all")
        order = order[:limit]
    out = p.deals.take(idx[order]).reset_index(drop=True)
    if history is not None and m.family in ("stock", "expected"):
        out = _as_recorded(out, history)
    out["counts_as"] = pd.array(labels[order], dtype=DTYPES["deal_id"])
    kinds, first, counts = np.unique(labels.astype(str), return_index=True, return_counts=True)
    shown = sorted(zip(first, kinds, counts), key=lambda t: (kind_rank(t[1]), t[0]))
    out.attrs["channelkpi"] = {
        "rows": len(idx),
        "counts": {str(kind): int(count) for _, kind, count in shown},
        "kpi": kpi,
        "column": column,
        "cell": {
            **values,
            **(
                {"period": period_frame([key], q.freq, q.fiscal_year_start)["period"].iloc[0]}
                if key is not None
                else {}
            ),
        },
        "measure": m.family,
    }
    return out
