"""The dashboard's "Deals" panel: the deals behind the number last clicked, sortable, downloadable.

Which cell a tile, a bar or a point is and the rows behind it come from
:mod:`channelkpi.drill`; this module only holds the widgets: the caption and table (escaped
HTML), a sort control, CSV and Excel downloads and a close button. Rows are computed on a click,
never on a control change.

Examples
--------
>>> from channelkpi.datasets import make_sample_deals
>>> from channelkpi.drill import tile_cell
>>> from channelkpi.views import View
>>> panel = DealsPanel(make_sample_deals())
>>> panel.open(tile_cell("won_count", View(start="2025-01-01", end="2025-12-31")))
>>> panel.page.counts["won"] > 0, panel.page.total == sum(panel.page.counts.values())
(True, True)
"""

from __future__ import annotations

import base64
import re

import anywidget
import ipywidgets as w
import traitlets

from .currency_symbols import DEFAULT_CURRENCY
from .drill import DEALS_SHOWN, DealsCell, DealsPage, deals_download, deals_html, deals_page, sort_choices
from .errors import ChannelKPIError
from .i18n import N_, current_locale, in_own_locale
from .i18n import gettext as _
from .safety import html_text

__all__ = ["DealsPanel", "DEALS_CSS"]

#: Styles of the panel (inline: nothing is fetched from a network).
DEALS_CSS = """
<style>
.ck-deals {border: 1px solid #dde3ea; border-radius: 8px; padding: 8px 12px; margin: 8px 0; background: #ffffff;}
.ck-deals .ck-deals-body {max-height: 480px; overflow: auto;}
.ck-deals .ck-deals-table th[aria-sort], .ck-deals .ck-deals-table th[aria-sort] .ck-sort {color: #0b5cad;}
.ck-deals .ck-sort {all: unset; cursor: pointer; font-weight: 600; border-bottom: 1px dotted #9aa5b1;}
.ck-deals .ck-sort:hover {color: #0b5cad;}
.ck-deals .ck-sort:focus-visible {outline: 2px solid #0b5cad; outline-offset: 2px;}
.ck-deals .ck-deals-caption {font-size: 14px; margin-bottom: 2px; overflow-wrap: anywhere;}
.ck-deals .ck-deals-table td.ck-num, .ck-deals .ck-deals-table td.ck-nowrap {white-space: nowrap;}
.ck-tile-deals {flex-wrap: wrap; gap: 4px; align-items: center;}
.ck-tile-deals .widget-button {width: auto;}
</style>
"""
# The page side of the panel, inline (nothing fetched): each time ``reveal`` changes, the panel is
# scrolled into view (it sits below the charts, under the fold of a laptop's screen) and the
# keyboard focus moves to its caption, so a screen reader reads what opened. A click on a
# heading's button (``data-ck-sort``, see channelkpi.drill.deals_html) is sent back as ``heading``.
_PANEL_ESM = """
export default {
  render({model, el}) {
    const panel = () => el.closest(".ck-deals");
    const clicked = (event) => {
      const button = event.target.closest && event.target.closest("button[data-ck-sort]");
      const box = panel();
      if (!button || !box || !box.contains(button)) return;
      const count = (model.get("heading") || {}).count || 0;
      model.set("heading", {column: button.dataset.ckSort, count: count + 1});
      model.save_changes();
    };
    document.addEventListener("click", clicked);
    const reveal = () => requestAnimationFrame(() => {
      const box = panel();
      if (!box || box.offsetParent === null) return;
      box.scrollIntoView({block: "nearest"});
      const caption = box.querySelector(".ck-deals-caption");
      if (caption) caption.focus({preventScroll: true});
    });
    model.on("change:reveal", reveal);
    return () => {
      model.off("change:reveal", reveal);
      document.removeEventListener("click", clicked);
    };
  },
};
"""


class _PanelScript(anywidget.AnyWidget):
    """What the panel does in the page: brought into view (and focused) when ``reveal`` changes;
    ``heading`` is the column heading last clicked (with a count, so a second click is a change)."""

    _esm = _PANEL_ESM
    reveal = traitlets.Int(0).tag(sync=True)
    heading = traitlets.Dict().tag(sync=True)


_DEFAULT_SORT = ""  # the sort control's "how it counts" (channelkpi.drill.deals_page's own order)
_DEFAULT_LABEL = N_("How it counts (won first), largest amount first")
# a heading clicked once sorts these largest (or latest) first, the others A to Z
_FIRST_DESCENDING = ("amount", "created", "closed")


class DealsPanel:
    """The deals behind one number: open it with a :class:`~channelkpi.drill.DealsCell`.

    Parameters
    ----------
    deals : pandas.DataFrame or PreparedDeals
        What the numbers were computed from.
    currency : str
        The ISO 4217 code amounts are shown in.
    limit : int
        How many rows the table shows (the downloads have every row).

    Attributes
    ----------
    widget : ipywidgets.VBox
        The panel (hidden until a cell is opened).
    page : DealsPage or None
        What the table shows.
    """

    def __init__(self, deals, *, currency: str = DEFAULT_CURRENCY, limit: int = DEALS_SHOWN) -> None:
        self.deals = deals
        self.currency = currency
        self.locale = current_locale()  # its callbacks speak it too (in_own_locale)
        self.limit = limit
        self.cell: DealsCell | None = None
        self.page: DealsPage | None = None
        self.table = w.HTML()
        self.sort = w.Dropdown(description=_("Sort by"), options=[(_(_DEFAULT_LABEL), _DEFAULT_SORT)])
        self.order = w.ToggleButtons(
            options=[(_("Ascending"), True), (_("Descending"), False)],
            value=True,
            style={"button_width": "auto"},
            disabled=True,  # the default order has its own directions
        )
        self.csv = w.Button(description=_("Deals (CSV)"), tooltip=_("Every deal behind this number, as CSV"))
        self.excel = w.Button(description=_("Deals (Excel)"), tooltip=_("Every deal behind this number, as Excel"))
        self.close_button = w.Button(description=_("Close"), tooltip=_("Close the deals table"))
        self.links = w.HTML()
        self.csv.on_click(lambda _b: self._download("csv"))
        self.excel.on_click(lambda _b: self._download("xlsx"))
        self.close_button.on_click(lambda _b: self.close())
        self.sort.observe(self._on_sort, names="value")
        self.order.observe(self._on_sort, names="value")
        self.on_close = None  # called after the panel closes (the dashboard resets the clicked marks)
        bar = w.HBox([self.sort, self.order, self.csv, self.excel, self.close_button]).add_class("ck-row")
        body = w.Box([self.table]).add_class("ck-deals-body")
        self.script = _PanelScript()
        self.script.observe(self._on_heading, names="heading")
        self.widget = w.VBox([w.HTML(DEALS_CSS), self.script, bar, self.links, body]).add_class("ck-deals")
        self.widget.layout.display = "none"

    @property
    def is_open(self) -> bool:
        return self.widget.layout.display != "none"

    @in_own_locale
    def open(self, cell: DealsCell) -> None:
        """Show the deals behind ``cell`` (a readable message instead if they cannot be listed)."""
        self.cell = cell
        self.links.value = ""
        self.widget.layout.display = None
        self._show(sort=None, ascending=True, reset=True)
        self.script.reveal += 1  # after the table: the page scrolls to what it shows

    @in_own_locale
    def close(self) -> None:
        self.widget.layout.display = "none"
        self.cell, self.page = None, None
        self.table.value = self.links.value = ""
        if self.on_close is not None:
            self.on_close()

    def _show(self, *, sort, ascending: bool, reset: bool = False) -> None:
        try:
            self.page = deals_page(self.deals, self.cell, limit=self.limit, sort=sort, ascending=ascending)
        except ChannelKPIError as exc:
            self.page = None
            self.table.value = f"<div class='ck-message' role='alert'>{html_text(exc)}</div>"
            return
        except Exception as exc:  # a dashboard shows a readable message, never a traceback
            self.page = None
            text = _("The deals could not be listed ({error}).").format(error=f"{type(exc).__name__}: {exc}")
            self.table.value = f"<div class='ck-message' role='alert'>{html_text(text)}</div>"
            return
        if reset:
            choices = [(_(_DEFAULT_LABEL), _DEFAULT_SORT), *sort_choices(self.page.rows.columns)]
            self.sort.unobserve(self._on_sort, names="value")
            self.order.unobserve(self._on_sort, names="value")
            try:
                self.sort.options = choices
                self.sort.value = _DEFAULT_SORT
                self.order.value = True
                self.order.disabled = True
            finally:
                self.sort.observe(self._on_sort, names="value")
                self.order.observe(self._on_sort, names="value")
        self.table.value = deals_html(self.page, currency=self.currency)

    @in_own_locale
    def sort_by(self, column: str | None, *, ascending: bool = True) -> None:
        """Sort the table by ``column`` (None: how it counts, largest amount first)."""
        self.sort.unobserve(self._on_sort, names="value")
        try:
            self.sort.value = column or _DEFAULT_SORT
        finally:
            self.sort.observe(self._on_sort, names="value")
        if self.order.value != ascending:
            self.order.value = ascending  # sorts
        else:
            self._on_sort(None)

    @in_own_locale
    def click_heading(self, column: str) -> None:
        """What a click on a column's heading does: sort by it (amounts and dates largest or
        latest first, text A to Z), or, if the table is sorted by it already, the other way."""
        if not column or column not in [value for _label, value in self.sort.options]:
            return  # not a heading of the table (a page cannot ask for another column)
        if self.sort.value == column:
            self.sort_by(column, ascending=not self.order.value)
        else:
            self.sort_by(column, ascending=column not in _FIRST_DESCENDING)

    @in_own_locale
    def _on_heading(self, change) -> None:
        column = (change["new"] or {}).get("column")
        if self.cell is not None and isinstance(column, str):
            self.click_heading(column)

    @in_own_locale
    def _on_sort(self, _change) -> None:
        self.order.disabled = not self.sort.value
        if self.cell is not None:
            self._show(sort=self.sort.value or None, ascending=self.order.value)

    @in_own_locale
    def _download(self, fmt: str) -> None:
        if self.cell is None:
            return
        try:
            data = deals_download(
                self.deals,
                self.cell,
                fmt,
                currency=self.currency,
                sort=self.sort.value or None,
                ascending=self.order.value,
            )
        except Exception as exc:  # a readable message instead of a traceback
            text = _("The download failed ({error}).").format(error=exc)
            self.links.value = f"<div class='ck-message' role='alert'>{html_text(text)}</div>"
            return
        mime = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        name = _file_name(_("Deals - {what} - {where}").format(what=self.cell.title, where=self.cell.place), fmt)
        href = f"data:{mime};base64,{base64.b64encode(data).decode()}"
        save = html_text(_("Save {file}").format(file=name))
        self.links.value = f"<a download='{html_text(name)}' href='{href}'>{save}</a>"


def _file_name(text: str, suffix: str) -> str:
    text = text.replace(" · ", " - ").replace("–", "-")
    text = " ".join(re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " ", text).split()).strip(" .-")[:150]
    return f"{text or 'deals'}.{suffix}"
