"""The views a dashboard or a report shows: the KPI tables, their charts and the KPI tiles.

Everything here is pure and widget-free, so the interactive :class:`channelkpi.widgets.Dashboard`
and the static :func:`channelkpi.report` show the same numbers from the same code. A view is
described by a level, a period grain, a month-aligned date range and a deal filter;
:func:`view_tables` computes every table for it and :func:`view_charts` draws them.

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
from .metrics.prepared import PreparedDeals, prepare
from .safety import html_text
from .schema import DIRECT_PARTNER

__all__ = [
    "TILES",
    "CHART_TITLES",
    "CHART_TABLES",
    "TABLE_INPUTS",
    "TILE_TABLES",
    "view_filter",
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

#: The levels a view can group by, with the names people use for them.
LEVEL_TITLES = {"partner": "Partner", "owner": "Employee", "department": "Department", "unit": "Unit"}
#: Period sizes as a selection line says them.
FREQ_TITLES = {"M": "monthly", "Q": "quarterly", "Y": "yearly", "W": "weekly"}
#: How deals without a partner are named on screen (the deals table keeps ``DIRECT_PARTNER``).
DIRECT_LABEL = "Direct (no partner)"

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
.ck-tiles {display: grid; grid-template-columns: repeat(4, minmax(170px, 1fr)); gap: 10px; margin: 6px 0 12px;}
.ck-tile {border: 1px solid #dde3ea; border-radius: 8px; padding: 10px 12px; background: #fbfcfd;}
.ck-tile .ck-label {font-size: 12px; color: #56606b; text-transform: uppercase; letter-spacing: .03em;}
.ck-tile .ck-value {font-size: 24px; font-weight: 600; color: #1b2733; margin: 2px 0;}
.ck-tile .ck-change {font-size: 12px; color: #56606b;}
.ck-up {color: #007a5a;} .ck-down {color: #b4481d;}
.ck-message {padding: 8px 12px; border-radius: 6px; background: #fff4e5; color: #6b3d00; border: 1px solid #f5c98b;}
.ck-note {color: #56606b; font-size: 12px;}
.ck-table {border-collapse: collapse; font-size: 12px;} .ck-table td, .ck-table th {padding: 3px 8px; border-bottom: 1px solid #e6e9ee; text-align: left;}
.ck-table td.ck-num {text-align: right; font-variant-numeric: tabular-nums;}
</style>
"""


def month_range(deals: pd.DataFrame | PreparedDeals) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First day of the first month and last day of the last month with a created or close date."""
    if isinstance(deals, PreparedDeals):
        first, last = deals.date_span()
    else:
        dates = pd.concat([deals["created"], deals["closed"]]).dropna()
        first, last = (dates.min(), dates.max()) if len(dates) else (None, None)
    if first is None:
        first = last = pd.Timestamp.today().normalize()
    return first.to_period("M").to_timestamp(), (last + pd.offsets.MonthEnd(0)).normalize()


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


def display_name(value: object) -> str:
    """A level value as people read it: deals without a partner are "Direct (no partner)".

    >>> display_name("(direct)"), display_name("Brightline IT")
    ('Direct (no partner)', 'Brightline IT')
    """
    text = str(value)
    return DIRECT_LABEL if text == DIRECT_PARTNER else text


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
    return f"{start:%-d %b %Y} – {end:%-d %b %Y}"


def selection_text(view: View, *, start=None, end=None) -> str:
    """What a view shows, in one line for a chart subtitle, a file's header row or a page.

    Partners (or the level's values) chosen, other filters, the level and period size, and the
    date range (``start``/``end`` override the view's, e.g. the range the data covers when the
    view has none).

    >>> v = View(level="partner", freq="Q", start="2025-01-01", end="2025-12-31",
    ...          where={"partner": ["Brightline IT"], "channel": ["partner", "paid"]})
    >>> selection_text(v)
    'Brightline IT · channels: paid, partner · by partner, quarterly · Jan 2025 – Dec 2025'
    >>> selection_text(View(level="unit", freq="M"), start="2024-01-01", end="2024-06-30")
    'All partners · by unit, monthly · Jan 2024 – Jun 2024'
    """
    filt = view.filter
    parts = []
    for col in ("partner", *(c for c in filt if c != "partner")):
        values = filt.get(col)
        if col == "partner":
            parts.append(_names(values) if values else "All partners")
        elif values:
            title = LEVEL_TITLES.get(col, col).lower()
            plural = {"channel": "channels", "owner": "employees", "unit": "units", "department": "departments"}
            parts.append(f"{plural.get(col, title)}: {_names(sorted(values))}")
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
        The date range (default: every month with a date).
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
        span just before it), ``trend``, ``ranking``, ``pipeline_stage``, ``waterfall``,
        ``targets`` (when targets apply), ``channel_mix``, ``channel_rates``, ``seasonality``,
        ``seasonality_all``, ``cycles``, ``cohorts``.
    """
    v = view if view is not None else View(**options)
    level, freq, targets, where = v.level, v.freq, v.targets, v.where
    if isinstance(deals, pd.DataFrame) and (only is None or len(only) > 1):
        deals = prepare(deals)
    first, last = month_range(deals)
    start = first if v.start is None else pd.Timestamp(v.start)
    end = last if v.end is None else pd.Timestamp(v.end)
    filt = v.filter
    prev_start, prev_end = previous_span(start, end)
    fys = v.fiscal_year_start
    common = {"fiscal_year_start": fys, "where": filt or None}
    rng = {"start": start, "end": end, **common}

    def before() -> pd.DataFrame:
        # a previous span reaching back before the data begins is not a span with fewer deals:
        # nothing to compare with (and nothing to compute)
        if prev_start < first:
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

    def ranking() -> pd.DataFrame:
        # scored among all peers, then only the chosen ones are shown; a pick in the ranking
        # changes neither
        peers, shown = ranked_peers(deals, where, level)
        key = ("peers", fys, level, str(start), str(end), tuple(sorted((k, tuple(v)) for k, v in peers.items())))
        table = cache.get(key) if cache is not None else None
        if table is None:
            table = quality_score(deals, by=level, start=start, end=end, fiscal_year_start=fys, where=peers or None)
            if cache is not None:
                cache[key] = table
        if shown is not None:
            table = table[table["partner"].isin(shown)].reset_index(drop=True)
        return table

    makers: dict[str, Callable[[], pd.DataFrame | None]] = {
        "kpis": lambda: kpi_table(deals, by=level, freq=freq, **rng),
        "now": lambda: kpi_table(deals, **rng),
        "before": before,
        "trend": lambda: kpi_table(deals, freq=freq, compare="previous", **rng),
        "ranking": ranking,
        "pipeline_stage": lambda: pipeline(deals, by="stage", end=end, **common),
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
                t[name] = table
    return t


#: What each table of :func:`view_tables` depends on, besides the deals and the fiscal year.
TABLE_INPUTS = {
    "kpis": ("filter", "range", "level", "freq"),
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
        "range": lambda: (str(v.start), str(v.end)),
        "end": lambda: str(v.end),
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
) -> dict[str, alt.TopLevelMixin]:
    """Every chart (or the ``only`` ones) for the tables of :func:`view_tables`, keyed as :data:`CHART_TITLES`."""
    t, cur = tables, currency
    draw: dict[str, Callable[[], alt.TopLevelMixin]] = {
        "trend": lambda: charts.kpi_trend(t["trend"], "won_amount", currency=cur),
        "ranking": lambda: charts.partner_ranking(
            t["ranking"],
            level=level,
            currency=cur,
            subtitle="Deals without a partner are not ranked" if level == "partner" else None,
        ),
        "pipeline_stage": lambda: charts.pipeline_by_stage(t["pipeline_stage"], currency=cur),
        "waterfall": lambda: charts.pipeline_waterfall(t["waterfall"], targets=t.get("targets"), currency=cur),
        "channel_mix": lambda: charts.channel_mix(t["channel_mix"], currency=cur),
        "channel_win_rates": lambda: charts.win_rate_by_group(t["channel_rates"], level="channel"),
        "seasonality": lambda: charts.seasonality_heatmap(t["seasonality"], level="unit"),
        "seasonality_bands": lambda: charts.seasonality_bands(t["seasonality_all"]),
        "cycles": lambda: charts.cycle_distribution(t["cycles"]),
        "cohorts": lambda: charts.deal_success_cohorts(t["cohorts"]),
    }
    return {name: make() for name, make in draw.items() if only is None or name in only}


# --------------------------------------------------------------------------- formats
_MONEY = {
    "won_amount",
    "avg_deal_size",
    "median_deal_size",
    "open_amount",
    "weighted_amount",
    "change_amount",
    "sales_velocity",
    "start",
    "created",
    "won",
    "lost",
    "end",
    "target",
    "next_target",
    "next_pipeline",
    "success_rate_value",
}
_RATES = {
    "win_rate",
    "win_rate_low",
    "win_rate_high",
    "win_rate_shrunk",
    "success_rate",
    "pending_share",
    "lost_share",
    "won_share",
    "share",
    "expected_rate",
    "group_rate",
    "difference",
    "attainment",
}
_COUNTS = {"n", "rank", "weeks", "count", "month", "groups"}


def column_kind(name: str) -> str:
    """How a KPI column's numbers read: ``money``, ``rate``, ``days``, ``score``, ``ratio``,
    ``count``, ``date`` or ``other`` (``_prev`` and ``_change`` columns read as their KPI).

    >>> column_kind("won_amount_prev"), column_kind("win_rate_change"), column_kind("open_count")
    ('money', 'rate', 'count')
    """
    base = name
    for suffix in ("_prev", "_change"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    if base in _MONEY or base.startswith("won_amount_"):
        return "money"
    if base in _RATES or base.startswith("pct_"):
        return "rate"
    if base.startswith("cycle_days"):
        return "days"
    if base == "quality_score":
        return "score"
    if base == "coverage":
        return "ratio"
    if base in _COUNTS or base.endswith("_count"):
        return "count"
    if base in ("period_start", "period_end"):
        return "date"
    return "other"


def excel_format(kind: str, currency: str = "$") -> str | None:
    """The Excel number format of a :func:`column_kind` (None: Excel's default).

    >>> excel_format("money", "€"), excel_format("rate")
    ('"€"#,##0.00;-"€"#,##0.00', '0.0%')
    """
    symbol = currency.replace('"', "")
    return {
        "money": f'"{symbol}"#,##0.00;-"{symbol}"#,##0.00',
        "rate": "0.0%",
        "days": "#,##0.0",
        "score": "0.0",
        "ratio": "0.00",
        "count": "#,##0",
        "date": "yyyy-mm-dd",
    }.get(kind)


# --------------------------------------------------------------------------- tiles
def _money(value: float, currency: str) -> str:
    for cut, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= cut:
            return f"{currency}{value / cut:,.1f}{suffix}"
    return f"{currency}{value:,.0f}"


def _missing(value) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and not np.isfinite(value))


def format_value(value, kind: str, currency: str = "$") -> str:
    """A tile's value as text: ``money`` ($1.2M), ``rate`` (41.0%), ``days``, ``score``, ``count``.

    >>> format_value(1234567.0, "money"), format_value(0.41, "rate"), format_value(float("nan"), "days")
    ('$1.2M', '41.0%', '—')
    """
    if _missing(value):
        return "—"
    if kind == "money":
        return _money(value, currency)
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "days":
        return f"{value:,.0f} days"
    if kind == "score":
        return f"{value:.0f} / 100"
    return f"{value:,.0f}"


def _change(now, before, kind: str, currency: str) -> tuple[str, str]:
    """The change as text and its direction (``up``, ``down`` or ``""``)."""
    if _missing(now) or _missing(before):
        return "", ""
    diff = now - before
    direction = "up" if diff > 0 else "down" if diff < 0 else ""
    if kind == "rate":
        return f"{diff * 100:+.1f} pts", direction
    if kind == "money":
        return ("+" if diff >= 0 else "-") + _money(abs(diff), currency), direction
    if kind in ("days", "score"):
        return f"{diff:+,.1f}" + (" days" if kind == "days" else ""), direction
    return f"{diff:+,.0f}", direction


def tile_values(tables: Mapping[str, pd.DataFrame], *, currency: str = "$") -> list[dict]:
    """The eight KPI tiles of a view: title, value, text, change, direction, n and note.

    ``value`` is the number (NaN when undefined), ``text`` the formatted value, ``change`` the
    change against the same span just before (empty when the data does not cover that span).
    """
    now = _totals(tables["now"], tables["ranking"])
    before_table = tables["before"]
    before = _totals(before_table, None) if before_table.attrs.get("covered", True) else {}
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
                "n": n,
                "note": now.get("best_name", "") if col == "best_quality" else "",
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
    """The tiles of :func:`tile_values` as HTML (every text escaped), styles included."""
    parts = []
    for tile in tiles:
        n = tile["n"]
        n_text = "" if _missing(n) else f" · n = {n:,.0f}"
        if tile["note"]:
            change = html_text(tile["note"])
        elif tile["change"]:
            cls = {"up": "ck-up", "down": "ck-down"}.get(tile["direction"], "")
            change = f"<span class='{cls}'>{html_text(tile['change'])}</span> vs previous period"
        else:
            change = "no earlier period to compare"
        parts.append(
            f"<div class='ck-tile'><div class='ck-label'>{html_text(tile['title'])}</div>"
            f"<div class='ck-value'>{html_text(tile['text'])}</div>"
            f"<div class='ck-change'>{change}{html_text(n_text)}</div></div>"
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
