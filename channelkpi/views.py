"""The views a dashboard or a report shows: the KPI tables, their charts and the KPI tiles.

Everything here is pure and widget-free, so the interactive :class:`channelkpi.widgets.Dashboard`
and the static :func:`channelkpi.report` show the same numbers from the same code. A view is
described by a level, a period grain, a month-aligned date range and a deal filter;
:func:`view_tables` computes every table for it and :func:`view_charts` draws them.

Where the pictures must not mislead, the rule lives here: the range a view shows by default
ends with the last period the data covers completely (:func:`default_range`); a period the data
covers only in part is marked (:func:`mark_partial`) and drawn hollow; a previous period is
compared over the same number of days (:func:`equal_span_previous`); quality scores are among
the same peers wherever they appear (:func:`ranked_peers`); each chart carries what it shows
(:func:`selection_text`) and each tile what its n counts and what it means.

Examples
--------
>>> from channelkpi.datasets import make_sample_deals
>>> deals = make_sample_deals()
>>> tables = view_tables(deals, level="partner", freq="Q", start="2025-01-01", end="2025-12-31")
>>> sorted(tables["kpis"]["period"].unique())
['2025-Q1', '2025-Q2', '2025-Q3', '2025-Q4']
>>> sorted(view_charts(tables, level="partner"))[:3]
['channel_mix', 'channel_win_rates', 'cohorts']
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field

import altair as alt
import numpy as np
import pandas as pd

from . import charts
from .errors import ChannelKPIError
from .formats import DIRECT_LABEL, column_kind, display_name, excel_format, format_value, is_missing
from .metrics.definitions import DEFINITIONS
from .metrics.kpis import (
    channel_performance,
    cycle_distribution,
    deal_success,
    kpi_table,
    pipeline,
    pipeline_waterfall,
    quality_score,
    seasonality,
    win_rate,
)
from .metrics.periods import date_key, period_frame
from .metrics.prepared import PreparedDeals, prepare
from .safety import html_text
from .schema import DIRECT_PARTNER

__all__ = [
    "TILES",
    "TILE_COUNTS",
    "TILE_DEFINITIONS",
    "BETTER",
    "CHART_TITLES",
    "CHART_TABLES",
    "TABLE_INPUTS",
    "TILE_TABLES",
    "view_filter",
    "ranked_peers",
    "selection_text",
    "display_name",
    "DIRECT_LABEL",
    "view_tables",
    "view_charts",
    "tile_values",
    "tiles_html",
    "column_kind",
    "excel_format",
    "ledger_html",
    "format_value",
    "month_range",
    "data_coverage",
    "default_range",
    "default_months",
    "mark_partial",
    "equal_span_previous",
    "tile_definition",
    "previous_span",
    "table_key",
    "CSS",
]

#: The eight tiles: (title, column of the KPI table, kind, column giving n).
TILES = (
    ("Average deal size", "avg_deal_size", "money", "won_count"),
    ("Deals won", "won_count", "count", "closed_count"),
    ("Open pipeline", "open_amount", "money", "open_count"),
    ("Partner-sourced wins", "partner_share", "rate", "won_count"),
    ("Win rate", "win_rate", "rate", "n"),
    ("Median cycle (won)", "cycle_days_median", "days", "won_count"),
    ("Best quality score", "best_quality", "score", "groups"),
    ("Deal success", "success_rate", "rate", "created_count"),
)
#: What each tile's n counts, in words ("groups": the level's plural, e.g. "partners ranked").
TILE_COUNTS = {
    "avg_deal_size": "won deals",
    "won_count": "closed deals (won or lost)",
    "open_amount": "open deals",
    "partner_share": "won deals",
    "win_rate": "closed deals",
    "cycle_days_median": "won deals",
    "best_quality": "{groups} ranked",
    "success_rate": "deals created",
}
#: Which way is better for each tile's KPI: +1 more is better, -1 less is better (a shorter cycle).
BETTER = {
    "avg_deal_size": 1,
    "won_count": 1,
    "won_amount": 1,
    "lost_count": -1,
    "lost_amount": -1,
    "open_amount": 1,
    "partner_share": 1,
    "win_rate": 1,
    "cycle_days_median": -1,
    "cycle_days_mean": -1,
    "best_quality": 1,
    "quality_score": 1,
    "success_rate": 1,
}
#: The KPI definition behind each tile (:data:`channelkpi.metrics.definitions.DEFINITIONS`).
TILE_DEFINITIONS = {
    "avg_deal_size": "average_deal_size",
    "won_count": "deal_count",
    "open_amount": "pipeline",
    "partner_share": "channel_performance",
    "win_rate": "win_rate",
    "cycle_days_median": "deal_velocity",
    "best_quality": "quality_score",
    "success_rate": "deal_success",
}
_TILE_NOTES = {
    "partner_share": "This tile: the partner channel's share of the won amount in the range.",
    "best_quality": "This tile: the best score in the range and who has it.",
    "open_amount": "This tile: the pipeline at the end of the range.",
}

#: The levels a view can group by, with the names people use for them.
LEVEL_TITLES = {"partner": "Partner", "owner": "Employee", "department": "Department", "unit": "Unit"}
_LEVEL_PLURALS = {
    "partner": "partners",
    "owner": "employees",
    "department": "departments",
    "unit": "units",
    "channel": "channels",
    "source": "sources",
    "stage": "stages",
}
#: Period sizes as a selection line says them.
FREQ_TITLES = {"M": "monthly", "Q": "quarterly", "Y": "yearly", "W": "weekly"}

#: What each chart of :func:`view_charts` shows, for headings and file names.
CHART_TITLES = {
    "trend": "Won amount over time",
    "ranking": "Ranking by quality score",
    "pipeline_stage": "Open pipeline by stage",
    "waterfall": "Pipeline waterfall",
    "channel_mix": "Marketing channel mix",
    "channel_win_rates": "Win rate by channel",
    "seasonality": "Close-rate seasonality by unit",
    "seasonality_bands": "Win rate by month of year",
    "cycles": "Cycle length, won vs lost",
    "cohorts": "Deal success by creation cohort",
}

#: Styles of the tiles and tables (inline: nothing is fetched from a network).
CSS = """
<style>
.ck-tiles {display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 10px; margin: 6px 0 12px;}
@media (max-width: 760px) {.ck-tiles {grid-template-columns: repeat(2, minmax(0, 1fr));}}
@media (max-width: 420px) {.ck-tiles {grid-template-columns: minmax(0, 1fr);}}
.ck-tile {border: 1px solid #dde3ea; border-radius: 8px; padding: 10px 12px; background: #fbfcfd;}
.ck-tile .ck-label {font-size: 12px; color: #56606b; text-transform: uppercase; letter-spacing: .03em;}
.ck-tile .ck-value {font-size: 24px; font-weight: 600; color: #1b2733; margin: 2px 0;}
.ck-tile .ck-change {font-size: 12px; color: #56606b;}
.ck-tile details {font-size: 12px; color: #3d4752; margin-top: 4px;}
.ck-tile summary {cursor: pointer; color: #0b5cad;}
.ck-tile summary:focus-visible {outline: 2px solid #0b5cad; outline-offset: 2px;}
.ck-tile details p {margin: 4px 0 0;}
.ck-up {color: #007a5a;} .ck-down {color: #b4481d;}
.ck-good {color: #007a5a; font-weight: 600;} .ck-bad {color: #b4481d; font-weight: 600;}
.ck-message {padding: 8px 12px; border-radius: 6px; background: #fff4e5; color: #6b3d00; border: 1px solid #f5c98b;}
.ck-note {color: #56606b; font-size: 12px;}
.ck-table {border-collapse: collapse; font-size: 12px;} .ck-table td, .ck-table th {padding: 3px 8px; border-bottom: 1px solid #e6e9ee; text-align: left;}
.ck-table td.ck-num {text-align: right; font-variant-numeric: tabular-nums;}
</style>
"""


# --------------------------------------------------------------------------- dates
def data_coverage(deals: pd.DataFrame | PreparedDeals) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The days the data covers: from the first day of the first month with a created or close
    date to the last created or close date (an export's last event stands for its date). None
    when no deal has a date.

    >>> from channelkpi.datasets import make_sample_deals
    >>> [str(d.date()) for d in data_coverage(make_sample_deals())]
    ['2023-01-01', '2026-01-05']
    """
    if isinstance(deals, PreparedDeals):
        first, last = deals.date_span()
    else:
        dates = pd.concat([deals["created"], deals["closed"]]).dropna()
        first, last = (dates.min(), dates.max()) if len(dates) else (None, None)
    if first is None:
        return None
    return pd.Timestamp(first).to_period("M").to_timestamp(), pd.Timestamp(last).normalize()


def month_range(deals: pd.DataFrame | PreparedDeals) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First day of the first month and last day of the last month with a created or close date."""
    covered = data_coverage(deals)
    if covered is None:
        today = pd.Timestamp.today().normalize()
        covered = (today.to_period("M").to_timestamp(), today)
    first, last = covered
    return first, (last + pd.offsets.MonthEnd(0)).normalize()


def _period_bounds(day: pd.Timestamp, freq: str, fiscal_year_start: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    row = period_frame([date_key(day, freq, fiscal_year_start)], freq, fiscal_year_start).iloc[0]
    return pd.Timestamp(row["period_start"]), pd.Timestamp(row["period_end"])


def default_range(
    deals: pd.DataFrame | PreparedDeals, *, freq: str | None = "Q", fiscal_year_start: int = 1
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The date range a view shows unless told otherwise: from the first month with a date to
    the end of the last period (of ``freq``) the data covers completely, so that no chart ends
    with a period that has only begun. Data shorter than one whole period: all of it.

    >>> from channelkpi.datasets import make_sample_deals
    >>> deals = make_sample_deals()  # its last date is 5 Jan 2026
    >>> [str(d.date()) for d in default_range(deals, freq="Q")]
    ['2023-01-01', '2025-12-31']
    >>> [str(d.date()) for d in default_range(deals, freq="Y", fiscal_year_start=4)]
    ['2023-01-01', '2025-03-31']
    """
    first, month_end = month_range(deals)
    covered = data_coverage(deals)
    if covered is None:
        return first, month_end
    last = covered[1]
    grain = freq if freq in ("M", "Q", "Y", "W") else "M"
    start, end = _period_bounds(last, grain, fiscal_year_start)
    complete = end if end <= last else start - pd.Timedelta(days=1)
    return (first, complete) if complete >= first else (first, month_end)


def default_months(
    deals: pd.DataFrame | PreparedDeals, *, freq: str | None = "Q", fiscal_year_start: int = 1
) -> tuple[int, int]:
    """:func:`default_range` as positions in the months of :func:`month_range` (a month slider's
    initial handles).

    >>> from channelkpi.datasets import make_sample_deals
    >>> default_months(make_sample_deals())  # Jan 2023 ... Dec 2025 of Jan 2023 ... Jan 2026
    (0, 35)
    """
    first, _ = month_range(deals)
    start, end = default_range(deals, freq=freq, fiscal_year_start=fiscal_year_start)

    def months(day: pd.Timestamp) -> int:
        return (day.year - first.year) * 12 + day.month - first.month

    return months(start), months(end)


def _day(day: pd.Timestamp) -> str:
    return f"{day.day} {day:%b}"


def mark_partial(table: pd.DataFrame, *, coverage, start=None, end=None) -> pd.DataFrame:
    """A period table with ``period_label`` and ``partial`` after ``period_end``: a period the data
    (or the date range) covers only in part is ``partial``, and its label says which part, e.g.
    ``"2026-Q1 (to 5 Jan)"``.

    ``coverage`` is :func:`data_coverage`; ``start``/``end`` the view's date range.

    >>> t = pd.DataFrame({"period": ["2025-Q4", "2026-Q1"],
    ...                   "period_start": pd.to_datetime(["2025-10-01", "2026-01-01"]),
    ...                   "period_end": pd.to_datetime(["2025-12-31", "2026-03-31"])})
    >>> cov = (pd.Timestamp("2023-01-01"), pd.Timestamp("2026-01-05"))
    >>> mark_partial(t, coverage=cov)[["period_label", "partial"]].to_dict("list")
    {'period_label': ['2025-Q4', '2026-Q1 (to 5 Jan)'], 'partial': [False, True]}
    """
    if "period_start" not in table or "period_end" not in table:
        return table
    out = table.drop(columns=[c for c in ("period_label", "partial") if c in table]).copy()
    lows = [pd.Timestamp(x) for x in (coverage[0] if coverage else None, start) if x is not None]
    highs = [pd.Timestamp(x) for x in (coverage[1] if coverage else None, end) if x is not None]
    lo = max(lows) if lows else pd.Timestamp.min
    hi = min(highs) if highs else pd.Timestamp.max
    starts = pd.to_datetime(out["period_start"])
    ends = pd.to_datetime(out["period_end"])
    labels, partial = [], []
    for period, ps, pe in zip(out["period"].astype(str), starts, ends, strict=True):
        first, last = max(ps, lo), min(pe, hi)
        if first > last:
            labels.append(f"{period} (no data)")
        elif first > ps and last < pe:
            labels.append(f"{period} ({_day(first)} to {_day(last)})")
        elif last < pe:
            labels.append(f"{period} (to {_day(last)})")
        elif first > ps:
            labels.append(f"{period} (from {_day(first)})")
        else:
            labels.append(period)
        partial.append(first > ps or last < pe)
    at = list(out.columns).index("period_end") + 1
    out.insert(at, "period_label", labels)
    out.insert(at + 1, "partial", partial)
    return out


def _covered_span(row, lo: pd.Timestamp, hi: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    return max(pd.Timestamp(row["period_start"]), lo), min(pd.Timestamp(row["period_end"]), hi)


def _months_back(day: pd.Timestamp, months: int) -> pd.Timestamp:
    back = day - pd.DateOffset(months=months)
    # the last day of a month maps to the last day of the earlier month (31 Mar -> 31 Dec)
    return (back + pd.offsets.MonthEnd(0)).normalize() if (day + pd.Timedelta(days=1)).day == 1 else back


def equal_span_previous(
    trend: pd.DataFrame, deals, *, freq: str, lo, hi, first, where=None, fiscal_year_start: int = 1
) -> pd.DataFrame:
    """A ``compare="previous"`` table whose ``_prev``/``_change`` columns compare equal spans only.

    A period the data covers only in part (``[lo, hi]``: the range the data covers) is compared
    with the same days of the period before (1-5 Jan with 1-5 Oct), computed anew; a previous
    period that reaches back before the data begins (``first``) is missing, not zero.
    """
    out = trend.copy()
    measures = [c[: -len("_prev")] for c in out.columns if c.endswith("_prev") and c[: -len("_prev")] in out]
    if not measures or not len(out):
        return out
    lo, hi, first = pd.Timestamp(lo), pd.Timestamp(hi), pd.Timestamp(first)
    months = {"M": 1, "Q": 3, "Y": 12}.get(freq)
    for i, row in out.iterrows():
        ps, pe = pd.Timestamp(row["period_start"]), pd.Timestamp(row["period_end"])
        cf, ct = _covered_span(row, lo, hi)
        whole = cf == ps and ct == pe
        if months is not None:
            prev_from, prev_to = _months_back(cf, months), _months_back(ct, months)
        else:  # weeks
            prev_from, prev_to = cf - pd.Timedelta(days=7), ct - pd.Timedelta(days=7)
        if cf > ct or prev_from < first:
            values = dict.fromkeys(measures, np.nan)
        elif whole:
            continue  # the table's own previous period: the same span
        else:
            row_before = kpi_table(
                deals, start=prev_from, end=prev_to, where=where or None, fiscal_year_start=fiscal_year_start
            )
            values = {m: (row_before[m].iloc[0] if m in row_before and len(row_before) else np.nan) for m in measures}
        for m in measures:
            prev = values[m]
            out.at[i, f"{m}_prev"] = prev
            if f"{m}_change" in out:
                out.at[i, f"{m}_change"] = (float(row[m]) - float(prev)) if not is_missing(prev) else np.nan
    return out


def previous_span(start, end) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The span of the same length just before ``[start, end]``: whole months for whole months.

    >>> [str(d.date()) for d in previous_span(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"))]
    ['2023-01-01', '2023-12-31']
    >>> [str(d.date()) for d in previous_span(pd.Timestamp("2025-03-01"), pd.Timestamp("2025-04-30"))]
    ['2025-01-01', '2025-02-28']
    >>> [str(d.date()) for d in previous_span(pd.Timestamp("2025-03-10"), pd.Timestamp("2025-03-19"))]
    ['2025-02-28', '2025-03-09']
    """
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if start.day == 1 and (end + pd.Timedelta(days=1)).day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        return start - pd.DateOffset(months=months), start - pd.Timedelta(days=1)
    prev_end = start - pd.Timedelta(days=1)
    return (prev_end - (end - start)).normalize(), prev_end


# --------------------------------------------------------------------------- selection
def view_filter(
    where: Mapping[str, Sequence[str]] | None, level: str, selected: Sequence[str] = ()
) -> dict[str, list[str]]:
    """The deal filter of a view: ``where`` narrowed to the ``selected`` values of ``level``.

    >>> view_filter({"partner": ["A", "B"]}, "partner", ["B", "C"])
    {'partner': ['B']}
    """
    out = {k: list(v) for k, v in (where or {}).items() if v}
    if selected:
        chosen = set(map(str, selected))
        if level in out:
            chosen &= set(out[level])
        out[level] = sorted(chosen) or ["\x00none"]  # nothing left: an empty view, not everything
    return out


def ranked_peers(
    deals, where: Mapping[str, Sequence[str]] | None, level: str
) -> tuple[dict[str, list[str]], list[str] | None]:
    """The deals a ranking scores, and the partners it shows (None: every group).

    A group is scored among its peers, everyone at the level within the other filters (the
    contract's "percentile ranks among the period's peers"): picking two partners does not rank
    them among each other. Deals without a partner (``"(direct)"``) are not a partner: a partner
    ranking leaves them out, so they neither take a rank nor shift the partners' percentiles.

    >>> import channelkpi as ck
    >>> deals = ck.validate_deals(pd.DataFrame({"deal_id": ["a", "b", "c"], "status": ["won"] * 3,
    ...                                         "partner": ["Acme", None, "Zenith"]}))
    >>> ranked_peers(deals, {"partner": ["Acme"], "channel": ["paid"]}, "partner")
    ({'channel': ['paid'], 'partner': ['Acme', 'Zenith']}, ['Acme'])
    """
    peers = view_filter(where, level)
    shown = peers.pop("partner") if level == "partner" and "partner" in peers else None
    if level == "partner":
        if isinstance(deals, PreparedDeals):
            names = deals.level("partner")[1]
        else:
            names = deals["partner"].dropna().unique()
        peers["partner"] = sorted({str(p) for p in names} - {DIRECT_PARTNER})
    return peers, shown


def _names(values: Sequence[str], limit: int = 3) -> str:
    names = [display_name(v) for v in values]
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def _span_text(start: pd.Timestamp, end: pd.Timestamp) -> str:
    whole_months = start.day == 1 and (end + pd.Timedelta(days=1)).day == 1
    if whole_months:
        first, last = f"{start:%b %Y}", f"{end:%b %Y}"
        return first if first == last else f"{first} – {last}"
    return f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}"


def selection_text(view: View, *, start=None, end=None) -> str:
    """What a view shows, in one line for a chart subtitle, a file's header row or a page.

    Partners (or the level's values) chosen, other filters, the level and period size, and the
    date range (``start``/``end`` override the view's, e.g. the range the data covers when the
    view has none).

    >>> v = View(level="partner", freq="Q", start="2025-01-01", end="2025-12-31",
    ...          where={"partner": ["Brightline IT"], "channel": ["partner", "paid"]})
    >>> selection_text(v)
    'Brightline IT · channels: paid, partner · by partner, quarterly · Jan 2025 – Dec 2025'
    >>> selection_text(View(level="unit", freq="M", selected=["EMEA"]), start="2024-01-01", end="2024-06-30")
    'All partners · units: EMEA · by unit, monthly · Jan 2024 – Jun 2024'
    """
    filt = view.filter
    parts = []
    for col in ("partner", *(c for c in filt if c != "partner")):
        values = [v for v in filt.get(col, []) if v != "\x00none"]
        if col == "partner":
            parts.append(_names(values) if values else "All partners")
        elif values:
            parts.append(f"{_LEVEL_PLURALS.get(col, col + ' values')}: {_names(sorted(values))}")
        elif col in filt:
            parts.append(f"{_LEVEL_PLURALS.get(col, col + ' values')}: none")
    parts.append(f"by {LEVEL_TITLES.get(view.level, view.level).lower()}, {FREQ_TITLES.get(view.freq, view.freq)}")
    s = start if start is not None else view.start
    e = end if end is not None else view.end
    if s is not None and e is not None:
        parts.append(_span_text(pd.Timestamp(s), pd.Timestamp(e)))
    return " · ".join(parts)


@dataclass(frozen=True)
class View:
    """What a dashboard or a report shows: one level, period grain, date range and deal filter.

    Parameters
    ----------
    level : str
        The level the KPI table and the ranking are grouped by.
    freq : str
        The periods of the KPI table and the trends (``"M"``, ``"Q"``, ``"Y"``).
    start, end : date-like, optional
        The date range (default: :func:`default_range`, from the first month with a date to the
        end of the last period the data covers completely).
    where : dict, optional
        Keep only these deals, e.g. ``{"partner": ["Acme"], "channel": ["partner"]}``.
    selected : sequence of str
        Values of ``level`` picked in the ranking: every other view narrows to them, the ranking
        keeps showing all.
    targets : pandas.DataFrame, optional
        :func:`channelkpi.read_targets` output, compared with the won amount per period.
    fiscal_year_start : int
        First month of the fiscal year.
    """

    level: str = "partner"
    freq: str = "Q"
    start: object = None
    end: object = None
    where: Mapping[str, Sequence[str]] | None = None
    selected: Sequence[str] = ()
    targets: pd.DataFrame | None = field(default=None, compare=False)
    fiscal_year_start: int = 1

    @property
    def filter(self) -> dict[str, list[str]]:
        """The deal filter: ``where`` narrowed to the ``selected`` values of ``level``."""
        return view_filter(self.where, self.level, self.selected)


# --------------------------------------------------------------------------- tables
_QUALITY_COLUMNS = ("quality_score", "rank", "win_rate_shrunk")
_PERIOD_TABLES = ("kpis", "trend", "waterfall", "targets", "channel_mix", "cohorts")


def view_tables(
    deals,
    view: View | None = None,
    *,
    only: Collection[str] | None = None,
    cache: MutableMapping | None = None,
    **options,
) -> dict[str, pd.DataFrame]:
    """Every table of a view (or the ``only`` ones), keyed by name.

    Parameters
    ----------
    deals : pandas.DataFrame or PreparedDeals
        The canonical deals table, or it prepared (:func:`channelkpi.prepare`) for many views;
        a table is prepared here when more than one table is asked for.
    view : View, optional
        What to show; or give its fields as keyword ``options`` (``level="unit"``, ...).
    only : collection of str, optional
        Compute just these tables (a dashboard computes what is on screen).
    cache : mutable mapping, optional
        Where the quality scores among all peers are kept, by what they depend on: showing
        other partners then only picks other rows of them.

    Returns
    -------
    dict of str -> pandas.DataFrame
        ``kpis`` (level x period), ``now`` and ``before`` (totals of the range and of the same
        span just before the part of it the data covers), ``trend``, ``ranking``,
        ``pipeline_stage``, ``waterfall``, ``targets`` (when targets apply), ``channel_mix``,
        ``channel_rates``, ``seasonality``, ``seasonality_all``, ``cycles``, ``cohorts``.

    Notes
    -----
    Every table with periods has ``period_label`` and ``partial`` (:func:`mark_partial`). The
    trend's ``_prev`` columns compare equal spans (:func:`equal_span_previous`). The KPI table's
    quality scores and ranks are among the same peers as the ranking's (:func:`ranked_peers`),
    whichever groups it shows. ``pipeline_stage`` has a ``status`` column: the deals open on
    its ``as_of`` day by their stage (``open``), and those of them won or lost since.
    """
    v = view if view is not None else View(**options)
    level, freq, targets, where = v.level, v.freq, v.targets, v.where
    if isinstance(deals, pd.DataFrame) and (only is None or len(only) > 1):
        deals = prepare(deals)
    first, _ = month_range(deals)
    coverage = data_coverage(deals) or (first, first)
    if v.start is None or v.end is None:
        default_start, default_end = default_range(deals, freq=freq, fiscal_year_start=v.fiscal_year_start)
    start = default_start if v.start is None else pd.Timestamp(v.start)
    end = default_end if v.end is None else pd.Timestamp(v.end)
    filt = v.filter
    # the part of the range the data covers: totals compare it with as many days just before
    lo, hi = max(start, coverage[0]), min(end, coverage[1])
    covered = lo <= hi
    prev_start, prev_end = previous_span(lo, hi) if covered else previous_span(start, end)
    fys = v.fiscal_year_start
    common = {"fiscal_year_start": fys, "where": filt or None}
    rng = {"start": start, "end": end, **common}

    def before() -> pd.DataFrame:
        # a previous span reaching back before the data begins is not a span with fewer deals:
        # nothing to compare with (and nothing to compute)
        if not covered or prev_start < first:
            table = pd.DataFrame()
            table.attrs["covered"] = False
            return table
        table = kpi_table(deals, start=prev_start, end=prev_end, **common)
        table.attrs["covered"] = True
        return table

    def target_line() -> pd.DataFrame | None:
        if targets is None or filt.keys() - {"partner"}:
            return None  # targets are per partner (or company-wide): no line for a channel or level filter
        tg = targets
        if "partner" in filt and "partner" in tg:
            tg = tg[tg["partner"].isin(filt["partner"])]
        tg = tg.drop(columns=[c for c in ("partner", "owner", "department", "unit", "channel") if c in tg])
        try:
            return pipeline(deals, freq=freq, targets=tg, **rng)
        except ChannelKPIError:
            return None  # targets at a coarser grain than the chosen periods: no target line

    def scores(by_freq) -> pd.DataFrame:
        # scored among all peers, then only the chosen ones are shown; a pick in the ranking
        # changes neither
        peers, _ = ranked_peers(deals, where, level)
        key = (
            "peers",
            fys,
            level,
            by_freq,
            str(start),
            str(end),
            tuple(sorted((k, tuple(x)) for k, x in peers.items())),
        )
        table = cache.get(key) if cache is not None else None
        if table is None:
            table = quality_score(
                deals, by=level, freq=by_freq, start=start, end=end, fiscal_year_start=fys, where=peers or None
            )
            if cache is not None:
                cache[key] = table
        return table

    def ranking() -> pd.DataFrame:
        table = scores(None)
        _, shown = ranked_peers(deals, where, level)
        if shown is not None:
            table = table[table["partner"].isin(shown)].reset_index(drop=True)
        return table

    def kpis() -> pd.DataFrame:
        table = kpi_table(deals, by=level, freq=freq, **rng)
        # the quality scores and ranks of the ranking's peers, not of the groups this table shows
        peer = scores(freq)[[level, "period", *_QUALITY_COLUMNS]]
        scored = table.drop(columns=list(_QUALITY_COLUMNS)).merge(peer, on=[level, "period"], how="left")
        scored = scored[kpi_table_columns(scored)]
        scored.attrs = table.attrs
        return scored

    def kpi_table_columns(table: pd.DataFrame) -> list[str]:
        cols = [c for c in table.columns if c not in _QUALITY_COLUMNS]
        at = cols.index("sales_velocity") + 1 if "sales_velocity" in cols else len(cols)
        return [*cols[:at], *_QUALITY_COLUMNS, *cols[at:]]

    def trend() -> pd.DataFrame:
        table = kpi_table(deals, freq=freq, compare="previous", **rng)
        return equal_span_previous(
            table, deals, freq=freq, lo=lo, hi=hi, first=first, where=filt, fiscal_year_start=fys
        )

    def pipeline_stage() -> pd.DataFrame:
        # the deals open on that day by stage, and apart those of them closed since (their stage
        # today is a closed one): a past snapshot lists no "Closed Won" stage
        as_of = min(end, coverage[1])
        opened = pipeline(deals, by="stage", end=end, fiscal_year_start=fys, where={**filt, "status": ["open"]})
        parts = [opened.assign(status="open")]
        for status, label in (("won", "Won since"), ("lost", "Lost since")):
            closed = pipeline(deals, end=end, fiscal_year_start=fys, where={**filt, "status": [status]})
            parts.append(closed.assign(stage=label, status=status))
        table = pd.concat(parts, ignore_index=True)
        table.insert(1, "status", table.pop("status"))
        table.insert(2, "as_of", as_of)
        table.attrs = opened.attrs
        return table

    makers: dict[str, Callable[[], pd.DataFrame | None]] = {
        "kpis": kpis,
        "now": lambda: kpi_table(deals, **rng),
        "before": before,
        "trend": trend,
        "ranking": ranking,
        "pipeline_stage": pipeline_stage,
        "waterfall": lambda: pipeline_waterfall(deals, freq=freq, **rng),
        "targets": target_line,
        "channel_mix": lambda: channel_performance(deals, freq=freq, **rng),
        "channel_rates": lambda: win_rate(deals, by="channel", **rng),
        "seasonality": lambda: seasonality(deals, by="unit", **rng),
        "seasonality_all": lambda: seasonality(deals, **rng),
        "cycles": lambda: cycle_distribution(deals, **rng),
        "cohorts": lambda: deal_success(deals, freq=freq, **rng),
    }
    unknown = set(only or ()) - makers.keys()
    if unknown:
        raise ChannelKPIError(f"no view table called {sorted(unknown)}", fix=f"choose from {list(makers)}")
    t: dict[str, pd.DataFrame] = {}
    for name, make in makers.items():
        if only is None or name in only:
            table = make()
            if table is not None:
                if name in _PERIOD_TABLES:
                    attrs = table.attrs
                    table = mark_partial(table, coverage=coverage, start=start, end=end)
                    table.attrs = attrs
                t[name] = table
    return t


#: What each table of :func:`view_tables` depends on, besides the deals and the fiscal year.
TABLE_INPUTS = {
    "kpis": ("filter", "ranking_filter", "range", "level", "freq"),
    "now": ("filter", "range"),
    "before": ("filter", "range"),
    "trend": ("filter", "range", "freq"),
    "ranking": ("ranking_filter", "range", "level"),
    "pipeline_stage": ("filter", "end"),
    "waterfall": ("filter", "range", "freq"),
    "targets": ("filter", "range", "freq", "targets"),
    "channel_mix": ("filter", "range", "freq"),
    "channel_rates": ("filter", "range"),
    "seasonality": ("filter", "range"),
    "seasonality_all": ("filter", "range"),
    "cycles": ("filter", "range"),
    "cohorts": ("filter", "range", "freq"),
}


def table_key(name: str, view: View) -> tuple:
    """What :func:`view_tables` computes table ``name`` from: equal keys, equal tables (for the
    same deals). A dashboard keeps the tables it computed by key, so a control that a table does
    not depend on (the period size for the totals, the level for the trend) costs nothing.

    >>> a = table_key("now", View(level="partner", freq="Q", start="2025-01-01", end="2025-12-31"))
    >>> a == table_key("now", View(level="unit", freq="M", start="2025-01-01", end="2025-12-31"))
    True
    >>> a == table_key("now", View(start="2025-01-01", end="2025-12-31", where={"channel": ["paid"]}))
    False
    """

    def frozen(filt):
        return tuple(sorted((k, tuple(v)) for k, v in filt.items()))

    v = view
    parts = {
        "filter": lambda: frozen(v.filter),
        "ranking_filter": lambda: frozen(view_filter(v.where, v.level)),
        # the default range depends on the period size
        "range": lambda: (str(v.start), str(v.end), v.freq if v.start is None or v.end is None else None),
        "end": lambda: (str(v.end), v.freq if v.end is None else None),
        "level": lambda: v.level,
        "freq": lambda: v.freq,
        "targets": lambda: id(v.targets),
    }
    return (name, v.fiscal_year_start, *(parts[p]() for p in TABLE_INPUTS[name]))


#: The tables each chart of :func:`view_charts` is drawn from (``targets`` when there are any).
CHART_TABLES = {
    "trend": ("trend",),
    "ranking": ("ranking",),
    "pipeline_stage": ("pipeline_stage",),
    "waterfall": ("waterfall", "targets"),
    "channel_mix": ("channel_mix",),
    "channel_win_rates": ("channel_rates",),
    "seasonality": ("seasonality",),
    "seasonality_bands": ("seasonality_all",),
    "cycles": ("cycles",),
    "cohorts": ("cohorts",),
}
#: The tables the KPI tiles need.
TILE_TABLES = ("now", "before", "ranking")


def view_charts(
    tables: Mapping[str, pd.DataFrame],
    *,
    level: str = "partner",
    currency: str = "$",
    only: Collection[str] | None = None,
    subtitle: str | Sequence[str] | None = None,
    width: int | str = "container",
    font: str | None = None,
) -> dict[str, alt.TopLevelMixin]:
    """Every chart (or the ``only`` ones) for the tables of :func:`view_tables`, keyed as :data:`CHART_TITLES`.

    Parameters
    ----------
    subtitle : str or list of str, optional
        What the charts show (e.g. :func:`selection_text`): each chart carries it under its title,
        so an exported image says it too, with the chart's own notes (incomplete periods, how
        many groups the ranking shows).
    width : int or "container"
        Pixels, or the width of the page element the chart is drawn in (a dashboard).
    font : str, optional
        The font family (default :data:`channelkpi.charts.FONT`; a report drawn to files uses
        :data:`channelkpi.charts.PRINT_FONT`).

    Every chart carries the channelkpi theme in its own spec (:func:`channelkpi.charts.themed`)
    and a text alternative (``description``).
    """
    t, cur, sub, w = tables, currency, subtitle, width
    unranked = ["Deals without a partner are not ranked"] if level == "partner" else []
    lines = ([sub] if isinstance(sub, str) else list(sub or [])) if sub else []
    draw: dict[str, Callable[[], alt.TopLevelMixin]] = {
        "trend": lambda: charts.kpi_trend(t["trend"], "won_amount", currency=cur, subtitle=sub, width=w),
        "ranking": lambda: charts.partner_ranking(
            t["ranking"], level=level, currency=cur, subtitle=lines + unranked, width=w
        ),
        "pipeline_stage": lambda: charts.pipeline_by_stage(t["pipeline_stage"], currency=cur, subtitle=sub, width=w),
        "waterfall": lambda: charts.pipeline_waterfall(
            t["waterfall"], targets=t.get("targets"), currency=cur, subtitle=sub, width=w
        ),
        "channel_mix": lambda: charts.channel_mix(t["channel_mix"], currency=cur, subtitle=sub, width=w),
        "channel_win_rates": lambda: charts.win_rate_by_group(
            t["channel_rates"], level="channel", subtitle=sub, width=w
        ),
        "seasonality": lambda: charts.seasonality_heatmap(t["seasonality"], level="unit", subtitle=sub, width=w),
        "seasonality_bands": lambda: charts.seasonality_bands(t["seasonality_all"], subtitle=sub, width=w),
        "cycles": lambda: charts.cycle_distribution(t["cycles"], subtitle=sub, width=w),
        "cohorts": lambda: charts.deal_success_cohorts(t["cohorts"], subtitle=sub, width=w),
    }
    family = font or charts.FONT
    return {name: charts.themed(make(), font=family) for name, make in draw.items() if only is None or name in only}


# --------------------------------------------------------------------------- tiles
def _change(now, before, kind: str, currency: str) -> tuple[str, str]:
    """The change as text and its direction (``up``, ``down`` or ``""``)."""
    if is_missing(now) or is_missing(before):
        return "", ""
    diff = now - before
    direction = "up" if diff > 0 else "down" if diff < 0 else ""
    if kind == "rate":
        return f"{diff * 100:+.1f} pts", direction
    if kind == "money":
        return ("+" if diff >= 0 else "-") + format_value(abs(diff), "money", currency), direction
    if kind in ("days", "score"):
        return f"{diff:+,.1f}" + (" days" if kind == "days" else ""), direction
    return f"{diff:+,.0f}", direction


def _good(column: str, direction: str) -> str:
    """``good``, ``bad`` or ``""``: whether a change that way is good for this KPI."""
    better = BETTER.get(column, 0)
    if not direction or not better:
        return ""
    return "good" if (direction == "up") == (better > 0) else "bad"


def tile_definition(column: str) -> str:
    """A tile's KPI in a manager's words (from the KPI's definition), for its "what is this?".

    >>> tile_definition("cycle_days_median").startswith("How long won deals take")
    True
    """
    definition = DEFINITIONS[TILE_DEFINITIONS[column]].summary
    note = _TILE_NOTES.get(column)
    return f"{definition} {note}" if note else definition


def tile_values(tables: Mapping[str, pd.DataFrame], *, currency: str = "$") -> list[dict]:
    """The eight KPI tiles of a view: title, value, text, change, direction, good, n, counts,
    definition and note.

    ``value`` is the number (NaN when undefined), ``text`` the formatted value, ``change`` the
    change against the same span just before (empty when the data does not cover that span),
    ``good`` whether that change is ``good`` or ``bad`` for the KPI (a shorter cycle is good),
    ``counts`` what ``n`` counts ("closed deals") and ``definition`` the KPI in plain words.
    """
    ranking = tables["ranking"]
    now = _totals(tables["now"], ranking)
    before_table = tables["before"]
    before = _totals(before_table, None) if before_table.attrs.get("covered", True) else {}
    level = ranking.columns[0] if len(ranking.columns) else "partner"
    out = []
    for title, col, kind, n_col in TILES:
        value = now.get(col, np.nan)
        n = now.get(n_col, np.nan)
        change, direction = (
            ("", "") if col == "best_quality" else _change(value, before.get(col, np.nan), kind, currency)
        )
        out.append(
            {
                "title": title,
                "column": col,
                "kind": kind,
                "value": value,
                "text": format_value(value, kind, currency),
                "change": change,
                "direction": direction,
                "good": _good(col, direction),
                "n": n,
                "counts": TILE_COUNTS[col].format(groups=_LEVEL_PLURALS.get(level, f"{level} values")),
                "definition": tile_definition(col),
                "note": display_name(now.get("best_name", "")) if col == "best_quality" and "best_name" in now else "",
            }
        )
    return out


def _totals(total: pd.DataFrame, ranking: pd.DataFrame | None) -> dict:
    if not len(total):
        return {}
    row = total.iloc[0].to_dict()
    won = row.get("won_amount", np.nan)
    row["partner_share"] = row.get("won_amount_partner", np.nan) / won if won else np.nan
    if ranking is not None and len(ranking):
        best = ranking.sort_values("rank").iloc[0]
        row["best_quality"] = best["quality_score"]
        row["best_name"] = f"{best[ranking.columns[0]]}"
        row["groups"] = len(ranking)
    return row


def tiles_html(tiles: Sequence[Mapping]) -> str:
    """The tiles of :func:`tile_values` as HTML (every text escaped), styles included.

    Each tile says what its n counts, colours its change by whether it is good for the KPI
    (with the word, for print and screen readers), and has its definition one click away (a
    ``<details>`` element, reachable with the keyboard) and on hover (``title``).
    """
    parts = []
    for tile in tiles:
        n = tile["n"]
        counts = tile.get("counts", "")
        n_text = "" if is_missing(n) else f" · n = {n:,.0f} {counts}".rstrip()
        if tile["note"]:
            change = html_text(tile["note"])
        elif tile["change"]:
            good = tile.get("good", "")
            cls = {"good": "ck-good", "bad": "ck-bad"}.get(good, "")
            word = {"good": " (better)", "bad": " (worse)"}.get(good, "")
            change = f"<span class='{cls}'>{html_text(tile['change'] + word)}</span> vs previous period"
        else:
            change = "no earlier period to compare"
        definition = tile.get("definition", "")
        about = (
            f"<details><summary>What is this?</summary><p>{html_text(definition)}</p></details>" if definition else ""
        )
        parts.append(
            f"<div class='ck-tile' title='{html_text(definition)}'><div class='ck-label'>{html_text(tile['title'])}</div>"
            f"<div class='ck-value'>{html_text(tile['text'])}</div>"
            f"<div class='ck-change'>{change}{html_text(n_text)}</div>{about}</div>"
        )
    return CSS + "<div class='ck-tiles'>" + "".join(parts) + "</div>"


def ledger_html(result, *, rows: int = 200) -> str:
    """A load result's reconciliation as HTML: counts, warnings and the first ``rows`` ledger rows."""
    if result is None:
        return "<p class='ck-note'>These deals were passed in directly: there is no load ledger to show.</p>"
    s = result.summary()
    counts = "".join(f"<tr><td>{html_text(k)}</td><td>{html_text(v)}</td></tr>" for k, v in s.items())
    warnings = "".join(f"<li>{html_text(x)}</li>" for x in result.warnings) or "<li>none</li>"
    ledger = result.ledger.head(rows)
    body = "".join(
        "<tr>" + "".join(f"<td>{html_text(v)}</td>" for v in rec) + "</tr>" for rec in ledger.itertuples(index=False)
    )
    head = "".join(f"<th>{html_text(c)}</th>" for c in ledger.columns)
    more = (
        f"<p class='ck-note'>First {rows} of {len(result.ledger)} ledger rows.</p>" if len(result.ledger) > rows else ""
    )
    return (
        f"<h4>{html_text(result.file)} read as {html_text(result.source.label)}</h4>"
        f"<table class='ck-table'>{counts}</table><h4>Warnings</h4><ul>{warnings}</ul>"
        f"<h4>Ledger: rows not kept one-to-one</h4><table class='ck-table'><tr>{head}</tr>{body}</table>{more}"
    )
