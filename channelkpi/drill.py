"""The deals behind a number of a view: which cell a tile, a bar or a point is, and its rows.

A dashboard (or any page) shows numbers made by :func:`channelkpi.views.view_tables`; this
module says, for each of them, which KPI cell it is (:class:`DealsCell`: the KPI, its column,
its options and the cell, as :func:`channelkpi.deals_behind` takes them) and turns that cell's
rows into a page (:func:`deals_page`: the first rows, how many there are, how they count) and
its HTML (:func:`deals_html`, every text escaped) or a download (:func:`deals_download`).

Nothing here draws a widget: the dashboard puts the HTML on its page.

Examples
--------
>>> from channelkpi.datasets import make_sample_deals
>>> from channelkpi.views import View
>>> view = View(by="partner", freq="Q", start="2025-01-01", end="2025-12-31")
>>> cell = tile_cell("win_rate", view)
>>> cell.kpi, cell.column, cell.title
('kpi_table', 'win_rate', 'Win rate')
>>> page = deals_page(make_sample_deals(), cell, limit=5)
>>> len(page.rows), page.total == sum(page.counts.values())
(5, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .currency_symbols import DEFAULT_CURRENCY, currency_symbol
from .errors import ChannelKPIError
from .formats import (
    channel_name,
    date_text,
    display_name,
    excel_format,
    level_title,
    money,
    money_whole,
    number,
    period_text,
)
from .i18n import N_
from .i18n import gettext as _
from .metrics.behind import counts_as_text, deals_behind
from .safety import html_text, to_csv, to_excel
from .views import View, ranked_peers, selection_text

__all__ = [
    "DEALS_SHOWN",
    "DEAL_COLUMNS",
    "DEAL_TITLES",
    "TILE_CELLS",
    "CHART_CELLS",
    "DealsCell",
    "DealsPage",
    "tile_cell",
    "ranking_cell",
    "chart_cell",
    "deals_page",
    "deals_html",
    "deals_download",
    "download_frame",
    "download_titles",
    "sort_choices",
]

#: How many rows a page of deals shows (the download has them all).
DEALS_SHOWN = 200
#: The columns a deals table shows, in order (``name`` and ``account`` when the deals have them).
DEAL_COLUMNS = ("name", "account", "deal_id", "partner", "owner", "stage", "amount", "created", "closed", "counts_as")
#: Their headings (in English: a page or a download translates each one as it shows it).
DEAL_TITLES = {
    "name": N_("Deal"),
    "account": N_("Account"),
    "deal_id": N_("Deal ID"),
    "partner": N_("Partner"),
    "owner": N_("Owner"),
    "stage": N_("Stage"),
    "amount": N_("Amount"),
    "created": N_("Created"),
    "closed": N_("Closed"),
    "counts_as": N_("How it counts"),
}
#: Each tile (by the column :data:`channelkpi.tiles.TILES` names) as a column of
#: :func:`channelkpi.kpi_table` over the view's range: the deals behind its number.
TILE_CELLS = {
    "avg_deal_size": "avg_deal_size",
    "won_count": "won_count",
    "open_amount": "open_amount",
    "partner_share": "won_amount_partner",  # the share's numerator; the denominator is the won amount
    "win_rate": "win_rate",
    "cycle_days_median": "cycle_days_median",
    "success_rate": "success_rate",
}
_TILE_TITLES = {
    "avg_deal_size": N_("Average deal size"),
    "won_count": N_("Deals won"),
    "open_amount": N_("Open pipeline"),
    "partner_share": N_("Partner-sourced wins"),
    "win_rate": N_("Win rate"),
    "cycle_days_median": N_("Median cycle (won)"),
    "best_quality": N_("Best quality score"),
    "success_rate": N_("Deal success"),
}
#: The charts whose marks open deals: chart -> (KPI, column, ``by``, the fields a click reports).
#: ``freq`` is the view's when ``period`` is among the fields.
CHART_CELLS: dict[str, tuple[str, str, str | None, tuple[str, ...]]] = {
    "trend": ("kpi_table", "won_amount", None, ("period",)),
    "channel_mix": ("channel_performance", "won_amount", "channel", ("channel", "period")),
    "channel_win_rates": ("win_rate", "win_rate", "channel", ("channel",)),
    "cohorts": ("deal_success", "success_rate", None, ("period",)),
}
_CHART_TITLES = {
    "trend": N_("Won amount"),
    "channel_mix": N_("Won amount"),
    "channel_win_rates": N_("Win rate"),
    "cohorts": N_("Deal success"),
}


@dataclass(frozen=True)
class DealsCell:
    """One number of a view as :func:`channelkpi.deals_behind` opens it.

    ``title`` names the number ("Win rate"), ``place`` where it is ("Acme · 2025-Q1", or the
    view's selection line for a total); ``options`` are the keywords of ``deals_behind``.
    """

    kpi: str
    column: str
    title: str
    place: str
    options: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class DealsPage:
    """The first rows of a cell (``rows``, as :func:`channelkpi.deals_behind` gives them),
    how many the cell lists (``total``) and how many of each ``counts_as`` (``counts``)."""

    cell: DealsCell
    rows: pd.DataFrame
    total: int
    counts: Mapping[str, int]
    sort: str | None = None
    ascending: bool = True

    @property
    def caption(self) -> str:
        """What the table explains: "Win rate · Acme · 2025-Q1: 12 won, 30 lost (42 deals)"."""
        parts = ", ".join(f"{number(n)} {counts_as_text(kind)}" for kind, n in self.counts.items())
        head = f"{self.cell.title} · {self.cell.place}"
        if not self.total:
            return _("{number}: no deals").format(number=head)
        deals = (_("{count} deal") if self.total == 1 else _("{count} deals")).format(count=number(self.total))
        return f"{head}: {parts} ({deals})"

    @property
    def shown_text(self) -> str:
        """ "200 of 1,234 deals" (or "All 42 deals")."""
        if len(self.rows) < self.total:
            return _("{shown} of {total} deals").format(shown=number(len(self.rows)), total=number(self.total))
        everyone = _("All {count} deal") if self.total == 1 else _("All {count} deals")
        return everyone.format(count=number(self.total))


def _span(view: View) -> dict:
    return {"start": view.start, "end": view.end, "fiscal_year_start": view.fiscal_year_start}


def tile_cell(column: str, view: View, *, best: str | None = None, deals=None) -> DealsCell:
    """The deals behind a tile (by its column in :data:`channelkpi.tiles.TILES`) over ``view``.

    The tiles are :func:`channelkpi.kpi_table` totals of the view's range and deals; the best
    quality score is ``best``'s (the value of ``view.by`` with the best score) among the
    ranking's peers, which need the ``deals`` (see :func:`channelkpi.views.ranked_peers`).

    >>> tile_cell("partner_share", View(start="2025-01-01", end="2025-03-31")).column
    'won_amount_partner'
    """
    if column == "best_quality":
        if best is None or deals is None:
            raise ChannelKPIError("no quality score to open: nothing is ranked in this view")
        return ranking_cell(view, best, deals=deals, title=_(_TILE_TITLES[column]))
    if column not in TILE_CELLS:
        raise ChannelKPIError(f"no tile {column!r}", fix=f"choose from {[*TILE_CELLS, 'best_quality']}")
    options = {"by": None, "freq": None, "where": view.effective_where or None, **_span(view)}
    place = selection_text(view, grouping=False)  # one number of the range
    return DealsCell("kpi_table", TILE_CELLS[column], _(_TILE_TITLES[column]), place, options)


def ranking_cell(view: View, value: str, *, deals, title: str = N_("Quality score")) -> DealsCell:
    """The deals behind one bar of the ranking: the value's won and lost deals of the range,
    among the same peers the ranking scores (:func:`channelkpi.views.ranked_peers`)."""
    peers, _shown = ranked_peers(deals, view.where, view.by)
    options = {"by": view.by, "freq": None, "where": peers or None, "cell": {view.by: value}, **_span(view)}
    # the ranking scores every peer: the place is the value within the view's other filters
    others = View(by=view.by, freq=view.freq, start=view.start, end=view.end, where=view.where)
    place = f"{display_name(value)} · {selection_text(others)}"
    return DealsCell("quality_score", "quality_score", _(title), place, options)


def _value_name(column: str, value) -> str:
    return channel_name(value) if column == "channel" else display_name(value)


def chart_cell(chart: str, clicked: Mapping[str, object], view: View) -> DealsCell:
    """The deals behind a mark of ``chart`` (:data:`CHART_CELLS`), from the fields a click on it
    reports (``{"channel": "paid", "period": "2025-Q1"}``).

    >>> cell = chart_cell("trend", {"period": "2025-Q2"}, View(freq="Q", start="2025-01-01", end="2025-12-31"))
    >>> cell.options["cell"], cell.place.split(" · ")[0]
    ({'period': '2025-Q2'}, '2025-Q2')
    """
    if chart not in CHART_CELLS:
        raise ChannelKPIError(f"the chart {chart!r} does not open deals", fix=f"choose from {list(CHART_CELLS)}")
    kpi, column, by, fields = CHART_CELLS[chart]
    missing = [f for f in fields if f not in clicked]
    if missing:
        raise ChannelKPIError(f"the click on {chart} does not say {missing}")
    cell = {f: str(clicked[f]) for f in fields}
    options = {
        "by": by,
        "freq": view.freq if "period" in fields else None,
        "where": view.effective_where or None,
        "cell": cell,
        **_span(view),
    }
    # a period says itself ("2025-Q2"); another value is named with its column ("Channel: unknown")
    named = [period_text(v) if f == "period" else f"{level_title(f)}: {_value_name(f, v)}" for f, v in cell.items()]
    place = " · ".join([*named, selection_text(view)])
    return DealsCell(kpi, column, _(_CHART_TITLES[chart]), place, options)


def _listed_without_deals(deals, cell: DealsCell) -> bool:
    """Whether the cell is a value only a partner or owner table has (a partner signed with no
    deals yet, ranked with none): its deals are none, not an unknown value."""
    tables = getattr(deals, "dimensions", None) or {}
    for col, value in dict(cell.options.get("cell") or {}).items():
        listed = any(col in t.columns and (t[col].astype(str) == str(value)).any() for t in tables.values())
        if listed:
            have = deals.level(col)[1] if hasattr(deals, "level") else deals[col].astype(str).unique()
            if str(value) not in {str(v) for v in have}:
                return True
    return False


def deals_page(
    deals, cell: DealsCell, *, limit: int | None = DEALS_SHOWN, sort: str | None = None, ascending: bool = True
) -> DealsPage:
    """The first ``limit`` rows behind ``cell`` (all with None), sorted by ``sort`` (default:
    grouped by how they count, the won ones first and the excluded ones last, largest amount
    first within each group), with the count of all of them.

    ``deals`` is what the view's tables were computed from (a :class:`~channelkpi.PreparedDeals`
    makes a click cheap).

    >>> from channelkpi.datasets import make_sample_deals
    >>> page = deals_page(make_sample_deals(), tile_cell("win_rate", View(start="2025-01-01", end="2025-12-31")))
    >>> list(page.counts)[:2], list(dict.fromkeys(page.rows["counts_as"]))[:1]
    (['won', 'lost'], ['won'])
    """
    if _listed_without_deals(deals, cell):
        return DealsPage(cell, pd.DataFrame(columns=list(DEAL_COLUMNS)), 0, {}, sort, ascending)
    # the default order (grouped by how the rows count, largest first in each) is deals_behind's:
    # only the rows shown are built, whatever the cell's size
    options = {"sort": sort, "ascending": ascending} if sort is not None else {}
    rows = deals_behind(deals, cell.kpi, column=cell.column, limit=limit, **options, **cell.options)
    about = rows.attrs["channelkpi"]
    return DealsPage(cell, rows, about["rows"], about["counts"], sort, ascending if sort is not None else True)


def _columns(rows: pd.DataFrame) -> list[str]:
    optional = ("name", "account")
    return [c for c in DEAL_COLUMNS if c in rows.columns and (c not in optional or rows[c].notna().any())]


_NO_WRAP = ("created", "closed", "stage")  # a date or "Closed Won" read on one line


def _cell_text(col: str, value, symbol: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return "—"
    if col == "amount":  # cents only where an amount has them: "-$250" beside "$5,000"
        return money_whole(value, symbol) if float(value) == round(float(value)) else money(value, symbol)
    if col in ("created", "closed"):
        return date_text(value)  # as the rest of the page writes a day
    if col == "partner":
        return display_name(value)
    if col == "counts_as":
        return counts_as_text(value)
    return str(value)


def deals_html(page: DealsPage, *, currency: str = DEFAULT_CURRENCY, sortable: bool = True) -> str:
    """A page of deals as an HTML table: the caption, "200 of 1,234 deals", every cell escaped.

    The headings say the sort (``aria-sort``); with ``sortable`` each is a button carrying its
    column (``data-ck-sort``), which the page's script turns into a sort (see
    :mod:`channelkpi.dealspanel`).
    """
    symbol = currency_symbol(currency)
    cols = _columns(page.rows)
    head = []
    for col in cols:
        sort = ""
        if page.sort == col:
            sort = f" aria-sort='{'ascending' if page.ascending else 'descending'}'"
            arrow = " ▲" if page.ascending else " ▼"
        else:
            arrow = ""
        num = " class='ck-num'" if col == "amount" else ""
        heading = _(DEAL_TITLES[col])
        text = html_text(heading + arrow)
        if sortable:
            sort_by = _("Sort by {column}").format(column=heading.lower())
            text = (
                f"<button type='button' class='ck-sort' data-ck-sort='{html_text(col)}' "
                f"title='{html_text(sort_by)}'>{text}</button>"
            )
        head.append(f"<th scope='col'{num}{sort}>{text}</th>")
    body = []
    for rec in page.rows[cols].itertuples(index=False):
        tds = []
        for col, value in zip(cols, rec):
            num = " class='ck-num'" if col == "amount" else " class='ck-nowrap'" if col in _NO_WRAP else ""
            tds.append(f"<td{num}>{html_text(_cell_text(col, value, symbol))}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    table = (
        f"<table class='ck-table ck-deals-table'><thead><tr>{''.join(head)}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
        if page.total
        else "<p class='ck-note'>" + html_text(_("No deal counts in this number.")) + "</p>"
    )
    return (
        f"<div class='ck-deals-caption' role='heading' aria-level='3' tabindex='-1'><b>{html_text(page.caption)}</b></div>"
        f"<div class='ck-note ck-deals-shown'>{html_text(page.shown_text)}</div>{table}"
    )


#: Headings of the deals' other columns in a download (the rest: the column's name in words).
_OTHER_TITLES = {
    "currency": N_("Currency"),
    "status": N_("Status"),
    "expected_close": N_("Expected close"),
    "probability": N_("Probability"),
}


def download_titles(columns: Sequence[str]) -> dict[str, str]:
    """Each column's heading in a download: the deals table's, else the column's name in words
    (a heading another column has already gets the column's name after it).

    >>> download_titles(["name", "amount", "expected_close", "lead_source", "deal"])
    {'name': 'Deal', 'amount': 'Amount', 'expected_close': 'Expected close', 'lead_source': 'Lead source', 'deal': 'Deal (deal)'}
    """
    out: dict[str, str] = {}
    for col in columns:
        known = DEAL_TITLES.get(col) or _OTHER_TITLES.get(col)
        title = _(known) if known else level_title(col)
        out[col] = f"{title} ({col})" if title in out.values() else title
    return out


def download_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows as a download lists them: the deals table's columns, then the deals' other
    columns, every one under a heading in words (:func:`download_titles`)."""
    cols = _columns(rows)
    rest = [c for c in rows.columns if c not in cols and c not in DEAL_COLUMNS]
    out = rows[[*cols, *rest]].copy()
    if "partner" in out:
        out["partner"] = out["partner"].map(lambda v: v if pd.isna(v) else display_name(v))
    if "counts_as" in out:
        out["counts_as"] = out["counts_as"].map(lambda v: v if pd.isna(v) else counts_as_text(v))
    return out.rename(columns=download_titles(list(out.columns)))


def deals_download(
    deals,
    cell: DealsCell,
    fmt: str,
    *,
    currency: str = DEFAULT_CURRENCY,
    sort: str | None = None,
    ascending: bool = True,
) -> bytes:
    """Every deal behind ``cell`` as a ``"csv"`` (UTF-8 with BOM) or ``"xlsx"`` file, through
    :mod:`channelkpi.safety` (no cell runs as a formula).

    The CSV is the heading row and the rows alone, so that any program reads it as a table
    (the file's name says which number the deals explain); the workbook says it on an "About"
    sheet.
    """
    page = deals_page(deals, cell, limit=None, sort=sort, ascending=ascending)
    frame = download_frame(page.rows)
    if fmt == "csv":
        return to_csv(frame).encode("utf-8-sig")
    if fmt == "xlsx":
        symbol = currency_symbol(currency)
        dates = [t for t in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[t])]
        formats = {_("Amount"): excel_format("money", symbol), **dict.fromkeys(dates, "yyyy-mm-dd")}
        about = pd.DataFrame({_("About"): [_("Deals behind"), _("Deals")], _("Value"): [page.caption, page.total]})
        return to_excel({_("Deals"): frame, _("About"): about}, number_formats=formats.get)
    raise ChannelKPIError(f"fmt={fmt!r}", fix="use 'csv' or 'xlsx'")


def sort_choices(columns: Sequence[str]) -> list[tuple[str, str]]:
    """(heading, column) of the columns a deals table can be sorted by."""
    return [(_(DEAL_TITLES[c]), c) for c in DEAL_COLUMNS if c in columns]
