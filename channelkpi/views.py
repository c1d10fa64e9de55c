"""The views a dashboard or a report shows: the spec of a view and the KPI tables it is made of.

Everything here is pure and widget-free, so the interactive :class:`channelkpi.widgets.Dashboard`
and the static :func:`channelkpi.report` show the same numbers from the same code. A
:class:`View` says what to show: the column the KPIs are grouped ``by``, a period grain, a
date range, the deals kept (``where``) and the values chosen in the ranking (``selection``).
:func:`view_tables` computes its tables and :func:`view_charts` draws them; the tiles are in
:mod:`channelkpi.tiles`, the number formats in :mod:`channelkpi.formats`.

Each table is declared once, in :data:`TABLES`: its name, the function that makes it and the
inputs it is made from (:data:`INPUTS`, each computed from the view; or other tables). The
function sees only what its declaration lists, so the cache keys derived from the declarations
(:func:`table_key`) cannot miss an input. The charts are declared the same way in
:data:`CHARTS`, with the tables each is drawn from.

Where the pictures must not mislead, the rule lives here: the range a view shows by default
ends with the last period the data covers completely (:func:`default_range`); a period the data
covers only in part is marked (:func:`mark_partial`) and drawn hollow; a previous period is
compared over the same number of days (:func:`equal_span_previous`); quality scores are among
the same peers wherever they appear (:func:`ranked_peers`); each chart carries what it shows
(:func:`selection_text`).

Examples
--------
>>> from channelkpi.datasets import make_sample_deals
>>> deals = make_sample_deals()
>>> tables = view_tables(deals, by="partner", freq="Q", start="2025-01-01", end="2025-12-31")
>>> sorted(tables["kpis"]["period"].unique())
['2025-Q1', '2025-Q2', '2025-Q3', '2025-Q4']
>>> sorted(view_charts(tables, by="partner"))[:3]
['channel_mix', 'channel_win_rates', 'cohorts']
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field

import altair as alt
import numpy as np
import pandas as pd

from . import charts
from .currency_symbols import DEFAULT_CURRENCY
from .deprecation import renamed_keywords, warn_deprecated
from .errors import ChannelKPIError
from .formats import (
    BY_TITLES,
    FREQ_TITLES,
    channel_name,
    date_text,
    day_label,
    display_name,
    is_missing,
    level_word,
    month_label,
    period_text,
    plural,
)
from .i18n import N_, current_language
from .i18n import gettext as _
from .metrics.funnel import stage_funnel
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
from .metrics.movement import BUCKETS, movement_deals, pipeline_movement
from .metrics.periods import date_key, period_frame
from .metrics.prepared import PreparedDeals, prepare
from .metrics.stagetime import time_in_stage
from .schema import DIRECT_PARTNER

__all__ = [
    "BY_TITLES",
    "FREQ_TITLES",
    "CHARTS",
    "CHART_TITLES",
    "CHART_TABLES",
    "Chart",
    "ALWAYS",
    "INPUTS",
    "Input",
    "TABLES",
    "HISTORY_TABLES",
    "TOP_MOVERS",
    "TABLE_INPUTS",
    "Table",
    "View",
    "view_where",
    "ranked_peers",
    "unranked_text",
    "selection_text",
    "view_tables",
    "view_charts",
    "month_range",
    "data_coverage",
    "default_range",
    "default_months",
    "mark_partial",
    "equal_span_previous",
    "previous_span",
    "table_key",
]


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
    return day_label(day)


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
    for code, ps, pe in zip(out["period"].astype(str), starts, ends, strict=True):
        first, last = max(ps, lo), min(pe, hi)
        period = period_text(code)  # the label is shown; ``period`` stays the code clicks look up
        if first > last:
            labels.append(_("{period} (no data)").format(period=period))
        elif first > ps and last < pe:
            labels.append(_("{period} ({first} to {last})").format(period=period, first=_day(first), last=_day(last)))
        elif last < pe:
            labels.append(_("{period} (to {day})").format(period=period, day=_day(last)))
        elif first > ps:
            labels.append(_("{period} (from {day})").format(period=period, day=_day(first)))
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
def view_where(
    where: Mapping[str, Sequence[str]] | None, by: str, selection: Sequence[str] = ()
) -> dict[str, list[str]]:
    """The deals a view keeps: ``where`` narrowed to the ``selection`` of values of ``by``.

    >>> view_where({"partner": ["A", "B"]}, "partner", ["B", "C"])
    {'partner': ['B']}
    """
    out = {k: list(v) for k, v in (where or {}).items() if v}
    if selection:
        chosen = set(map(str, selection))
        if by in out:
            chosen &= set(out[by])
        out[by] = sorted(chosen) or ["\x00none"]  # nothing left: an empty view, not everything
    return out


def _peer_where(where: Mapping[str, Sequence[str]] | None, by: str) -> tuple[dict[str, list[str]], list[str] | None]:
    """The filter a ranking scores within (partners not yet listed) and the partners it shows."""
    peers = view_where(where, by)
    shown = peers.pop("partner") if by == "partner" and "partner" in peers else None
    return peers, shown


def _partner_names(deals) -> list[str]:
    """The partners: of the deals, and of the partner table the deals were prepared with (a
    partner with no deals yet is a peer too, shown with none)."""
    names = deals.level("partner")[1] if isinstance(deals, PreparedDeals) else deals["partner"].dropna().unique()
    table = (getattr(deals, "dimensions", None) or {}).get("partner")
    listed = table["partner"].dropna() if table is not None and "partner" in table else []
    return sorted(({str(p) for p in names} | {str(p) for p in listed}) - {DIRECT_PARTNER, "(none)"})


def _known_values(deals, by: str) -> list[str] | None:
    """Every value of ``by`` the deals have, or None when no deal lacks one."""
    if isinstance(deals, PreparedDeals):
        codes, labels, null = deals.level(by)
        if not null.any():
            return None
        return sorted({str(v) for v in labels[np.unique(codes[~null])]})
    column = deals[by]
    if not column.isna().any():
        return None
    return sorted({str(v) for v in column.dropna().unique()})


def ranked_peers(
    deals, where: Mapping[str, Sequence[str]] | None, by: str
) -> tuple[dict[str, list[str]], list[str] | None]:
    """The deals a ranking scores, and the partners it shows (None: every group).

    A group is scored among its peers, every value of ``by`` within the other filters (the
    contract's "percentile ranks among the period's peers"): picking two partners does not rank
    them among each other. Deals without a partner (``"(direct)"``) are not a partner: a partner
    ranking leaves them out, so they neither take a rank nor shift the partners' percentiles.
    The same for deals without a value of any other level (no tier: no partner, or one the
    partner table gives none; no department: no owner): there is no "(none)" to rank.

    >>> import channelkpi as ck
    >>> deals = ck.validate_deals(pd.DataFrame({"deal_id": ["a", "b", "c"], "status": ["won"] * 3,
    ...                                         "partner": ["Acme", None, "Zenith"]}))
    >>> ranked_peers(deals, {"partner": ["Acme"], "channel": ["paid"]}, "partner")
    ({'channel': ['paid'], 'partner': ['Acme', 'Zenith']}, ['Acme'])
    >>> ranked_peers(deals.assign(tier=pd.Series(["gold", None, "silver"], dtype="string")), None, "tier")
    ({'tier': ['gold', 'silver']}, None)
    """
    peers, shown = _peer_where(where, by)
    if by == "partner":
        peers["partner"] = _partner_names(deals)
    elif by not in peers:
        known = _known_values(deals, by)
        if known is not None:
            peers[by] = known or ["\x00none"]  # no deal has a value: nothing to rank
    return peers, shown


def unranked_text(by: str, *, table: str | None = None) -> str:
    """What a ranking by ``by`` leaves out, said under the chart: deals without a value of
    ``by`` (``table``: ``"partners"`` or ``"owners"`` when its values come from that table).

    >>> unranked_text("partner"), unranked_text("tier", table="partners")
    ('Deals without a partner are not ranked', 'Deals without a tier (no partner, or a partner without one) are not ranked')
    >>> unranked_text("owner"), unranked_text("lead_source")
    ('Deals without an owner are not ranked', 'Deals without a lead source are not ranked')
    """
    holder = _HOLDERS.get(table or "")
    if holder and by not in ("partner", "owner"):
        return _("Deals without {a_level} (no {holder}, or {a_holder} without one) are not ranked").format(
            a_level=_a_level(by), holder=_(holder[0]), a_holder=_(holder[1])
        )
    return _("Deals without {a_level} are not ranked").format(a_level=_a_level(by))


#: A level's value, with its article, as "deals without ..." says it.
_A_LEVEL = {"partner": N_("a partner"), "owner": N_("an owner"), "department": N_("a department"), "unit": N_("a unit")}
#: The tables a level's values can come from: the one they describe, bare and with its article.
_HOLDERS = {"partners": (N_("partner"), N_("a partner")), "owners": (N_("owner"), N_("an owner"))}


def _a_level(by: str) -> str:
    if by in _A_LEVEL:
        return _(_A_LEVEL[by])
    word = level_word(by)
    if current_language() != "en":  # other languages' articles depend on the word's gender
        return _("a value of {level}").format(level=word)
    return f"{'an' if word[:1] in tuple('aeiou') else 'a'} {word}"


def _names(values: Sequence[str], limit: int = 3, *, column: str = "partner") -> str:
    names = [channel_name(v) if column == "channel" else display_name(v) for v in values]
    if len(names) <= limit:
        return ", ".join(names)
    return _("{names} and {count} more").format(names=", ".join(names[:limit]), count=len(names) - limit)


def _span_text(start: pd.Timestamp, end: pd.Timestamp) -> str:
    whole_months = start.day == 1 and (end + pd.Timedelta(days=1)).day == 1
    if whole_months:
        first, last = month_label(start), month_label(end)
        return first if first == last else f"{first} – {last}"
    return f"{date_text(start)} – {date_text(end)}"


def selection_text(view: View, *, start=None, end=None, grouping: bool = True) -> str:
    """What a view shows, in one line for a chart subtitle, a file's header row or a page.

    Partners (or the values of ``by``) chosen, other filters, the grouping and period size, and
    the date range (``start``/``end`` override the view's, e.g. the range the data covers when
    the view has none).

    >>> v = View(by="partner", freq="Q", start="2025-01-01", end="2025-12-31",
    ...          where={"partner": ["Brightline IT"], "channel": ["partner", "paid"]})
    >>> selection_text(v)
    'Brightline IT · channels: paid, partner · by partner, quarterly · Jan 2025 – Dec 2025'
    >>> selection_text(View(by="unit", freq="M", selection=["EMEA"]), start="2024-01-01", end="2024-06-30")
    'All partners · units: EMEA · by unit, monthly · Jan 2024 – Jun 2024'
    >>> selection_text(v, grouping=False)
    'Brightline IT · channels: paid, partner · Jan 2025 – Dec 2025'
    """
    kept = view.effective_where
    parts = []
    for col in ("partner", *(c for c in kept if c != "partner")):
        values = [v for v in kept.get(col, []) if v != "\x00none"]
        if col == "partner":
            parts.append(_names(values) if values else _("All partners"))
        elif values:
            parts.append(f"{plural(col)}: {_names(sorted(values), column=col)}")
        elif col in kept:
            parts.append(_("{values}: none").format(values=plural(col)))
    if grouping:  # a number of the whole range (a tile) is not grouped: it says only the range
        freq = _(FREQ_TITLES[view.freq]) if view.freq in FREQ_TITLES else view.freq
        parts.append(_("by {level}, {period}").format(level=level_word(view.by), period=freq))
    s = start if start is not None else view.start
    e = end if end is not None else view.end
    if s is not None and e is not None:
        parts.append(_span_text(pd.Timestamp(s), pd.Timestamp(e)))
    return " · ".join(parts)


@dataclass(frozen=True)
class View:
    """What a dashboard or a report shows: a grouping, a period grain, a date range and the deals.

    Parameters
    ----------
    by : str
        The column the KPI table and the ranking are grouped by (``"partner"``, ``"owner"``,
        ``"department"``, ``"unit"``).
    freq : str
        The periods of the KPI table and the trends (``"M"``, ``"Q"``, ``"Y"``).
    start, end : date-like, optional
        The date range (default: :func:`default_range`, from the first month with a date to the
        end of the last period the data covers completely).
    where : dict, optional
        Keep only these deals, e.g. ``{"partner": ["Acme"], "channel": ["partner"]}``.
    selection : sequence of str
        Values of ``by`` chosen in the ranking: every other table narrows to them, the ranking
        keeps showing all.
    targets : pandas.DataFrame, optional
        :func:`channelkpi.read_targets` output, compared with the won amount per period.
    fiscal_year_start : int
        First month of the fiscal year.

    ``level=`` and ``selected=`` (and the attributes ``level``, ``selected`` and ``filter``) are
    the old names of ``by``, ``selection`` and :attr:`effective_where`; they work with a
    ``DeprecationWarning`` until the next release.

    >>> View(by="unit", selection=["EMEA"], where={"channel": ["partner"]}).effective_where
    {'channel': ['partner'], 'unit': ['EMEA']}
    """

    by: str = "partner"
    freq: str = "Q"
    start: object = None
    end: object = None
    where: Mapping[str, Sequence[str]] | None = None
    selection: Sequence[str] = ()
    targets: pd.DataFrame | None = field(default=None, compare=False)
    fiscal_year_start: int = 1

    @property
    def effective_where(self) -> dict[str, list[str]]:
        """The deals the view keeps: ``where`` narrowed to the ``selection`` of values of ``by``."""
        return view_where(self.where, self.by, self.selection)

    @property
    def level(self) -> str:
        """Deprecated: :attr:`by`."""
        warn_deprecated("View.level", "View.by")
        return self.by

    @property
    def selected(self) -> Sequence[str]:
        """Deprecated: :attr:`selection`."""
        warn_deprecated("View.selected", "View.selection")
        return self.selection

    @property
    def filter(self) -> dict[str, list[str]]:
        """Deprecated: :attr:`effective_where`."""
        warn_deprecated("View.filter", "View.effective_where")
        return self.effective_where


# the old keywords of View (and so of view_tables, which passes its options on)
View.__init__ = renamed_keywords(level="by", selected="selection")(View.__init__)  # type: ignore[method-assign]


# --------------------------------------------------------------------------- inputs
class _Data:
    """What the tables of one call share that is no input of the view: the deals, their dates
    and their history (:class:`channelkpi.History`, or None)."""

    def __init__(self, deals, history=None) -> None:
        self.deals = deals
        self.history = history
        self.first, _ = month_range(deals)
        self.coverage = data_coverage(deals) or (self.first, self.first)


def _frozen(where: Mapping[str, Sequence[str]]) -> tuple:
    return tuple(sorted((k, tuple(v)) for k, v in where.items()))


def _shown_key(shown: list[str] | None) -> tuple | None:
    return None if shown is None else tuple(shown)


def _range(view: View, data: _Data) -> tuple[pd.Timestamp, pd.Timestamp]:
    if view.start is None or view.end is None:
        default = default_range(data.deals, freq=view.freq, fiscal_year_start=view.fiscal_year_start)
    start = default[0] if view.start is None else pd.Timestamp(view.start)
    end = default[1] if view.end is None else pd.Timestamp(view.end)
    return start, end


@dataclass(frozen=True)
class Input:
    """Something tables are made from: its ``value`` for a view (given the deals), and a ``key``
    equal for two views whenever the value is (for the same deals): the cache key's part."""

    name: str
    key: Callable[[View], Hashable]
    value: Callable[[View, _Data], object]


#: The inputs a table can be made from, each computed from the view and nothing else of it.
INPUTS: dict[str, Input] = {
    i.name: i
    for i in (
        Input("fiscal_year_start", lambda v: v.fiscal_year_start, lambda v, d: v.fiscal_year_start),
        Input("by", lambda v: v.by, lambda v, d: v.by),
        Input("freq", lambda v: v.freq, lambda v, d: v.freq),
        # the deals kept: the selection counts only when there is one (then with its column)
        Input("where", lambda v: _frozen(v.effective_where), lambda v, d: v.effective_where),
        # the ranking's peers: the filter without the partners chosen, every partner listed
        Input(
            "peers",
            lambda v: (v.by, _frozen(_peer_where(v.where, v.by)[0])),
            lambda v, d: ranked_peers(d.deals, v.where, v.by)[0],
        ),
        Input(
            "shown",
            lambda v: _shown_key(_peer_where(v.where, v.by)[1]),
            lambda v, d: _peer_where(v.where, v.by)[1],
        ),
        # the default range depends on the period size (and the fiscal year, in every key)
        Input(
            "range",
            lambda v: (str(v.start), str(v.end), v.freq if v.start is None or v.end is None else None),
            _range,
        ),
        Input("end", lambda v: (str(v.end), v.freq if v.end is None else None), lambda v, d: _range(v, d)[1]),
        # the view's targets (the table they make is ``targets``)
        Input("given_targets", lambda v: id(v.targets), lambda v, d: v.targets),
    )
}
#: The inputs every table reads: the fiscal year places every period and the default range.
ALWAYS = ("fiscal_year_start",)


class _Reads(Mapping):
    """The inputs and tables one table (or chart) is made from, and nothing else: reading one
    its declaration does not list is an error, so a declaration cannot leave one out."""

    def __init__(self, owner: str, allowed: Collection[str], get: Callable[[str], object]) -> None:
        self._owner, self._allowed, self._get = owner, frozenset(allowed), get

    def __getitem__(self, name: str):
        if name not in self._allowed:
            raise LookupError(
                f"{self._owner} reads {name!r}, which its declaration does not list ({sorted(self._allowed)})"
            )
        return self._get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._allowed))

    def __len__(self) -> int:
        return len(self._allowed)


# --------------------------------------------------------------------------- tables
_QUALITY_COLUMNS = ("quality_score", "rank", "win_rate_shrunk")


def _options(got: Mapping, *, span: bool = True) -> dict:
    """The keywords of a KPI function for the deals kept (and the range)."""
    options = {"fiscal_year_start": got["fiscal_year_start"], "where": got["where"] or None}
    if span:
        options["start"], options["end"] = got["range"]
    return options


def _covered(data: _Data, got: Mapping) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The part of the range the data covers (empty when ``lo > hi``)."""
    start, end = got["range"]
    return max(start, data.coverage[0]), min(end, data.coverage[1])


def _scores(data: _Data, got: Mapping, freq) -> pd.DataFrame:
    # scored among all peers, then only the chosen ones are shown: a pick in the ranking
    # changes neither
    start, end = got["range"]
    peers = got["peers"]
    return quality_score(
        data.deals,
        by=got["by"],
        freq=freq,
        start=start,
        end=end,
        fiscal_year_start=got["fiscal_year_start"],
        where=peers or None,
    )


def _kpis(data: _Data, got: Mapping) -> pd.DataFrame:
    by = got["by"]
    table = kpi_table(data.deals, by=by, freq=got["freq"], **_options(got))
    # the quality scores and ranks of the ranking's peers, not of the groups this table shows
    peer = got["period_scores"][[by, "period", *_QUALITY_COLUMNS]]
    scored = table.drop(columns=list(_QUALITY_COLUMNS)).merge(peer, on=[by, "period"], how="left")
    cols = [c for c in scored.columns if c not in _QUALITY_COLUMNS]
    at = cols.index("sales_velocity") + 1 if "sales_velocity" in cols else len(cols)
    scored = scored[[*cols[:at], *_QUALITY_COLUMNS, *cols[at:]]]
    scored.attrs = table.attrs
    return scored


def _before(data: _Data, got: Mapping) -> pd.DataFrame:
    # the totals of as many days just before the part of the range the data covers; a span
    # reaching back before the data begins is not a span with fewer deals: nothing to compare
    lo, hi = _covered(data, got)
    prev_start, prev_end = previous_span(lo, hi) if lo <= hi else previous_span(*got["range"])
    if lo > hi or prev_start < data.first:
        table = pd.DataFrame()
        table.attrs["covered"] = False
        return table
    table = kpi_table(data.deals, start=prev_start, end=prev_end, **_options(got, span=False))
    table.attrs["covered"] = True
    return table


def _trend(data: _Data, got: Mapping) -> pd.DataFrame:
    freq = got["freq"]
    table = kpi_table(data.deals, freq=freq, compare="previous", **_options(got))
    lo, hi = _covered(data, got)
    return equal_span_previous(
        table,
        data.deals,
        freq=freq,
        lo=lo,
        hi=hi,
        first=data.first,
        where=got["where"],
        fiscal_year_start=got["fiscal_year_start"],
    )


def _ranking(data: _Data, got: Mapping) -> pd.DataFrame:
    table, shown = got["scores"], got["shown"]
    if shown is not None:
        table = table[table["partner"].isin(shown)].reset_index(drop=True)
    return table


def _pipeline_stage(data: _Data, got: Mapping) -> pd.DataFrame:
    # the deals open on that day by stage, and apart those of them closed since (their stage
    # today is a closed one): a past snapshot lists no "Closed Won" stage
    end, kept, fys = got["end"], got["where"], got["fiscal_year_start"]
    opened = pipeline(data.deals, by="stage", end=end, fiscal_year_start=fys, where={**kept, "status": ["open"]})
    parts = [opened.assign(status="open")]
    for status, label in (("won", "Won since"), ("lost", "Lost since")):
        closed = pipeline(data.deals, end=end, fiscal_year_start=fys, where={**kept, "status": [status]})
        parts.append(closed.assign(stage=label, status=status))
    table = pd.concat(parts, ignore_index=True)
    table.insert(1, "status", table.pop("status"))
    table.insert(2, "as_of", min(end, data.coverage[1]))
    table.attrs = opened.attrs
    return table


#: How many deals the top movers table lists (the largest absolute change first).
TOP_MOVERS = 15


def _movement_options(got: Mapping) -> dict:
    # every input is read, history or not: a declaration cannot list one a maker does not read
    start, end = got["range"]
    options = {"freq": got["freq"], "start": start, "end": end, "fiscal_year_start": got["fiscal_year_start"]}
    return {**options, "by": None, "where": got["where"] or None}


def _movement(data: _Data, got: Mapping) -> pd.DataFrame | None:
    # the open pipeline's movement over the selection, per period of the range (its last
    # period is the waterfall's); the buckets are summed over the deals kept, per currency
    options = _movement_options(got)
    return None if data.history is None else pipeline_movement(data.history, **options)


def _last_period(movement: pd.DataFrame | None):
    if movement is None or movement.empty:
        return None
    return movement.sort_values("period_start")["period"].iloc[-1]


def _movement_deals(data: _Data, got: Mapping) -> pd.DataFrame | None:
    # the deals behind every bar of the waterfall (the range's last period)
    options = _movement_options(got)
    period = _last_period(got["movement"])
    if period is None:
        return None
    # the deals of the bars and of the memo line: not the many that did not move
    return movement_deals(data.history, period=period, bucket=[*BUCKETS, "memo"], **options)


def _movers(data: _Data, got: Mapping) -> pd.DataFrame | None:
    # the deals that moved the most in the waterfall's period, by the size of their move
    rows = got["movement_deals"]
    if rows is None:
        return None
    # the waterfall's bars only: the deals created and closed inside the period (the memo line)
    # never were open pipeline at either end
    moved = rows[~rows["bucket"].isin(["unchanged", "memo"])]
    size = moved["amount_cents"].astype("float64").abs()
    order = size.sort_values(ascending=False, kind="stable").index
    return moved.loc[order].head(TOP_MOVERS).reset_index(drop=True)


def _history_table(make) -> Callable[[_Data, Mapping], pd.DataFrame | None]:
    # a table of the history over the range and the deals kept (the funnel's cohort: deals
    # whose first stage began in the range)
    def table(data: _Data, got: Mapping) -> pd.DataFrame | None:
        start, end = got["range"]
        where = got["where"] or None
        return None if data.history is None else make(data.history, start=start, end=end, where=where)

    return table


def _stage_time(data: _Data, got: Mapping) -> pd.DataFrame | None:
    # the visits that overlap the range, over the deals kept: a deal waiting in a stage during
    # the range counts, whenever it entered it
    start, end = got["range"]
    where = got["where"] or None
    if data.history is None:
        return None
    return time_in_stage(data.history, start=start, end=end, where=where, visits="overlapping")


def _movement_check(data: _Data, got: Mapping) -> pd.DataFrame | None:
    # what the Pipeline tile shows (the export's deals as they are now, open on the range's last
    # day) beside the export's open pipeline on the waterfall's last day, per currency: the
    # Movement tab explains why the waterfall's end (the deals as recorded then) differs
    # every input is read before any is found empty: a maker reads what it declares, always
    movement, tile_end = got["movement"], got["range"][1]
    fys, where = got["fiscal_year_start"], got["where"] or None
    if movement is None or movement.empty:
        return None
    waterfall_end = pd.Timestamp(movement["period_end"].max()).normalize()
    parts, tables = [], {}
    for day, name in ((tile_end, "tile_amount"), (waterfall_end, "export_amount")):
        if day not in tables:  # the range usually ends where its last period does: one day
            tables[day] = pipeline(data.deals, by="currency", end=day, fiscal_year_start=fys, where=where)
        parts.append(tables[day].set_index("currency")["open_amount"].rename(name))
    out = pd.concat(parts, axis=1).fillna(0.0).rename_axis("currency").reset_index()
    out.insert(1, "tile_end", tile_end)
    out.insert(3, "waterfall_end", waterfall_end)
    return out


def _targets(data: _Data, got: Mapping) -> pd.DataFrame | None:
    targets, kept = got["given_targets"], got["where"]
    if targets is None or kept.keys() - {"partner"}:
        return None  # targets are per partner (or company-wide): no line for a channel or level filter
    if "partner" in kept and "partner" in targets:
        targets = targets[targets["partner"].isin(kept["partner"])]
    targets = targets.drop(columns=[c for c in ("partner", "owner", "department", "unit", "channel") if c in targets])
    try:
        return pipeline(data.deals, freq=got["freq"], targets=targets, **_options(got))
    except ChannelKPIError:
        return None  # targets at a coarser grain than the chosen periods: no target line


@dataclass(frozen=True)
class Table:
    """A table a view is made of: ``make(data, got)`` reads only the ``inputs`` (names of
    :data:`INPUTS` or of other tables) from ``got``. ``shown``: :func:`view_tables` returns it
    (otherwise it is a step other tables are made from, kept in the cache); ``periods``: it has
    a row per period, marked by :func:`mark_partial`."""

    name: str
    make: Callable[[_Data, Mapping], pd.DataFrame | None]
    inputs: tuple[str, ...]
    shown: bool = True
    periods: bool = False


#: Every table of a view, declared once, in the order :func:`view_tables` returns them.
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("scores", lambda d, g: _scores(d, g, None), ("by", "peers", "range"), shown=False),
        Table("period_scores", lambda d, g: _scores(d, g, g["freq"]), ("by", "peers", "range", "freq"), shown=False),
        Table("kpis", _kpis, ("where", "range", "by", "freq", "period_scores"), periods=True),
        Table("now", lambda d, g: kpi_table(d.deals, **_options(g)), ("where", "range")),
        Table("before", _before, ("where", "range")),
        Table("trend", _trend, ("where", "range", "freq"), periods=True),
        Table("ranking", _ranking, ("shown", "scores")),
        Table("pipeline_stage", _pipeline_stage, ("where", "end")),
        Table(
            "waterfall",
            lambda d, g: pipeline_waterfall(d.deals, freq=g["freq"], **_options(g)),
            ("where", "range", "freq"),
            periods=True,
        ),
        Table("targets", _targets, ("where", "range", "freq", "given_targets"), periods=True),
        Table(
            "channel_mix",
            lambda d, g: channel_performance(d.deals, freq=g["freq"], **_options(g)),
            ("where", "range", "freq"),
            periods=True,
        ),
        Table("channel_rates", lambda d, g: win_rate(d.deals, by="channel", **_options(g)), ("where", "range")),
        Table("seasonality", lambda d, g: seasonality(d.deals, by="unit", **_options(g)), ("where", "range")),
        Table("seasonality_all", lambda d, g: seasonality(d.deals, **_options(g)), ("where", "range")),
        Table("cycles", lambda d, g: cycle_distribution(d.deals, **_options(g)), ("where", "range")),
        Table(
            "cohorts",
            lambda d, g: deal_success(d.deals, freq=g["freq"], **_options(g)),
            ("where", "range", "freq"),
            periods=True,
        ),
        # made from the history (view_tables(history=...)); none without one
        Table("movement", _movement, ("where", "range", "freq"), periods=True),
        Table("movement_deals", _movement_deals, ("where", "range", "freq", "movement")),
        Table("movers", _movers, ("movement_deals",)),
        Table("funnel", _history_table(stage_funnel), ("where", "range")),
        Table("stage_time", _stage_time, ("where", "range")),
        Table("movement_check", _movement_check, ("where", "range", "movement")),
    )
}
#: The tables made from a history: without one, :func:`view_tables` has none of them.
HISTORY_TABLES = ("movement", "movement_deals", "movers", "funnel", "stage_time", "movement_check")


#: The tables other tables are made from: kept in :func:`view_tables`'s cache, so a table asked
#: for alone (a part of the Movement tab drawn when shown) does not make them again.
_READ = frozenset(i for t in TABLES.values() for i in t.inputs if i in TABLES)


def _check_tables() -> dict[str, tuple[str, ...]]:
    """Every table's view inputs, its own and those of the tables it is made from (declared
    before it); a name that is neither an input nor an earlier table is a declaration error."""
    reads: dict[str, tuple[str, ...]] = {}
    if TABLES.keys() & INPUTS.keys():
        raise ChannelKPIError(f"{sorted(TABLES.keys() & INPUTS.keys())} name both a table and an input")
    for table in TABLES.values():
        found = set(ALWAYS)
        for name in table.inputs:
            if name in INPUTS:
                found.add(name)
            elif name in reads:
                found.update(reads[name])
            else:
                raise ChannelKPIError(f"table {table.name!r} is made from {name!r}, which is no input or earlier table")
        reads[table.name] = tuple(sorted(found))
    return reads


#: What each table of :func:`view_tables` depends on (derived from :data:`TABLES`): the view
#: inputs it reads, directly or through the tables it is made from.
TABLE_INPUTS: dict[str, tuple[str, ...]] = _check_tables()


def table_key(name: str, view: View) -> tuple:
    """What :func:`view_tables` computes table ``name`` from: equal keys, equal tables (for the
    same deals). A dashboard keeps the tables it computed by key, so a control that a table does
    not depend on (the period size for the totals, the grouping for the trend) costs nothing.

    >>> a = table_key("now", View(by="partner", freq="Q", start="2025-01-01", end="2025-12-31"))
    >>> a == table_key("now", View(by="unit", freq="M", start="2025-01-01", end="2025-12-31"))
    True
    >>> a == table_key("now", View(start="2025-01-01", end="2025-12-31", where={"channel": ["paid"]}))
    False
    """
    if name not in TABLE_INPUTS:
        raise ChannelKPIError(f"no view table called {name!r}", fix=f"choose from {list(TABLES)}")
    return (name, *((i, INPUTS[i].key(view)) for i in TABLE_INPUTS[name]))


def view_tables(
    deals,
    view: View | None = None,
    *,
    only: Collection[str] | None = None,
    cache: MutableMapping | None = None,
    history=None,
    **options,
) -> dict[str, pd.DataFrame]:
    """Every table of a view (or the ``only`` ones), keyed by name.

    Parameters
    ----------
    deals : pandas.DataFrame or PreparedDeals
        The canonical deals table, or it prepared (:func:`channelkpi.prepare`) for many views;
        a table is prepared here when more than one table is asked for.
    view : View, optional
        What to show; or give its fields as keyword ``options`` (``by="unit"``, ...).
    only : collection of str, optional
        Compute just these tables (a dashboard computes what is on screen).
    cache : mutable mapping, optional
        Where the tables other tables are made from (the quality scores among all peers, the
        pipeline movement) are kept, by :func:`table_key`: showing other partners then only
        picks other rows of them.
        Keep one cache per deals and history.
    history : History, optional
        The deals' history (:func:`channelkpi.load_history`): the tables of
        :data:`HISTORY_TABLES` are made from it (``movement``: the open pipeline's movement
        per period of the range; ``movement_deals``: the deals behind the buckets of its last
        period and its memo line (not those unchanged); ``movers``: the :data:`TOP_MOVERS` of
        them that moved most; ``funnel``;
        ``stage_time``: the visits that overlap the range; ``movement_check``: the export's open
        pipeline per currency on the range's last day, as the Pipeline tile reads it, and on the
        waterfall's last day). Without one there are none of them.

    Returns
    -------
    dict of str -> pandas.DataFrame
        ``kpis`` (``by`` x period), ``now`` and ``before`` (totals of the range and of the same
        span just before the part of it the data covers), ``trend``, ``ranking``,
        ``pipeline_stage``, ``waterfall``, ``targets`` (when targets apply), ``channel_mix``,
        ``channel_rates``, ``seasonality``, ``seasonality_all``, ``cycles``, ``cohorts``
        (:data:`TABLES`).

    Notes
    -----
    Every table with periods has ``period_label`` and ``partial`` (:func:`mark_partial`). The
    trend's ``_prev`` columns compare equal spans (:func:`equal_span_previous`). The KPI table's
    quality scores and ranks are among the same peers as the ranking's (:func:`ranked_peers`),
    whichever groups it shows. ``pipeline_stage`` has a ``status`` column: the deals open on
    its ``as_of`` day by their stage (``open``), and those of them won or lost since.
    """
    v = view if view is not None else View(**options)
    names = [n for n, t in TABLES.items() if t.shown and (only is None or n in only)]
    unknown = set(only or ()) - {n for n, t in TABLES.items() if t.shown}
    if unknown:
        shown = [n for n, t in TABLES.items() if t.shown]
        raise ChannelKPIError(f"no view table called {sorted(unknown)}", fix=f"choose from {shown}")
    if isinstance(deals, pd.DataFrame) and (only is None or len(only) > 1):
        deals = prepare(deals)
    data = _Data(deals, history)
    values: dict[str, object] = {}
    made: dict[str, pd.DataFrame | None] = {}

    def value(name: str) -> object:
        if name not in values:
            values[name] = INPUTS[name].value(v, data)
        return values[name]

    def table(name: str) -> pd.DataFrame | None:
        if name in made:
            return made[name]
        spec = TABLES[name]
        key = table_key(name, v) if cache is not None and (not spec.shown or name in _READ) else None
        if key is not None and key in cache:
            made[name] = cache[key]
            return made[name]
        got = _Reads(f"table {name!r}", {*ALWAYS, *spec.inputs}, lambda n: table(n) if n in TABLES else value(n))
        out = spec.make(data, got)
        if out is not None and spec.periods:
            start, end = value("range")
            out = _marked(out, coverage=data.coverage, start=start, end=end)
        made[name] = out
        if key is not None:
            cache[key] = out
        return out

    return {name: t for name in names if (t := table(name)) is not None}


def _marked(table: pd.DataFrame, **span) -> pd.DataFrame:
    attrs = table.attrs
    table = mark_partial(table, **span)
    table.attrs = attrs
    return table


# --------------------------------------------------------------------------- charts
@dataclass(frozen=True)
class _Style:
    by: str
    currency: str
    subtitle: str | Sequence[str] | None
    lines: list[str]
    width: int | str
    unranked: str = ""


@dataclass(frozen=True)
class Chart:
    """A chart of a view: its ``title`` (for headings and file names), the ``tables`` it is
    drawn from (``targets`` when there are any) and ``draw(tables, style)``, which sees only
    those tables."""

    name: str
    title: str
    tables: tuple[str, ...]
    draw: Callable[[Mapping, _Style], alt.TopLevelMixin]


#: Every chart of :func:`view_charts`, declared once, in the order a page shows them.
CHARTS: dict[str, Chart] = {
    c.name: c
    for c in (
        Chart(
            "trend",
            N_("Won amount over time"),
            ("trend",),
            lambda t, s: charts.kpi_trend(
                t["trend"], "won_amount", currency=s.currency, subtitle=s.subtitle, width=s.width
            ),
        ),
        Chart(
            "ranking",
            N_("Ranking by quality score"),
            ("ranking",),
            lambda t, s: charts.partner_ranking(
                t["ranking"],
                by=s.by,
                currency=s.currency,
                subtitle=s.lines + ([s.unranked] if s.unranked else []),
                width=s.width,
            ),
        ),
        Chart(
            "pipeline_stage",
            N_("Open pipeline by stage"),
            ("pipeline_stage",),
            lambda t, s: charts.pipeline_by_stage(
                t["pipeline_stage"], currency=s.currency, subtitle=s.subtitle, width=s.width
            ),
        ),
        Chart(
            "waterfall",
            N_("Pipeline waterfall"),
            ("waterfall", "targets"),
            lambda t, s: charts.pipeline_waterfall(
                t["waterfall"], targets=t.get("targets"), currency=s.currency, subtitle=s.subtitle, width=s.width
            ),
        ),
        Chart(
            "channel_mix",
            N_("Marketing channel mix"),
            ("channel_mix",),
            lambda t, s: charts.channel_mix(t["channel_mix"], currency=s.currency, subtitle=s.subtitle, width=s.width),
        ),
        Chart(
            "channel_win_rates",
            N_("Win rate by channel"),
            ("channel_rates",),
            lambda t, s: charts.win_rate_by_group(t["channel_rates"], by="channel", subtitle=s.subtitle, width=s.width),
        ),
        Chart(
            "seasonality",
            N_("Close-rate seasonality by unit"),
            ("seasonality",),
            lambda t, s: charts.seasonality_heatmap(t["seasonality"], by="unit", subtitle=s.subtitle, width=s.width),
        ),
        Chart(
            "seasonality_bands",
            N_("Win rate by month of year"),
            ("seasonality_all",),
            lambda t, s: charts.seasonality_bands(t["seasonality_all"], subtitle=s.subtitle, width=s.width),
        ),
        Chart(
            "cycles",
            N_("Cycle length, won vs lost"),
            ("cycles",),
            lambda t, s: charts.cycle_distribution(t["cycles"], subtitle=s.subtitle, width=s.width),
        ),
        Chart(
            "cohorts",
            N_("Deal success by creation cohort"),
            ("cohorts",),
            lambda t, s: charts.deal_success_cohorts(t["cohorts"], subtitle=s.subtitle, width=s.width),
        ),
    )
}
#: What each chart shows, for headings and file names (from :data:`CHARTS`; in English: a page
#: translates each one as it shows it).
CHART_TITLES: dict[str, str] = {c.name: c.title for c in CHARTS.values()}
#: The tables each chart is drawn from (from :data:`CHARTS`).
CHART_TABLES: dict[str, tuple[str, ...]] = {c.name: c.tables for c in CHARTS.values()}


@renamed_keywords(level="by")
def view_charts(
    tables: Mapping[str, pd.DataFrame],
    *,
    by: str = "partner",
    currency: str = DEFAULT_CURRENCY,
    only: Collection[str] | None = None,
    subtitle: str | Sequence[str] | None = None,
    width: int | str = "container",
    font: str | None = None,
    unranked: str | None = None,
) -> dict[str, alt.TopLevelMixin]:
    """Every chart (or the ``only`` ones) for the tables of :func:`view_tables`, keyed as :data:`CHARTS`.

    Parameters
    ----------
    by : str
        The column the ranking is grouped by (``level=`` is its old name, deprecated).
    currency : str, default "USD"
        The ISO 4217 code of the amounts (the charts write its symbol).
    only : collection of str, optional
        The names of the charts to draw (default: all of :data:`CHARTS`).
    subtitle : str or list of str, optional
        What the charts show (e.g. :func:`selection_text`): each chart carries it under its title,
        so an exported image says it too, with the chart's own notes (incomplete periods, how
        many groups the ranking shows).
    width : int or "container"
        Pixels, or the width of the page element the chart is drawn in (a dashboard).
    font : str, optional
        The font family (default :data:`channelkpi.charts.FONT`; a report drawn to files uses
        :data:`channelkpi.charts.PRINT_FONT`).
    unranked : str, optional
        What the ranking leaves out, under its title (default: for ``by="partner"``, that deals
        without a partner are not ranked; see :func:`unranked_text`; ``""``: nothing).

    Every chart carries the channelkpi theme in its own spec (:func:`channelkpi.charts.themed`)
    and a text alternative (``description``).
    """
    sub = subtitle
    lines = ([sub] if isinstance(sub, str) else list(sub or [])) if sub else []
    if unranked is None:
        unranked = unranked_text(by) if by == "partner" else ""
    style = _Style(by=by, currency=currency, subtitle=sub, lines=lines, width=width, unranked=unranked)
    family = font or charts.FONT
    out = {}
    for name, chart in CHARTS.items():
        if only is None or name in only:
            got = _Reads(f"chart {name!r}", chart.tables, lambda n: tables[n])
            out[name] = charts.themed(chart.draw(got, style), font=family)
    return out


# --------------------------------------------------------------------------- moved names
#: Old public names, with where they live now: they work with a DeprecationWarning until the
#: next release.
_MOVED = {
    "LEVEL_TITLES": ("channelkpi.formats", "BY_TITLES"),
    "view_filter": ("channelkpi.views", "view_where"),
    "display_name": ("channelkpi.formats", "display_name"),
    "DIRECT_LABEL": ("channelkpi.formats", "DIRECT_LABEL"),
    "column_kind": ("channelkpi.formats", "column_kind"),
    "excel_format": ("channelkpi.formats", "excel_format"),
    "format_value": ("channelkpi.formats", "format_value"),
    **{
        name: ("channelkpi.tiles", name)
        for name in (
            "TILES",
            "TILE_COUNTS",
            "TILE_DEFINITIONS",
            "TILE_TABLES",
            "BETTER",
            "CSS",
            "tile_definition",
            "tile_values",
            "tiles_html",
            "ledger_html",
        )
    },
}


def __getattr__(name: str):
    if name not in _MOVED:
        raise AttributeError(f"module 'channelkpi.views' has no attribute {name!r}")
    from . import formats, tiles

    module, new = _MOVED[name]
    warn_deprecated(f"channelkpi.views.{name}", f"{module}.{new}")
    home = {"channelkpi.formats": formats, "channelkpi.tiles": tiles}.get(module)
    return getattr(home, new) if home is not None else globals()[new]
