"""The interactive dashboard: ipywidgets controls, KPI tiles and linked Altair charts.

This module and :mod:`channelkpi.picklist` (its searchable list) are the only modules of
channelkpi that use ipywidgets. The :class:`Dashboard` keeps its state on itself and recomputes
everything in one method, :meth:`Dashboard.refresh`; widget callbacks only change the state and
call it. Charts are ``alt.JupyterChart`` widgets updated in place (``jchart.chart = new_chart``),
which renders offline once :func:`enable_offline` has run.

Examples
--------
>>> from channelkpi.datasets import make_sample_deals
>>> dash = Dashboard(make_sample_deals())  # doctest: +SKIP
>>> dash  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import re
import warnings
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence

import altair as alt
import ipywidgets as w
import pandas as pd

from .caveats import data_caveats, has_lead_sources, has_partners, unreadable_values
from .charts import CELL_PARAM, clickable
from .currency_symbols import DEFAULT_CURRENCY, NO_CURRENCY, currency_code, currency_symbol, deals_currency
from .dealspanel import DealsPanel
from .deprecation import renamed_attributes, warn_deprecated
from .drill import CHART_CELLS, chart_cell, ranking_cell, tile_cell
from .errors import (
    ChannelKPIError,
    ColumnError,
    CurrencyError,
    DetectionError,
    FileFormatError,
    ValueParseError,
)
from .formats import (
    BY_TITLES,
    channel_name,
    column_kind,
    display_name,
    excel_format,
    level_title,
    level_word,
    month_label,
    number,
    plural,
)
from .i18n import N_, current_language, current_locale, in_own_locale
from .i18n import gettext as _
from .ingest import LoadResult, load_crm
from .ingest.errors_said import error_said, problem_said
from .ingest.wording import said
from .ingest.wording_shown import said_note
from .mappingform import (
    MAPPING_SUFFIX,
    TEXT,
    MappingForm,
    MappingOffer,
    by_meaning,
    export_table,
    load_with_mapping,
    missing_headers,
    new_stage_values,
    read_by_meaning,
    read_mapping_upload,
)
from .metrics.prepared import prepare
from .movementtab import MovementTab, TablesOnRead
from .offline import DRAW_PARAM, ChartWidget, enable_offline
from .picklist import PickList, fold
from .safety import (
    DEFAULT_UPLOAD_LIMIT,
    SEMICOLON_LANGUAGES,
    check_upload,
    html_text,
    neutralize_formula,
    to_csv,
    to_excel,
)
from .schema import CHANNELS, DIRECT_PARTNER, DTYPES, validate_deals
from .tiles import TILE_TABLES, TILES, ledger_html, tile_values, tiles_html
from .types import ReportFreq, ReportLevel
from .views import (
    CHART_TABLES,
    CHART_TITLES,
    HISTORY_TABLES,
    View,
    default_months,
    month_range,
    selection_text,
    table_key,
    unranked_text,
    view_charts,
    view_tables,
)

__all__ = [
    "FREQ_CHOICES",
    "BY_CHOICES",
    "LEVEL_BOX",
    "TAB_CHARTS",
    "DASHBOARD_CSS",
    "Dashboard",
    "download_name",
    "enable_offline",
]

#: The ``by`` control's choices: label -> the column grouped by (a :data:`~channelkpi.types.ReportLevel`).
BY_CHOICES: dict[str, ReportLevel] = {title: level for level, title in BY_TITLES.items()}
#: The period control's choices: label -> :data:`~channelkpi.types.ReportFreq`.
FREQ_CHOICES: dict[str, ReportFreq] = {N_("Month"): "M", N_("Quarter"): "Q", N_("Year"): "Y"}
#: After an upload whose last period is not complete: where the default view ends and the rest is.
_VIEW_ENDS = {
    "M": N_(
        "The view ends in {shown}, the last month the data covers completely; move the Period slider to "
        "{last} to see the deals after it."
    ),
    "Q": N_(
        "The view ends in {shown}, the end of the last quarter the data covers completely; move the Period "
        "slider to {last} to see the deals after it."
    ),
    "Y": N_(
        "The view ends in {shown}, the end of the last year the data covers completely; move the Period "
        "slider to {last} to see the deals after it."
    ),
}
# LEVELS and FREQS were these dicts' names: they now name the tuples of every value
# (channelkpi.types), so the dicts took names of their own.
__getattr__ = renamed_attributes(__name__, {"LEVELS": "BY_CHOICES", "FREQS": "FREQ_CHOICES"}, globals())
#: The charts on each tab (the "Data quality" tab shows the load ledger).
TAB_CHARTS = {
    N_("Overview"): ("trend",),
    N_("Partners"): ("ranking",),
    N_("Pipeline"): ("pipeline_stage", "waterfall"),
    N_("Channels"): ("channel_mix", "channel_win_rates"),
    N_("Close rate"): ("seasonality", "seasonality_bands"),
    N_("Velocity"): ("cycles",),
    N_("Deal success"): ("cohorts",),
}
# the two tabs without charts, named here for the catalogs (a tab's title is translated as shown)
_OTHER_TABS = (N_("Movement"), N_("Data quality"))
#: What the level box is called at each level, and what choosing nothing there means. The box
#: follows the level: it lists and chooses the values the ranking ranks.
LEVEL_BOX = {
    "partner": (N_("Partners"), N_("All partners")),
    "owner": (N_("Employees"), N_("All employees")),
    "department": (N_("Departments"), N_("All departments")),
    "unit": (N_("Units"), N_("All units")),
}
_CACHE_SIZE = 200  # view tables kept (each is small: groups x periods)
_EXPORT_WIDTH = 720  # px: a downloaded chart's plot width


#: Styles of the dashboard's layout: controls wrap, tiles and tabs fit narrow screens, charts
#: shrink to their box. Shipped in the dashboard itself, so JupyterLab and Voilà look the same.
DASHBOARD_CSS = """
<style>
.ck-dashboard {box-sizing: border-box; max-width: 100%; min-width: 0; gap: 4px; container-type: inline-size;}
.ck-dashboard * {box-sizing: border-box;}
.ck-dashboard .ck-title {margin: 4px 0 0; font-size: 22px; line-height: 1.25; overflow-wrap: anywhere;}
.ck-dashboard .ck-source {color: #56606b; font-size: 13px; margin: 0 0 6px; overflow-wrap: anywhere;}
.ck-dashboard .ck-row {display: flex; flex-wrap: wrap; gap: 8px 20px; align-items: flex-start; max-width: 100%;}
.ck-dashboard .ck-row > * {min-width: 0; max-width: 100%;}
.ck-dashboard .widget-dropdown {width: auto;}
.ck-dashboard .widget-dropdown > select {min-width: 130px;}
.ck-dashboard .widget-toggle-buttons {display: flex; align-items: center; width: auto; max-width: 100%;}
.ck-dashboard .widget-toggle-buttons > div {display: flex; flex-wrap: wrap;}
.ck-dashboard .widget-toggle-buttons .widget-toggle-button {width: auto; min-width: 72px; padding: 0 12px;}
.ck-dashboard .widget-inline-hbox .widget-label {min-width: 0; width: auto; padding-right: 8px;}
.ck-dashboard .widget-hslider {width: 100%; max-width: 100%;}
.ck-dashboard .widget-hslider .widget-readout {min-width: max-content; max-width: none; overflow: visible;}
.ck-dashboard .ck-actions {gap: 6px;}
.ck-dashboard .ck-showing {font-size: 13px; color: #1b2733; overflow-wrap: anywhere;}
.ck-dashboard .ck-filters {flex-wrap: wrap; gap: 4px;}
.ck-dashboard .ck-filters .widget-button {width: auto; max-width: 100%;}
.ck-dashboard .ck-banner {border: 1px solid #e0b252; background: #fff8e6; color: #3d2c00; border-radius: 6px;
  padding: 8px 12px; margin: 4px 0; font-size: 13px;}
.ck-dashboard .ck-banner ul {margin: 4px 0 0; padding-left: 18px;}
.ck-dashboard .ck-banner li {margin: 2px 0;}
.ck-dashboard .ck-tiles {grid-template-columns: repeat(4, minmax(0, 1fr));}
.ck-dashboard .ck-tile {min-width: 0;}
.ck-dashboard .ck-value {overflow-wrap: anywhere;}
.ck-dashboard .widget-tab {max-width: 100%; min-width: 0;}
.ck-dashboard .lm-TabBar {min-height: max-content; overflow: visible;}
.ck-dashboard .lm-TabBar-content {flex-wrap: wrap;}
.ck-dashboard .lm-TabBar-tab {flex: 0 0 auto; min-width: max-content; max-width: none;}
.ck-dashboard .widget-html-content {line-height: 1.45;}
.ck-dashboard .vega-embed {display: block; width: 100%; max-width: 100%; overflow-x: auto; overflow-y: hidden;}
.ck-dashboard .vega-embed svg.marks {max-width: 100%; height: auto;}
.ck-dashboard .ck-note {color: #56606b; font-size: 12px; margin: 4px 0;}
.ck-dashboard .ck-withheld {border: 1px dashed #9aa5b1; border-radius: 6px; padding: 12px 16px; color: #1b2733;
  background: #fbfcfd; max-width: 60em;}
@container (max-width: 640px) {
  .ck-dashboard .ck-tiles {grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 6px;}
  .ck-dashboard .ck-tile {padding: 8px;}
  .ck-dashboard .ck-tile .ck-value {font-size: 20px;}
  .ck-dashboard .ck-title {font-size: 18px;}
  /* shrunk to a phone's width a chart's text would be too small to read: it scrolls instead */
  .ck-dashboard .vega-embed svg.marks {max-width: none;}
}
</style>
"""


def download_name(what: str, selection: str, suffix: str, *, limit: int = 150) -> str:
    """A file name that says what a download shows, safe on every operating system.

    ``what`` and the ``selection`` line (:func:`channelkpi.views.selection_text`) are joined;
    characters a file system refuses or reads specially (``/ \\ : * ? " < > |``, control
    characters, a leading dot) are dropped, and the name is cut at a word near ``limit``.

    >>> download_name("KPIs", "Brightline IT · by partner, quarterly · Jan 2023 – Dec 2025", "csv")
    'KPIs - Brightline IT - by partner, quarterly - Jan 2023-Dec 2025.csv'
    >>> download_name("KPIs", "../<script>x</script> · Zürich Data", "xlsx")
    'KPIs - .. script x script - Zürich Data.xlsx'
    """
    text = f"{what} · {selection}" if selection else what
    text = text.replace(" · ", " - ").replace(" – ", "-").replace("–", "-")
    text = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " ", text)
    text = " ".join(text.split()).strip(" .-")
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(" ,.-")
    return f"{text or 'download'}.{suffix}"


def _with_param(chart: alt.TopLevelMixin, param: alt.Parameter) -> alt.TopLevelMixin:
    """A copy of ``chart`` with a variable ``param`` added at its top level.

    ``add_params`` would copy the whole chart three times (a layered one) to put it on the
    first layer; a variable param is valid at the top of any chart, and the rest is shared.
    """
    params = getattr(chart, "params", alt.Undefined)
    copy = chart.copy(deep=False)
    copy.params = [*([] if params is alt.Undefined else params), param.param]
    return copy


def _with_selection(chart: alt.TopLevelMixin, field: str, values: Sequence[str]) -> alt.TopLevelMixin:
    """A copy of the ranking chart whose click selection (param ``selection``) starts with ``values``:
    a selection made elsewhere (the level box) is drawn on the bars too."""
    params = getattr(chart, "params", alt.Undefined)
    if params is alt.Undefined:
        return chart
    out = []
    for param in params:
        if getattr(param, "name", None) == "selection":
            param = param.copy(deep=False)
            param.value = [{field: v} for v in values] if values else alt.Undefined
        out.append(param)
    copy = chart.copy(deep=False)
    copy.params = out
    return copy


def _named(content: bytes, name: str) -> io.BytesIO:
    """The upload as a file object that carries its name, so the load names it in messages,
    the title and the data-quality tab (instead of ``<buffer>``)."""
    buffer = io.BytesIO(content)
    buffer.name = name
    return buffer


# The fixes in load errors are written for Python; a dashboard visitor needs the export changed.
_VISITOR_FIXES = (
    (CurrencyError, N_("export the report with amounts in one currency (most CRMs offer a converted amount)")),
    (DetectionError, N_("export the report from the CRM with its own column headers")),
    (ColumnError, N_("export the report with the column named above")),
    (ValueParseError, N_("correct the values named above in the CRM and export again")),
)
_PYTHON_WORDS = re.compile(r"\w+=|[{}]")


def _upload_message(name: str, exc: ChannelKPIError) -> str:
    """An upload error for someone at the dashboard: the problem, then what to do there; a fix
    that takes Python arguments is kept, labelled, for whoever loads the file in a notebook."""
    # the error's parts in the viewer's language (the load writes them in English; the fixed
    # sentences among them are translated, values and Python stay as they are)
    text = problem_said(exc)
    fix = exc.fix or ""
    if fix and _PYTHON_WORDS.search(fix) and not isinstance(exc, FileFormatError):
        visitor = next(
            (_(f) for cls, f in _VISITOR_FIXES if isinstance(exc, cls)), _("correct the export and upload it again")
        )
        text += _(". What to do: {visitor}. (In a notebook: {fix}.)").format(visitor=visitor, fix=said(fix))
    elif fix:
        text += _(". Fix: {fix}").format(fix=said(fix))
    if name not in text:
        text = _("{file}: {problem}").format(file=name, problem=text)
    return text


class Dashboard:
    """All eight channel-partner KPIs with level, period, date-range, partner and channel controls.

    Parameters
    ----------
    deals : pandas.DataFrame or LoadResult
        The canonical deals table (or a :func:`channelkpi.load_crm` result, whose ledger is shown
        in the data-quality tab).
    targets : pandas.DataFrame, optional
        :func:`channelkpi.read_targets` output, drawn on the pipeline waterfall.
    currency : str, optional
        The deals' currency as an ISO 4217 code (``"USD"``, ``"EUR"``); the symbol shown before
        amounts is derived from it. Default: the one currency of the deals' ``currency`` column,
        else ``"USD"`` (and the same for each uploaded export).
    fiscal_year_start : int
        First month of the fiscal year for quarters and years.
    max_upload_bytes : int
        The largest export the upload control accepts.
    title : str
        The heading (an uploaded export is named in its place); the default is translated.
    program : str, optional
        The channel program's (or company's) name, put before the default title in the
        dashboard's language: ``program="Kestrel Networks"`` reads "Kestrel Networks: channel
        partner KPIs", and "Kestrel Networks: KPI's voor channelpartners" in Dutch.
    tabs : tuple of str, optional
        The tabs to show, in order (default: all): ``"Overview"``, ``"Partners"``,
        ``"Pipeline"``, ``"Channels"``, ``"Close rate"``, ``"Velocity"``, ``"Deal success"``,
        ``"Movement"``, ``"Data quality"``. Focused apps (a partner review, a pipeline meeting)
        show a few.
    history : History, optional
        The deals' history (:func:`channelkpi.load_history`): the Movement tab shows the
        pipeline movement of the period the range ends in, for the selection, the funnel, time
        in stage and the top movers. Without one it says how to get one.
    locale : str, optional
        The language and number formats of every label, tile, chart and message (``"nl-NL"``,
        ``"de-DE"``, ``"fr-BE"`` ...; default ``"en-US"``). A region channelkpi does not know
        falls back to its language, an unknown language to English with a warning. In Voilà,
        :func:`channelkpi.serving.request_locale` reads it from the page's ``?lang=``.

    Attributes
    ----------
    locale : str
        The locale the dashboard speaks (resolved: ``"nl"`` is ``"nl-NL"``).
    by : ipywidgets.Dropdown
        The control of the column the ranking and the KPI table are grouped by (labelled
        "Level"): ``dash.by.value = "owner"`` ranks employees.
    freq : ipywidgets.ToggleButtons
        The period control (``"M"``, ``"Q"``, ``"Y"``).
    currency : str
        The ISO code amounts are shown in.
    selection : dict of str -> list of str
        What is chosen, by column: values of the levels (``"partner"``, ``"owner"``,
        ``"department"``, ``"unit"``) and ``"channel"``.
    kpis : pandas.DataFrame
        The KPI table behind the current view (level x period).
    tables : dict of str -> pandas.DataFrame
        Every table behind the current view (:func:`channelkpi.views.view_tables`).
    charts : dict of str -> altair.JupyterChart
        The chart widgets, by name.
    picker : PickList
        The level box: the partners (or employees, departments, units: it follows the level).
    channels : PickList
        The channel box.

    Notes
    -----
    **One selection.** The level box and a click in the ranking chart choose the same thing,
    :attr:`selection` at the current level: a click puts the partner in the box, removing it from
    the box takes its highlight off the bar. The box follows the level (at level "Employee" it
    lists employees, like the ranking); what was chosen at another level stays a filter, shown
    above the tiles with a button that removes it. The box is the keyboard path to the ranking's
    selection. "Clear selection" clears every level and the channels.

    A control change recomputes the tiles and the charts of the tab in view; another tab is
    drawn when it is opened. Tables are kept by what they depend on
    (:func:`channelkpi.views.table_key`), so going back to an earlier selection, or changing a
    control a table does not depend on, costs nothing. Reading ``kpis``, ``tables`` or
    ``charts`` from Python always gives the current state.
    """

    @in_own_locale
    def __init__(
        self,
        deals: pd.DataFrame | LoadResult,
        *,
        targets: pd.DataFrame | None = None,
        currency: str | None = None,
        fiscal_year_start: int = 1,
        max_upload_bytes: int = DEFAULT_UPLOAD_LIMIT,
        title: str = N_("Channel partner KPIs"),
        tabs: tuple[str, ...] | None = None,
        history=None,
        program: str | None = None,
        locale: str | None = None,
    ) -> None:
        # every callback below runs in it too (in_own_locale): a later comm message is outside
        # the `using` block this constructor runs in
        self.locale = current_locale()
        enable_offline()  # the charts' JavaScript from the kernel: offline with no other setup
        # an ISO code; None: each loaded table's own currency
        self._currency_given = None if currency is None else currency_code(currency)
        self.fiscal_year_start = fiscal_year_start
        self.max_upload_bytes = max_upload_bytes
        self.targets = targets
        self.history = history  # the deals' History: the Movement tab's tables
        self.movement = MovementTab()
        self._movement_stale = True
        if program and title == "Channel partner KPIs":
            self.title = _("{file}: channel partner KPIs").format(file=program)
        else:
            self.title = _(title)  # the default title translated; a title of one's own has no translation
        self._selection: dict[str, tuple[str, ...]] = {}  # column -> values chosen (the one selection)
        self._tables: dict[str, pd.DataFrame] = {}  # tables computed for the current state
        self._computed: set[str] = set()  # names asked for (a target line may not exist)
        self._stale: set[str] = set()  # charts drawn for an earlier state
        self._cache: OrderedDict[tuple, pd.DataFrame | None] = OrderedDict()  # table_key -> table
        self._ranking_shown: dict | None = None  # the ranking spec the page shows, clicks included
        self._ranking_base: alt.TopLevelMixin | None = None  # that spec before its draw number
        self._ranking_draws = 0
        self._cell_draws: dict[str, int] = {}  # drawings of each chart whose marks open deals
        self._cell_specs: dict[str, alt.TopLevelMixin] = {}  # those charts as last drawn (no number)
        self._withheld: dict[str, str] = {}  # charts replaced by a sentence saying why
        self._syncing = False  # the widgets are being set from the state: not a person's change
        self._filters_shown: tuple = ()
        self._set_data(deals)

        self.header = w.HTML()
        self.by = w.Dropdown(options=self._level_options(), value="partner", description=_("Level"))
        self.freq = w.ToggleButtons(
            options=[(_(t), f) for t, f in FREQ_CHOICES.items()],
            value="Q",
            description=_("By"),
            style={"button_width": "auto"},
        )
        months = self._month_options()
        self.period = w.SelectionRangeSlider(
            options=months,
            index=self._default_period(months),
            description=_("Period"),
            continuous_update=False,
            layout=w.Layout(width="100%"),
        )
        self.picker = PickList(layout=w.Layout(flex="1 1 320px", min_width="0"))
        self.channels = PickList(
            options=self._channel_options(),
            label=_("Channels"),
            empty_text=_("All channels"),
            searchable=False,
            hint=_("Marketing channel the deal came from: choose any to count only those deals."),
            layout=w.Layout(flex="1 1 260px", min_width="0"),
        )
        self.clear = w.Button(
            description=_("Clear selection"),
            disabled=True,
            tooltip=_("Show every partner, employee and channel again"),
        )
        # an export, or a mapping file (.toml) saved from the mapping form, or both at once
        self.upload = w.FileUpload(
            accept=",".join((".csv", ".tsv", ".txt", ".xlsx", MAPPING_SUFFIX)),
            multiple=True,
            description=_("Your export"),
        )
        self.mapping = None  # the Mapping uploads are read with (a .toml uploaded, a form used)
        self._mapping_label = ""  # that mapping, as its message names it
        self.mapping_offer: MappingOffer | None = None  # an upload read by meaning: its mapping
        self._read_how: str | None = None  # how an upload was read, when not by a preset's label
        self.mapping_form: MappingForm | None = None  # shown for an export no preset recognises
        self.mapping_box = w.VBox()
        self.showing = w.HTML()
        self.filters = w.HBox().add_class("ck-filters")
        self.message = w.HTML()
        self.banner = w.HTML()
        self.tiles = w.HTML()
        # the deals behind a number: a button per tile (the keyboard path), a click on a chart
        self.deals_panel = DealsPanel(self._prepared, currency=self.currency)
        self.deals_panel.on_close = self._reset_clicks
        self.tile_buttons = {}
        for title, column, _kind, _n in TILES:
            button = w.Button(
                description=_(title), tooltip=_("Show the deals behind {tile}").format(tile=_(title).lower())
            )
            button.on_click(lambda _b, column=column: self._guard(lambda: self.show_deals(column)))
            self.tile_buttons[column] = button
        self.tile_deals = w.HBox(
            [
                w.HTML(
                    "<span class='ck-note'>" + html_text(_("Which deals? Open the deals behind a tile:")) + "</span>"
                ),
                *self.tile_buttons.values(),
            ]
        ).add_class("ck-row")
        self.tile_deals.add_class("ck-tile-deals")
        self.quality_html = w.HTML()
        self.ranking_help = w.HTML()
        self.withheld_note = w.HTML()
        self.download_choice = w.Dropdown(options=[(_(t), k) for k, t in CHART_TITLES.items()], description=_("Chart"))
        self.download_links = w.HTML()
        buttons = {
            _("KPI table (CSV)"): self._download_csv,
            _("KPI table (Excel)"): self._download_excel,
            _("Chart (PNG)"): lambda: self._download_chart("png"),
            _("Chart (SVG)"): lambda: self._download_chart("svg"),
        }
        self.download_buttons = []
        for label, action in buttons.items():
            button = w.Button(description=label)
            button.on_click(lambda _b, action=action: self._guard(action))
            self.download_buttons.append(button)

        # Each chart widget is made when its tab is first shown (every JupyterChart carries the
        # 1 MB chart library to the page) and updated in place after that.
        self._charts: dict[str, alt.JupyterChart] = {}
        self.download_choice.value = "trend"
        self.widget = self._layout(tabs)
        self._show_data()
        self.refresh()

        for control in (self.period, self.freq, self.by):
            control.observe(self._on_control, names="value")
        self.picker.observe(self._on_box, names="value")
        self.channels.observe(self._on_channels, names="value")
        self.clear.on_click(lambda _b: self.clear_selection())
        self.upload.observe(self._on_upload, names="value")
        self.tabs.observe(self._on_tab, names="selected_index")

    # ------------------------------------------------------------------ data
    def _set_data(self, deals, *, unknown: str = DEFAULT_CURRENCY) -> None:
        self._cache = OrderedDict()  # tables of other deals
        if isinstance(deals, LoadResult):
            self.load_result = deals
            self.deals = deals.deals
        else:
            self.load_result = None
            self.deals = validate_deals(deals)
        # coded once: every control change asks several KPI questions of the same deals; from a
        # load result with its partner and owner tables, whose rows without deals show too
        self._prepared = prepare(deals if self.load_result is not None else self.deals)
        # ``unknown``: the currency when the deals name none (an upload's: none said, no symbol)
        self.currency = self._currency_given or deals_currency(self.deals["currency"].dropna().unique(), unknown)
        self.caveats = data_caveats(self.deals, self.load_result)
        self._has_partners = has_partners(self.deals)
        self._has_lead_sources = has_lead_sources(self.deals, self.load_result)  # once, not per change
        self._values: dict[str, list[tuple[str, str]]] = {}  # level -> the box's (value, label)
        panel = getattr(self, "deals_panel", None)
        if panel is not None:  # other deals: the panel lists theirs, and explains no old number
            panel.close()
            panel.deals, panel.currency = self._prepared, self.currency

    def _level_values(self, level: str) -> list[tuple[str, str]]:
        """The values of a level as the box lists them: (value, name people read), by name."""
        if level not in self._values:
            values = {str(v) for v in self.deals[level].dropna().unique()}
            for table in self._prepared.dimensions.values():  # a partner with no deals yet, too
                if level in table.columns:
                    values |= {str(v) for v in table[level].dropna().unique()}
            name = channel_name if level == "channel" else display_name
            pairs = [(v, name(v)) for v in values]
            self._values[level] = sorted(pairs, key=lambda pair: (fold(pair[1]), pair[1]))
        return self._values[level]

    def _level_options(self) -> list[tuple[str, str]]:
        """The levels to choose from: partner always (its tab says why when there are no partners),
        the others when the deals have them."""
        levels = [(_(t), lvl) for t, lvl in BY_CHOICES.items() if lvl == "partner" or self.deals[lvl].notna().any()]
        return levels + [(level_title(c), c) for c in self._extra_levels()]

    def _extra_levels(self) -> list[str]:
        """The deals' own text columns beyond the canonical ones: fields kept from the export
        (``load_crm(keep=...)``) and the partner and owner tables' columns (``tier``, ``region``)."""
        out = []
        for col in self.deals.columns:
            s = self.deals[col]
            text = pd.api.types.is_string_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype)
            if col not in DTYPES and text and s.notna().any():
                out.append(str(col))
        return out

    def _channel_options(self) -> list[tuple[str, str]]:
        present = {str(c) for c in self.deals["channel"].dropna().unique()}
        # (code, name): the box filters by the code and shows the name
        return [(c, channel_name(c)) for c in (*CHANNELS, *sorted(present - set(CHANNELS))) if c in present]

    def _default_period(self, months: Sequence) -> tuple[int, int]:
        """The period slider's range when the deals are new (indices into its months): up to the
        last period the data covers completely, so the view does not end in a collapse."""
        first, last = default_months(self._prepared, freq=self.freq.value, fiscal_year_start=self.fiscal_year_start)
        return max(0, min(first, len(months) - 1)), max(0, min(last, len(months) - 1))

    def _month_options(self) -> list[tuple[str, pd.Timestamp]]:
        months = pd.period_range(*month_range(self._prepared), freq="M")
        return [(month_label(m.to_timestamp()), m.to_timestamp()) for m in months]

    # ------------------------------------------------------------------ state -> numbers
    @property
    def selection(self) -> dict[str, list[str]]:
        """What is chosen, by column (a copy: change it with :meth:`select`)."""
        return {col: list(values) for col, values in self._selection.items() if values}

    @property
    def selected(self) -> list[str]:
        """Deprecated: the values chosen at the current level, ``selection.get(level, [])``."""
        warnings.warn(
            "Dashboard.selected is deprecated: use Dashboard.selection[level] (the box and the ranking "
            "are one selection)",
            DeprecationWarning,
            stacklevel=2,
        )
        return list(self._selection.get(self.by.value, ()))

    @property
    def level(self) -> w.Dropdown:
        """Deprecated: the grouping control is :attr:`by`."""
        warn_deprecated("Dashboard.level", "Dashboard.by")
        return self.by

    @property
    def partners(self) -> PickList:
        """Deprecated: the level box is :attr:`picker` (it lists partners at level partner)."""
        warnings.warn("Dashboard.partners is deprecated: use Dashboard.picker", DeprecationWarning, stacklevel=2)
        return self.picker

    @property
    def where(self) -> dict[str, list[str]]:
        """The deal filter the selection makes."""
        return self.view.effective_where

    @property
    def date_range(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        first, last = self.period.value
        return pd.Timestamp(first), pd.Timestamp(last) + pd.offsets.MonthEnd(0)

    @property
    def view(self) -> View:
        """What the controls and the selection show: the current level's values are the view's
        ``selected`` (the ranking keeps every peer), the other columns' values its filter."""
        start, end = self.date_range
        level = self.by.value
        return View(
            by=level,
            freq=self.freq.value,
            start=start,
            end=end,
            where={col: list(v) for col, v in self._selection.items() if col != level and v},
            selection=tuple(self._selection.get(level, ())),
            targets=self.targets,
            fiscal_year_start=self.fiscal_year_start,
        )

    @in_own_locale
    def compute(self, *, only: Collection[str] | None = None) -> dict[str, pd.DataFrame]:
        """The tables the dashboard shows (or the ``only`` ones) for the current state (the scores
        among all peers are kept in the table cache)."""
        return view_tables(self._prepared, self.view, only=only, cache=self._cache, history=self.history)

    @in_own_locale
    def build_charts(
        self, t: Mapping[str, pd.DataFrame], *, only: Collection[str] | None = None, export: bool = False
    ) -> dict[str, alt.TopLevelMixin]:
        """The charts (or the ``only`` ones) for the tables of :meth:`compute`, subtitled with
        the selection (``export``: sized for a file rather than the page)."""
        width = {"width": _EXPORT_WIDTH} if export else {}
        return view_charts(
            t,
            by=self.by.value,
            currency=self.currency,
            only=only,
            subtitle=selection_text(self.view),
            unranked=self._unranked(),
            **width,
        )

    def _unranked(self) -> str:
        """What the ranking leaves out, said under it: deals without a partner at level partner,
        deals without a value at another level (naming the partner or owner table it comes from)."""
        level = self.by.value
        if level == "partner":
            return unranked_text(level)
        if not self.deals[level].isna().any():
            return ""
        r = self.load_result
        tables = {"partners": getattr(r, "partners", None), "owners": getattr(r, "owners", None)}
        table = next((name for name, t in tables.items() if t is not None and level in t.columns), None)
        return unranked_text(level, table=table)

    @property
    @in_own_locale
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table behind the current view (computed now for those not on screen yet)."""
        self._ensure(self._all_tables())
        return dict(self._tables)

    @property
    @in_own_locale
    def kpis(self) -> pd.DataFrame:
        """The KPI table behind the current view (level x period)."""
        self._ensure(["kpis"])
        return self._tables["kpis"]

    @property
    @in_own_locale
    def charts(self) -> dict[str, alt.JupyterChart]:
        """The chart widgets by name, every one up to date with the controls (a chart the data
        cannot draw, e.g. a partner ranking without partners, is left out)."""
        self._draw(set(self._stale))
        return {name: chart for name, chart in self._charts.items() if name not in self._withheld}

    @staticmethod
    def _all_tables() -> list[str]:
        return ["kpis", *TILE_TABLES, *(t for names in CHART_TABLES.values() for t in names)]

    def _ensure(self, names) -> None:
        """Have these tables for the current state: from the cache when their inputs were seen
        before (going back to a partner, or changing a control a table does not depend on)."""
        missing = [n for n in dict.fromkeys(names) if n not in self._computed]
        if not missing:
            return
        view = self.view
        keys = {n: table_key(n, view) for n in missing}
        todo = [n for n in missing if keys[n] not in self._cache]
        if todo:
            fresh = self.compute(only=todo)
            for n in todo:
                self._cache[keys[n]] = fresh.get(n)  # None: no target line for this state
        for n in missing:
            self._cache.move_to_end(keys[n])
            table = self._cache[keys[n]]
            if table is not None:
                self._tables[n] = table
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        self._computed.update(missing)

    # ------------------------------------------------------------------ refresh
    @in_own_locale
    def refresh(self) -> None:
        """Show the current state: the controls and the selection line, the tiles and the charts
        on screen. Charts on other tabs are redrawn when their tab is shown (or when
        :attr:`charts` is read)."""
        self._tables, self._computed = {}, set()
        self._stale = set(CHART_TITLES)
        self._movement_stale = True
        if self.deals_panel.is_open:  # it explained a number of the state before
            self.deals_panel.close()
        self._withheld = self._withheld_charts()
        self._show_selection()
        if not self._guard(lambda: self._ensure(TILE_TABLES)):
            return
        self.tiles.value = tiles_html(self._tile_values())
        if self._guard(lambda: self._draw(self._visible())) and self._guard(self._draw_movement):
            self._say("")

    def _withheld_charts(self) -> dict[str, str]:
        """Charts that would draw empty axes for these deals, with the sentence shown instead."""
        if self.by.value == "partner" and not self._has_partners:
            others = [lvl for _t, lvl in self._level_options() if lvl != "partner"]
            names = _(" or ").join(plural(lvl) for lvl in others)
            instead = (
                " " + _("To rank {levels}, choose them as the Level above.").format(levels=names) if others else ""
            )
            return {"ranking": _("There is no partner ranking: no deal in this data has a partner.") + instead}
        return {}

    def _show_selection(self) -> None:
        """Set the boxes, the filter buttons, the selection line and "Clear selection" from
        :attr:`selection` (the state), without that counting as a person's change."""
        level = self.by.value
        title = level_title(level)
        label, empty = LEVEL_BOX.get(level, (title, _("All {values}").format(values=plural(level))))
        label, empty = _(label), _(empty)
        self._syncing = True
        try:
            options = self._level_values(level)
            if self.picker.options != options:
                self.picker.query = ""
                self.picker.options = options
            self.picker.label = label
            self.picker.empty_text = empty
            self.picker.placeholder = _("Search {values}").format(values=label.lower())
            ranking = (
                _("The same selection as the ranking chart on the Partners tab.") + " "
                if "Partners" in self._boxes
                else ""
            )
            self.picker.hint = ranking + _("Keyboard: type to search, ↓ ↑ to move, Space or Enter to choose.")

            self.picker.value = list(self._selection.get(level, ()))
            self.channels.value = list(self._selection.get("channel", ()))
        finally:
            self._syncing = False
        self.clear.disabled = not any(self._selection.values())
        others = tuple((col, v) for col, v in self._selection.items() if v and col not in (level, "channel"))
        if others != self._filters_shown:
            self._filters_shown = others
            buttons = []
            for col, values in others:
                names = ", ".join(channel_name(v) if col == "channel" else display_name(v) for v in values)
                button = w.Button(
                    description=f"× {level_title(col)}: {names}",
                    tooltip=_("Stop filtering by {level}").format(level=level_word(col)),
                )
                button.on_click(lambda _b, col=col: self._choose(col, ()))
                buttons.append(button)
            self.filters.children = buttons
        self.showing.value = (
            "<div class='ck-showing' aria-live='polite'><b>" + html_text(_("Showing:")) + "</b> "
            f"{html_text(selection_text(self.view))}</div>"
        )
        help_text = _(
            "Click a bar to choose that {level}, click again to unchoose, double-click to clear. From the "
            "keyboard, use the {box} box above: it is the same selection."
        ).format(level=level_word(level), box=label)
        self.ranking_help.value = f"<p class='ck-note'>{html_text(help_text)}</p>"

    def _tile_values(self) -> list[dict]:
        """The tiles of the current view: the best quality score is the best among the chosen
        values (the ranking scores everyone); without partners the partner tiles say so."""
        tables = dict(self._tables)
        level = self.by.value
        chosen = self._selection.get(level)
        ranking = tables.get("ranking")
        if chosen and ranking is not None and level in ranking:
            tables["ranking"] = ranking[ranking[level].astype(str).isin(chosen)]
        tiles = tile_values(tables, currency=self.currency)
        r = self.load_result
        if not self._has_lead_sources:
            # the partner share is the partner marketing channel's, read from the lead source (the
            # KPI contract's channels), not from the partner column: without lead sources it is
            # unknown, not 0 %
            no_column = r is not None and not set(r.source.columns) & {"source", "channel"}
            for tile in tiles:
                if tile["column"] == "partner_share":
                    tile.update(
                        text=_("no lead source"),
                        change="",
                        direction="",
                        n=float("nan"),
                        note=_("this export has no lead-source column")
                        if no_column
                        else _("no deal has a known lead source"),
                    )
        if not self._has_partners:
            no_column = r is not None and "partner" not in set(r.source.columns)  # as data_caveats tells it
            word = _("no partner column") if no_column else _("no partners")
            for tile in tiles:
                if (tile["column"] == "partner_share" and self._has_lead_sources) or (
                    tile["column"] == "best_quality" and level == "partner"
                ):
                    note = (
                        _("every deal counts as direct")
                        if tile["column"] == "partner_share"
                        else _("choose another Level to rank")
                    )
                    tile.update(text=word, change="", direction="", n=float("nan"), note=note)
        return tiles

    def _draw_movement(self) -> None:
        """Draw the Movement tab when it is in view and drawn for an earlier state."""
        names = self._tab_names
        if not names or names[self.tabs.selected_index or 0] != "Movement" or not self._movement_stale:
            return
        self._movement_stale = False
        if self.history is None:
            self.movement.show(None, currency=self.currency, subtitle=None)
            return
        self._ensure(["movement"])
        if "movement" not in self._tables:
            self.movement.show(None, currency=self.currency, subtitle=None)
            return

        def table(name: str) -> pd.DataFrame | None:
            # made when the part of the tab that shows it is drawn
            self._ensure([name])
            return self._tables.get(name)

        tables = TablesOnRead(HISTORY_TABLES, table)
        self.movement.show(tables, currency=self.currency, subtitle=selection_text(self.view))

    def _visible(self) -> set[str]:
        names = self._tab_names
        index = self.tabs.selected_index or 0
        return set(TAB_CHARTS.get(names[index], ())) & self._stale if names else set()

    def _draw(self, names: set[str]) -> None:
        """Bring these charts up to date (they read the tables of the current state)."""
        withheld = names & self._withheld.keys()
        if withheld:
            self._stale -= withheld
            self._place()
        names = names - withheld
        if not names:
            return
        self._ensure([t for n in names for t in CHART_TABLES[n]])
        level = self.by.value
        for name, spec in self.build_charts(self._tables, only=names).items():
            self._stale.discard(name)
            if name == "ranking":
                spec = _with_selection(spec, level, self._selection.get(level, ()))
                # compared, not shown: the widget validates the spec when it is set
                shown = spec.to_dict(validate=False)
                if shown == self._ranking_shown and name in self._charts:
                    continue  # the page shows it already (a click there made this selection)
                self._ranking_shown, self._ranking_base = shown, spec
                # Each drawing is numbered in a param of its own. A click changes the page's
                # selection, not the spec the widget holds: without the number a spec equal to that
                # one would not be sent, and the page would keep the clicked bars. And the page
                # reports each drawing's selection as it starts, with the number: a report of an
                # earlier drawing, arriving after a newer one was sent, is not a click (_on_click).
                self._ranking_draws += 1
                spec = _with_param(spec, alt.param(name=DRAW_PARAM, value=self._ranking_draws))
            if name in CHART_CELLS:
                spec = clickable(spec, CHART_CELLS[name][3])
                self._cell_specs[name] = spec
                spec = self._numbered(name, spec)
            if name in self._charts:
                self._charts[name].chart = spec
            else:
                # SVG: crisp when scaled, selectable text, marks a test (or a screen reader) can find
                self._charts[name] = ChartWidget(spec, embed_options={"renderer": "svg", "actions": False})
                self._place()
            if name == "ranking":
                self._watch_ranking()
            if name in CHART_CELLS:
                self._watch_cells(name)
        self._place()

    def _numbered(self, name: str, spec: alt.TopLevelMixin) -> alt.TopLevelMixin:
        # numbered like the ranking's drawings: a click reported by an earlier drawing is not one
        # on this chart, and drawing it again (a new number) clears the mark clicked
        self._cell_draws[name] = self._cell_draws.get(name, 0) + 1
        return _with_param(spec, alt.param(name=DRAW_PARAM, value=self._cell_draws[name]))

    def _watch_cells(self, name: str) -> None:
        # a JupyterChart rebuilds its selections each time its chart is set: observe again
        self._charts[name].selections.observe(
            lambda change, name=name: self._guard(lambda: self._on_cell(name, change)), names=[CELL_PARAM]
        )

    def _reset_clicks(self) -> None:
        """Draw again the charts with a mark clicked, so that clicking it again opens its deals."""
        for name, spec in self._cell_specs.items():
            chart = self._charts.get(name)
            if chart is None or name in self._stale:
                continue
            if getattr(getattr(chart.selections, CELL_PARAM, None), "value", None):
                chart.chart = self._numbered(name, spec)
                self._watch_cells(name)

    def _place(self) -> None:
        """Put each tab's charts on it, in the tab's order (or the sentence saying why not)."""
        for tab, names in TAB_CHARTS.items():
            if tab not in self._boxes:
                continue
            children = []
            for n in names:
                if n in self._withheld:
                    self.withheld_note.value = (
                        f"<div class='ck-withheld' role='note'>{html_text(self._withheld[n])}</div>"
                    )
                    children.append(self.withheld_note)
                elif n in self._charts:
                    children += [self.ranking_help, self._charts[n]] if n == "ranking" else [self._charts[n]]
            if tuple(children) != self._boxes[tab].children:
                self._boxes[tab].children = children

    @in_own_locale
    def _guard(self, action) -> bool:
        """Run ``action``; show a readable message instead of a traceback if it fails."""
        try:
            action()
        except ChannelKPIError as exc:
            self._say(str(exc))
            return False
        except Exception as exc:  # a dashboard shows a readable message, never a traceback
            self._say(_("The KPIs could not be computed ({error}).").format(error=f"{type(exc).__name__}: {exc}"))
            return False
        return True

    def _watch_ranking(self) -> None:
        # a JupyterChart rebuilds its selections each time its chart is set: observe again
        self._charts["ranking"].selections.observe(self._on_click, names=["selection"])

    def _say(self, text: str) -> None:
        self.message.value = f"<div class='ck-message' role='alert'>{html_text(text)}</div>" if text else ""

    def _show_data(self) -> None:
        """The heading, the banner and the data-quality tab for the deals now shown."""
        r = self.load_result
        if r is not None:
            source = html_text(
                _("{file} · read as {source} · {deals} deals").format(
                    file=r.file, source=self._read_how or said_note(r.source.label), deals=number(len(self.deals))
                )
            )
        else:
            source = html_text(_("{deals} deals").format(deals=number(len(self.deals))))
        self.header.value = f"<h2 class='ck-title'>{html_text(self.title)}</h2><div class='ck-source'>{source}</div>"
        if self.caveats:
            items = "".join(f"<li><b>{html_text(c.problem)}</b> {html_text(c.action)}</li>" for c in self.caveats)
            self.banner.value = (
                "<div class='ck-banner' role='region' aria-label='" + html_text(_("About this data")) + "'>"
                "<b>" + html_text(_("Before you read the numbers")) + f"</b><ul>{items}</ul></div>"
            )
        else:
            self.banner.value = ""
        self.quality_html.value = ledger_html(self.load_result)

    # ------------------------------------------------------------------ callbacks: no logic
    @in_own_locale
    def _on_control(self, _change) -> None:
        self.refresh()

    @in_own_locale
    def _on_tab(self, _change) -> None:
        self._guard(lambda: self._draw(self._visible()))
        self._guard(self._draw_movement)

    @in_own_locale
    def _on_box(self, change) -> None:
        if not self._syncing:
            self._choose(self.by.value, change["new"])

    @in_own_locale
    def _on_channels(self, change) -> None:
        if not self._syncing:
            self._choose("channel", change["new"])

    @in_own_locale
    def _on_click(self, change) -> None:
        # the page reports each selection with the number of the drawing it was made on, in the
        # same message (the private trait holds it already: the public one is updated after this
        # callback; see channelkpi.offline.shared_esm)
        if self._charts["ranking"]._params.get(DRAW_PARAM) != self._ranking_draws:
            return  # made on (or how it started) an earlier drawing, not on the one now sent
        level = self.by.value
        values = [str(item[level]) for item in change["new"].value if level in item]
        # the page draws this selection already: no need to send the chart again
        self._ranking_shown = _with_selection(self._ranking_base, level, values).to_dict(validate=False)
        added = [v for v in values if v not in self._selection.get(level, ())]
        self._choose(level, values)
        if added:  # the bar clicked: the deals behind its score
            self._guard(lambda: self.deals_panel.open(ranking_cell(self.view, added[-1], deals=self._prepared)))

    def _on_cell(self, name: str, change) -> None:
        if self._charts[name]._params.get(DRAW_PARAM) != self._cell_draws.get(name):
            return  # made on an earlier drawing of the chart
        clicked = [item for item in (change["new"].value or []) if item]
        if clicked:  # (a double click, or a drawing starting, reports nothing chosen)
            self.deals_panel.open(chart_cell(name, clicked[-1], self.view))

    @in_own_locale
    def _on_upload(self, change) -> None:
        # a mapping file first: an export uploaded with it is read with it
        for item in sorted(change["new"] or (), key=lambda f: not str(f["name"]).lower().endswith(MAPPING_SUFFIX)):
            self.load_upload(item["name"], bytes(item["content"]))

    # ------------------------------------------------------------------ actions
    @in_own_locale
    def _choose(self, column: str, values: Sequence[str]) -> None:
        chosen = tuple(dict.fromkeys(str(v) for v in values))
        if chosen == self._selection.get(column, ()):
            return  # e.g. the ranking chart reporting the selection it was drawn with
        selection = {**self._selection, column: chosen}
        self._selection = {col: v for col, v in selection.items() if v}
        self.refresh()

    @in_own_locale
    def select(self, values: Sequence[str], *, column: str | None = None) -> None:
        """Choose these values of the current level (what a click in the ranking or the level box
        does), or of ``column`` (another level, or ``"channel"``). Every view narrows to them."""
        column = column or self.by.value
        known = [*BY_TITLES, *self._extra_levels(), "channel"]
        if column not in known:
            raise ChannelKPIError(f"no column {column!r} to select in", fix=f"choose from {known}")
        self._choose(column, values)

    @in_own_locale
    def show_deals(self, tile: str) -> None:
        """Open the deals behind a tile (its column in :data:`channelkpi.tiles.TILES`, e.g.
        ``"win_rate"``) over the current view: what its button does."""
        self._ensure(TILE_TABLES)
        best = None
        if tile == "best_quality":
            level = self.by.value
            ranking = self._tables.get("ranking")
            chosen = self._selection.get(level)
            if ranking is not None and chosen and level in ranking:
                ranking = ranking[ranking[level].astype(str).isin(chosen)]
            if ranking is not None and len(ranking) and level in ranking:
                best = str(ranking.sort_values("rank").iloc[0][level])
        self.deals_panel.open(tile_cell(tile, self.view, best=best, deals=self._prepared))

    @in_own_locale
    def clear_selection(self) -> None:
        """Forget every choice (every level's and the channels') and show everything again."""
        if self._selection:
            self._selection = {}
            self.refresh()

    @in_own_locale
    def load_upload(self, name: str, content: bytes) -> None:
        """Analyse an uploaded export instead of the current deals (errors shown, nothing raised).

        An export no preset recognises opens the mapping form (:attr:`mapping_form`) instead of
        an error; a mapping file (``.toml``) is kept in :attr:`mapping` and reads the exports
        uploaded after it (and the one waiting in the form) without the form.
        """
        if str(name).lower().endswith(MAPPING_SUFFIX):
            self._keep_mapping(name, content)
            return
        unfit = ""
        try:
            check_upload(name, len(content), max_bytes=self.max_upload_bytes)
            if self.mapping is not None:  # read with the mapping kept, if it fits this export
                raw = export_table(content, name, max_bytes=self.max_upload_bytes)
                missing = missing_headers(self.mapping, raw.headers)
                if not missing:
                    self._upload_with_mapping(name, content, raw)
                    return
                headers = ", ".join(repr(h) for h in missing[:3]) + (", …" if len(missing) > 3 else "")
                unfit = TEXT["kept_unfit"].format(mapping=self._mapping_label, file=name, headers=headers)
            result = load_crm(_named(content, name), max_bytes=self.max_upload_bytes)
        except (DetectionError, ColumnError) as exc:  # which column is what: the person says
            self._ask_mapping(name, content, getattr(exc, "mapping", None), error_said(exc), note=unfit)
            return
        except ChannelKPIError as exc:
            self._say(_upload_message(name, exc))
            return
        except Exception as exc:  # never a traceback in a dashboard
            self._say(_("{file} could not be read ({error}).").format(file=name, error=f"{type(exc).__name__}: {exc}"))
            return
        offered = read_by_meaning(result, content, name, max_bytes=self.max_upload_bytes)
        how = TEXT["read_by_meaning"] if by_meaning(result) else None
        self._show_upload(result, currency=None if offered is None else offered.currency, how=how)
        if offered is not None:
            self._offer_mapping(name, content, offered)

    def _upload_with_mapping(self, name: str, content: bytes, raw) -> None:
        """An export the kept mapping fits: loaded with it, or the form when it has stage values
        the mapping does not list (a person confirms them) or it cannot be read with it."""
        kept = self.mapping
        new = new_stage_values(kept, raw)
        if new:
            values = ", ".join(repr(v) for v in new[:12])
            note = TEXT["new_stages"].format(file=name, mapping=self._mapping_label, values=values)
            self._ask_mapping(name, content, None, "", kept=kept, note=note)
            return
        try:
            result = load_with_mapping(content, name, kept, max_bytes=self.max_upload_bytes, headers=raw.headers)
        except ChannelKPIError as exc:  # values it cannot read: the form, with the mapping and why
            self._ask_mapping(name, content, None, error_said(exc), kept=kept)
            return
        self._show_upload(result, how=TEXT["read_with"].format(mapping=self._mapping_label))

    def _offer_mapping(self, name: str, content: bytes, mapping) -> None:
        """Under the load message of an export read by meaning: its mapping to download, so
        next month's export reads the same way, and the form to check it."""
        check = lambda: self._ask_mapping(name, content, mapping, "", kept=mapping)  # noqa: E731
        self.mapping_offer = MappingOffer(name, mapping, on_check=check)
        self.mapping_box.children = [self.mapping_offer.widget]

    def _keep_mapping(self, name: str, content: bytes) -> None:
        try:
            self.mapping = read_mapping_upload(name, content)
        except ChannelKPIError as exc:
            self._say(_upload_message(name, exc))
            return
        except Exception as exc:  # never a traceback in a dashboard
            self._say(_("{file} could not be read ({error}).").format(file=name, error=f"{type(exc).__name__}: {exc}"))
            return
        self._mapping_label = name
        form = self.mapping_form
        if form is not None and self.mapping_box.children == (form.widget,):  # an export is waiting for it
            self.load_upload(form.name, form.content)
        else:
            self._say("")
            self.message.value = f"<div class='ck-note'>{html_text(TEXT['kept'].format(file=name))}</div>"

    def _ask_mapping(self, name: str, content: bytes, proposal, problem: str, *, kept=None, note: str = "") -> None:
        """Show the mapping form for an upload (the deals shown stay until it is used)."""
        try:
            form = MappingForm(
                name,
                content,
                proposal=proposal,
                kept=kept,
                problem=problem,
                note=note,
                max_bytes=self.max_upload_bytes,
                on_use=self._use_mapping,
            )
        except ChannelKPIError as exc:
            self._say(_upload_message(name, exc))
            return
        except Exception as exc:  # never a traceback in a dashboard
            self._say(_("{file} could not be read ({error}).").format(file=name, error=f"{type(exc).__name__}: {exc}"))
            return
        self.mapping_form = form
        self.mapping_box.children = [form.widget]
        self._say("")

    def _use_mapping(self, result: LoadResult, mapping) -> None:
        self.mapping = mapping
        self._mapping_label = TEXT["form_mapping"].format(file=result.file)
        self._show_upload(result, how=TEXT["read_with"].format(mapping=self._mapping_label))

    def _show_upload(self, result: LoadResult, *, currency: str | None = None, how: str | None = None) -> None:
        """Show an uploaded export's deals instead of the current ones (``currency``: of the
        amounts when the deals name none; ``how``: how it was read, when not a preset's way)."""
        self._read_how = how
        form = self.mapping_form
        if form is not None and result.file == form.name and self.mapping_box.children == (form.widget,):
            form.collapse()
        else:
            self.mapping_box.children = []  # another export: its form (or offer) no longer applies
        # amounts the export names no currency for are shown without a symbol, not as dollars
        self._set_data(result, unknown=currency or NO_CURRENCY)
        self.history = None  # the history was of the deals before
        self.targets = None
        self._selection = {}
        self.title = _("{file}: channel partner KPIs").format(file=result.file)
        self._syncing = True
        try:
            with self._quiet():
                self.by.options = self._level_options()
                self.by.value = "partner"
                self.channels.options = self._channel_options()
                months = self._month_options()
                self.period.options = months
                self.period.index = self._default_period(months)
        finally:
            self._syncing = False
        self._show_data()
        self.refresh()
        s = result.summary()
        loaded = _(
            "Loaded {file}: {rows} rows read, {kept} kept, {merged} merged, {rejected} rejected (see the Data "
            "quality tab)."
        ).format(
            file=result.file,
            rows=number(s["rows_read"]),
            kept=number(s["kept"]),
            merged=number(s["merged"]),
            rejected=number(s["rejected"]),
        )
        unread = unreadable_values(result)
        if unread:
            count = sum(n for _column, n in unread)
            columns = ", ".join(column for column, _n in unread)
            template = (
                _("1 value could not be read and was left empty ({columns}): the Data quality tab lists it by row.")
                if count == 1
                else _(
                    "{count} values could not be read and were left empty ({columns}): the Data quality tab "
                    "lists them by row."
                )
            )
            loaded += " " + template.format(count=number(count), columns=columns)
        months = self.period.options
        shown_to = self.period.index[1]
        if months and shown_to < len(months) - 1:
            # the view ends at the last period the data covers completely: say where the rest is
            loaded += " " + _(_VIEW_ENDS[self.freq.value]).format(shown=months[shown_to][0], last=months[-1][0])
        self.message.value = f"<div class='ck-note'>{html_text(loaded)}</div>"

    @contextlib.contextmanager
    def _quiet(self):
        """Change several controls without a refresh for each (one follows at the end)."""
        controls = (self.period, self.freq, self.by)
        for control in controls:
            control.unobserve(self._on_control, names="value")
        try:
            yield
        finally:
            for control in controls:
                control.observe(self._on_control, names="value")

    # ------------------------------------------------------------------ downloads
    def _link(self, filename: str, mime: str, data: bytes) -> None:
        href = f"data:{mime};base64,{base64.b64encode(data).decode()}"
        save = html_text(_("Save {file}").format(file=filename))
        self.download_links.value = f"<a download='{html_text(filename)}' href='{href}'>{save}</a>"

    def _about(self) -> pd.DataFrame:
        """What a downloaded table shows, row by row (the "About" sheet)."""
        view = self.view
        start, end = self.date_range
        r = self.load_result
        rows = [
            (_("Selection"), selection_text(view)),
            (_("Level"), level_title(view.by)),
            (_("Periods"), _({v: k for k, v in FREQ_CHOICES.items()}.get(view.freq, view.freq))),
            (_("From"), f"{start:%Y-%m-%d}"),
            (_("To"), f"{end:%Y-%m-%d}"),
            *((level_title(c), ", ".join(map(display_name, v))) for c, v in self.selection.items()),
            (
                _("Data"),
                f"{r.file} ({said_note(r.source.label)})"
                if r is not None
                else _("{deals} deals passed in").format(deals=number(len(self.deals))),
            ),
            (_("Made"), f"{pd.Timestamp.now():%Y-%m-%d %H:%M}"),
        ]
        return pd.DataFrame(rows, columns=[_("About"), _("Value")])

    def _table(self) -> pd.DataFrame:
        """The KPI table as a download shows it: deals without a partner under their name."""
        kpis = self.kpis
        level = self.by.value
        if level in kpis and (kpis[level] == DIRECT_PARTNER).any():
            kpis = kpis.assign(**{level: kpis[level].map(display_name)})
        return kpis

    @in_own_locale
    def _download_csv(self) -> None:
        text = selection_text(self.view)
        head = io.StringIO()
        # the selection first, as its own row, so the file says what it shows when opened anywhere
        body = to_csv(self._table())  # headed in the locale's words, its separators
        delimiter = ";" if current_language() in SEMICOLON_LANGUAGES else ","
        csv.writer(head, delimiter=delimiter, lineterminator="\n").writerows(
            [[neutralize_formula(_("Selection: {selection}").format(selection=text))], []]
        )
        self._link(download_name(_("KPIs"), text, "csv"), "text/csv", (head.getvalue() + body).encode("utf-8-sig"))

    @in_own_locale
    def _download_excel(self) -> None:
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        formats = lambda col: excel_format(column_kind(col), currency_symbol(self.currency))  # noqa: E731
        sheet = _("KPIs")
        data = to_excel({sheet: self._table(), _("About"): self._about()}, number_formats=formats, headings=[sheet])
        self._link(download_name(_("KPIs"), selection_text(self.view), "xlsx"), mime, data)

    def _download_chart(self, fmt: str) -> None:
        import vl_convert as vlc

        name = self.download_choice.value or "trend"
        if name in self._withheld:
            self._say(self._withheld[name])
            return
        # drawn for the file, not into the page: the chart's tab may be hidden
        self._ensure(CHART_TABLES[name])
        chart = self.build_charts(self._tables, only={name}, export=True)[name]
        if name == "ranking":  # the chosen bars drawn chosen, as on the page
            level = self.by.value
            chart = _with_selection(chart, level, self._selection.get(level, ()))
        spec = chart.to_json()
        filename = download_name(_(CHART_TITLES[name]), selection_text(self.view), fmt)
        try:
            if fmt == "png":
                self._link(filename, "image/png", vlc.vegalite_to_png(spec, scale=2))
            else:
                self._link(filename, "image/svg+xml", vlc.vegalite_to_svg(spec).encode())
        except Exception as exc:  # a readable message instead of a traceback
            self._say(_("The chart could not be exported ({error}).").format(error=type(exc).__name__))

    # ------------------------------------------------------------------ layout
    def _layout(self, tabs_shown) -> w.Widget:
        known = [*TAB_CHARTS, "Movement", "Data quality"]
        names = known if tabs_shown is None else list(tabs_shown)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ChannelKPIError(f"no dashboard tab called {unknown}", fix=f"choose tabs from {known}")
        self._boxes = {n: w.VBox([self.quality_html] if n == "Data quality" else []) for n in names}
        if "Movement" in self._boxes:
            self._boxes["Movement"] = self.movement.widget
        self.tabs = w.Tab(children=[self._boxes[n] for n in names])
        for i, name in enumerate(names):
            self.tabs.set_title(i, _(name))
        self._tab_names = names

        def row(*children):
            return w.HBox(list(children)).add_class("ck-row")

        controls = w.VBox(
            [
                row(self.by, self.freq),
                self.period,
                row(self.picker, self.channels, w.VBox([self.clear, self.upload]).add_class("ck-actions")),
            ]
        )
        downloads = w.VBox([row(self.download_choice, *self.download_buttons), self.download_links])
        style = w.HTML(DASHBOARD_CSS)
        return w.VBox(
            [
                style,
                self.header,
                controls,
                self.message,
                self.mapping_box,
                self.banner,
                row(self.showing, self.filters),
                self.tiles,
                self.tile_deals,
                self.tabs,
                self.deals_panel.widget,
                downloads,
            ]
        ).add_class("ck-dashboard")

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<Dashboard: {len(self.deals)} deals, by={self.by.value}, freq={self.freq.value}>"
