"""The interactive dashboard: ipywidgets controls, KPI tiles and linked Altair charts.

This is the only module of channelkpi that imports ipywidgets. The :class:`Dashboard` keeps its
state on itself and recomputes everything in one method, :meth:`Dashboard.refresh`; widget
callbacks only call it. Charts are ``alt.JupyterChart`` widgets updated in place
(``jchart.chart = new_chart``), which renders offline once :func:`enable_offline` has run.

Examples
--------
>>> from channelkpi.datasets import make_sample_deals
>>> dash = Dashboard(make_sample_deals())  # doctest: +SKIP
>>> dash  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import contextlib
import io
from collections import OrderedDict
from collections.abc import Collection, Mapping

import altair as alt
import ipywidgets as w
import pandas as pd

from .errors import ChannelKPIError
from .ingest import LoadResult, load_crm
from .metrics.prepared import prepare
from .offline import enable_offline
from .safety import DEFAULT_UPLOAD_LIMIT, check_upload, html_text, to_csv, to_excel
from .schema import validate_deals
from .views import (
    CHART_TABLES,
    CHART_TITLES,
    LEVEL_TITLES,
    TILE_TABLES,
    View,
    column_kind,
    excel_format,
    ledger_html,
    month_range,
    table_key,
    tile_values,
    tiles_html,
    view_charts,
    view_tables,
)

__all__ = ["FREQS", "LEVELS", "TAB_CHARTS", "Dashboard", "enable_offline"]

#: The level control's choices: label -> canonical column.
LEVELS = {title: level for level, title in LEVEL_TITLES.items()}
#: The period control's choices.
FREQS = {"Month": "M", "Quarter": "Q", "Year": "Y"}
#: The charts on each tab (the "Data quality" tab shows the load ledger).
TAB_CHARTS = {
    "Overview": ("trend",),
    "Partners": ("ranking",),
    "Pipeline": ("pipeline_stage", "waterfall"),
    "Channels": ("channel_mix", "channel_win_rates"),
    "Close rate": ("seasonality", "seasonality_bands"),
    "Velocity": ("cycles",),
    "Deal success": ("cohorts",),
}
_CACHE_SIZE = 200  # view tables kept (each is small: groups x periods)


class Dashboard:
    """All eight channel-partner KPIs with partner, date-range, level, period and channel controls.

    Parameters
    ----------
    deals : pandas.DataFrame or LoadResult
        The canonical deals table (or a :func:`channelkpi.load_crm` result, whose ledger is shown
        in the data-quality tab).
    targets : pandas.DataFrame, optional
        :func:`channelkpi.read_targets` output, drawn on the pipeline waterfall.
    currency : str
        Symbol shown before amounts.
    fiscal_year_start : int
        First month of the fiscal year for quarters and years.
    max_upload_bytes : int
        The largest export the upload control accepts.
    title : str
        The heading.
    tabs : tuple of str, optional
        The tabs to show, in order (default: all): ``"Overview"``, ``"Partners"``,
        ``"Pipeline"``, ``"Channels"``, ``"Close rate"``, ``"Velocity"``, ``"Deal success"``,
        ``"Data quality"``. Focused apps (a partner review, a pipeline meeting) show a few.

    Attributes
    ----------
    kpis : pandas.DataFrame
        The KPI table behind the current view (level x period).
    tables : dict of str -> pandas.DataFrame
        Every table behind the current view (:func:`channelkpi.views.view_tables`).
    charts : dict of str -> altair.JupyterChart
        The chart widgets, by name.

    Notes
    -----
    A control change recomputes the tiles and the charts of the tab in view; another tab is
    drawn when it is opened. Tables are kept by what they depend on
    (:func:`channelkpi.views.table_key`), so going back to an earlier selection, or changing a
    control a table does not depend on, costs nothing. Reading ``kpis``, ``tables`` or
    ``charts`` from Python always gives the current state.
    """

    def __init__(
        self,
        deals: pd.DataFrame | LoadResult,
        *,
        targets: pd.DataFrame | None = None,
        currency: str = "$",
        fiscal_year_start: int = 1,
        max_upload_bytes: int = DEFAULT_UPLOAD_LIMIT,
        title: str = "Channel partner KPIs",
        tabs: tuple[str, ...] | None = None,
    ) -> None:
        enable_offline()  # the charts' JavaScript from the kernel: offline with no other setup
        self.currency = currency
        self.fiscal_year_start = fiscal_year_start
        self.max_upload_bytes = max_upload_bytes
        self.targets = targets
        self.selected: list[str] = []  # values clicked in the ranking chart
        self._tables: dict[str, pd.DataFrame] = {}  # tables computed for the current state
        self._computed: set[str] = set()  # names asked for (a target line may not exist)
        self._stale: set[str] = set()  # charts drawn for an earlier state
        self._cache: OrderedDict[tuple, pd.DataFrame | None] = OrderedDict()  # table_key -> table
        self._ranking_drawn = False
        self._set_data(deals)

        self.partners = w.TagsInput(
            value=[],
            allowed_tags=self._partner_options(),
            allow_duplicates=False,
            placeholder="All partners (type to search)",
            layout=w.Layout(width="100%"),
        )
        self.channels = w.TagsInput(
            value=[],
            allowed_tags=self._channel_options(),
            allow_duplicates=False,
            placeholder="All channels",
            layout=w.Layout(width="100%"),
        )
        months = self._month_options()
        self.period = w.SelectionRangeSlider(
            options=months,
            index=(0, len(months) - 1),
            description="Period",
            continuous_update=False,
            layout=w.Layout(width="100%"),
        )
        self.level = w.Dropdown(options=list(LEVELS.items()), value="partner", description="Level")
        self.freq = w.ToggleButtons(options=list(FREQS.items()), value="Q", description="By")
        self.clear = w.Button(
            description="Clear selection",
            disabled=True,
            tooltip="Show every partner again after clicking one in the ranking",
        )
        self.upload = w.FileUpload(
            accept=",".join((".csv", ".tsv", ".txt", ".xlsx")), multiple=False, description="Your export"
        )
        self.message = w.HTML()
        self.tiles = w.HTML()
        self.quality_html = w.HTML()
        self.download_choice = w.Dropdown(options=[], description="Chart")
        self.download_links = w.HTML()
        buttons = {
            "KPI table (CSV)": self._download_csv,
            "KPI table (Excel)": self._download_excel,
            "Chart (PNG)": lambda: self._download_chart("png"),
            "Chart (SVG)": lambda: self._download_chart("svg"),
        }
        self.download_buttons = []
        for label, action in buttons.items():
            button = w.Button(description=label)
            button.on_click(lambda _b, action=action: self._guard(action))
            self.download_buttons.append(button)

        # Each chart widget is made when its tab is first shown (every JupyterChart carries the
        # 1 MB chart library to the page) and updated in place after that.
        self._charts: dict[str, alt.JupyterChart] = {}
        self.download_choice.options = list(CHART_TITLES)
        self.download_choice.value = "trend"
        self.widget = self._layout(title, tabs)
        self.refresh()

        for control in (self.partners, self.channels, self.period, self.freq):
            control.observe(self._on_control, names="value")
        self.level.observe(self._on_level, names="value")
        self.clear.on_click(lambda _b: self.clear_selection())
        self.upload.observe(self._on_upload, names="value")
        self._tabs.observe(self._on_tab, names="selected_index")

    # ------------------------------------------------------------------ data
    def _set_data(self, deals) -> None:
        self._cache = OrderedDict()  # tables of other deals
        if isinstance(deals, LoadResult):
            self.load_result = deals
            self.deals = deals.deals
        else:
            self.load_result = None
            self.deals = validate_deals(deals)
        # coded once: every control change asks several KPI questions of the same deals
        self._prepared = prepare(self.deals)

    def _partner_options(self) -> list[str]:
        return sorted(str(p) for p in self.deals["partner"].dropna().unique())

    def _channel_options(self) -> list[str]:
        return sorted(str(c) for c in self.deals["channel"].dropna().unique())

    def _month_options(self) -> list[tuple[str, pd.Timestamp]]:
        months = pd.period_range(*month_range(self._prepared), freq="M")
        return [(m.strftime("%b %Y"), m.to_timestamp()) for m in months]

    # ------------------------------------------------------------------ state -> numbers
    @property
    def where(self) -> dict[str, list[str]]:
        """The deal filter the controls and the chart selection make."""
        return self.view.filter

    @property
    def date_range(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        first, last = self.period.value
        return pd.Timestamp(first), pd.Timestamp(last) + pd.offsets.MonthEnd(0)

    def compute(self, *, only: Collection[str] | None = None) -> dict[str, pd.DataFrame]:
        """The tables the dashboard shows (or the ``only`` ones) for the current state (the scores
        among all peers are kept in the table cache)."""
        return view_tables(self._prepared, self.view, only=only, cache=self._cache)

    def build_charts(
        self, t: Mapping[str, pd.DataFrame], *, only: Collection[str] | None = None
    ) -> dict[str, alt.TopLevelMixin]:
        """The charts (or the ``only`` ones) for the tables of :meth:`compute` (pure)."""
        return view_charts(t, level=self.level.value, currency=self.currency, only=only)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table behind the current view (computed now for those not on screen yet)."""
        self._ensure(self._all_tables())
        return dict(self._tables)

    @property
    def kpis(self) -> pd.DataFrame:
        """The KPI table behind the current view (level x period)."""
        self._ensure(["kpis"])
        return self._tables["kpis"]

    @property
    def charts(self) -> dict[str, alt.JupyterChart]:
        """The chart widgets by name, every one up to date with the controls."""
        self._draw(set(self._stale))
        return dict(self._charts)

    @staticmethod
    def _all_tables() -> list[str]:
        return ["kpis", *TILE_TABLES, *(t for names in CHART_TABLES.values() for t in names)]

    @property
    def view(self) -> View:
        """What the controls (and a pick in the ranking) select."""
        start, end = self.date_range
        return View(
            level=self.level.value,
            freq=self.freq.value,
            start=start,
            end=end,
            where={"partner": list(self.partners.value), "channel": list(self.channels.value)},
            selected=tuple(self.selected),
            targets=self.targets,
            fiscal_year_start=self.fiscal_year_start,
        )

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
    def refresh(self) -> None:
        """Recompute the tiles and the charts on screen for the current controls.

        Charts on other tabs are redrawn when their tab is shown (or when :attr:`charts` is read).
        """
        self._tables, self._computed = {}, set()
        self._stale = set(CHART_TITLES)
        if not self._guard(lambda: self._ensure(TILE_TABLES)):
            return
        self.tiles.value = tiles_html(tile_values(self._tables, currency=self.currency))
        self.quality_html.value = ledger_html(self.load_result)
        if self._guard(lambda: self._draw(self._visible())):
            self._say("")
        self.clear.disabled = not self.selected

    def _visible(self) -> set[str]:
        names = self._tab_names
        index = self._tabs.selected_index or 0
        return set(TAB_CHARTS.get(names[index], ())) & self._stale if names else set()

    def _draw(self, names: set[str]) -> None:
        """Bring these charts up to date (they read the tables of the current state)."""
        if not names:
            return
        self._ensure([t for n in names for t in CHART_TABLES[n]])
        for name, spec in self.build_charts(self._tables, only=names).items():
            self._stale.discard(name)
            if name == "ranking" and self.selected and self._ranking_drawn:
                continue  # keep the clicked selection visible
            if name in self._charts:
                self._charts[name].chart = spec
            else:
                # SVG: crisp when scaled, selectable text, marks a test (or a screen reader) can find
                self._charts[name] = alt.JupyterChart(spec, embed_options={"renderer": "svg", "actions": False})
                self._place(name)
            if name == "ranking":
                self._ranking_drawn = True
                self._watch_ranking()

    def _place(self, chart: str) -> None:
        """Put a newly made chart widget on its tab, in the tab's order."""
        for tab, names in TAB_CHARTS.items():
            if chart in names and tab in self._boxes:
                self._boxes[tab].children = [self._charts[n] for n in names if n in self._charts]

    def _guard(self, action) -> bool:
        """Run ``action``; show a readable message instead of a traceback if it fails."""
        try:
            action()
        except ChannelKPIError as exc:
            self._say(str(exc))
            return False
        except Exception as exc:  # a dashboard shows a readable message, never a traceback
            self._say(f"The KPIs could not be computed ({type(exc).__name__}: {exc}).")
            return False
        return True

    def _watch_ranking(self) -> None:
        # a JupyterChart rebuilds its selections each time its chart is set: observe again
        jchart = self._charts["ranking"]
        jchart.selections.observe(self._on_pick, names=["pick"])

    def _say(self, text: str) -> None:
        self.message.value = f"<div class='ck-message'>{html_text(text)}</div>" if text else ""

    # ------------------------------------------------------------------ callbacks: no logic
    def _on_control(self, _change) -> None:
        self.refresh()

    def _on_level(self, _change) -> None:
        self.clear_selection()  # the values picked in the ranking belong to the previous level

    def _on_tab(self, _change) -> None:
        self._guard(lambda: self._draw(self._visible()))

    def _on_pick(self, change) -> None:
        self.select([v for item in change["new"].value for v in item.values()])

    def _on_upload(self, change) -> None:
        files = change["new"]
        if files:
            item = files[0]
            self.load_upload(item["name"], bytes(item["content"]))

    # ------------------------------------------------------------------ actions
    def select(self, values: list[str]) -> None:
        """Filter every view to these values of the current level (what a click in the ranking does)."""
        self.selected = [str(v) for v in values]
        self.refresh()

    def clear_selection(self) -> None:
        """Forget the ranking selection and show everything again."""
        self.selected = []
        self._ranking_drawn = False  # redraw the ranking without the old selection
        self.refresh()

    def load_upload(self, name: str, content: bytes) -> None:
        """Analyse an uploaded export instead of the current deals (errors shown, nothing raised)."""
        try:
            check_upload(name, len(content), max_bytes=self.max_upload_bytes)
            result = load_crm(io.BytesIO(content), max_bytes=self.max_upload_bytes)
        except ChannelKPIError as exc:
            self._say(f"{name}: {exc}" if name not in str(exc) else str(exc))
            return
        except Exception as exc:  # never a traceback in a dashboard
            self._say(f"{name} could not be read ({type(exc).__name__}: {exc}).")
            return
        self._set_data(result)
        self.targets = None
        self.selected = []
        with self._quiet():
            self.partners.value = []
            self.channels.value = []
            self.partners.allowed_tags = self._partner_options()
            self.channels.allowed_tags = self._channel_options()
            months = self._month_options()
            self.period.options = months
            self.period.index = (0, len(months) - 1)
        self.refresh()
        s = result.summary()
        self.message.value = (
            f"<div class='ck-note'>Loaded {html_text(name)}: {s['rows_read']} rows read, {s['kept']} kept, "
            f"{s['merged']} merged, {s['rejected']} rejected (see the Data quality tab).</div>"
        )

    @contextlib.contextmanager
    def _quiet(self):
        """Change several controls without a refresh for each (one follows at the end)."""
        controls = (self.partners, self.channels, self.period)
        for control in controls:
            control.unobserve(self._on_control, names="value")
        try:
            yield
        finally:
            for control in controls:
                control.observe(self._on_control, names="value")

    def _link(self, filename: str, mime: str, data: bytes) -> None:
        href = f"data:{mime};base64,{base64.b64encode(data).decode()}"
        self.download_links.value = f"<a download='{html_text(filename)}' href='{href}'>Save {html_text(filename)}</a>"

    def _download_csv(self) -> None:
        self._link("channel_kpis.csv", "text/csv", to_csv(self.kpis).encode("utf-8-sig"))

    def _download_excel(self) -> None:
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        formats = lambda col: excel_format(column_kind(col), self.currency)  # noqa: E731
        self._link("channel_kpis.xlsx", mime, to_excel({"KPIs": self.kpis}, number_formats=formats))

    def _download_chart(self, fmt: str) -> None:
        import vl_convert as vlc

        name = self.download_choice.value or "trend"
        self._draw({name} & self._stale)
        spec = self._charts[name].chart.to_json()
        try:
            if fmt == "png":
                self._link(f"{name}.png", "image/png", vlc.vegalite_to_png(spec, scale=2))
            else:
                self._link(f"{name}.svg", "image/svg+xml", vlc.vegalite_to_svg(spec).encode())
        except Exception as exc:  # a readable message instead of a traceback
            self._say(f"The chart could not be exported ({type(exc).__name__}).")

    # ------------------------------------------------------------------ layout
    def _layout(self, title: str, tabs_shown) -> w.Widget:
        known = [*TAB_CHARTS, "Data quality"]
        names = known if tabs_shown is None else list(tabs_shown)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ChannelKPIError(f"no dashboard tab called {unknown}", fix=f"choose tabs from {known}")
        self._boxes = {n: w.VBox([self.quality_html] if n == "Data quality" else []) for n in names}
        tabs = w.Tab(children=[self._boxes[n] for n in names])
        for i, name in enumerate(names):
            tabs.set_title(i, name)
        self._tabs, self._tab_names = tabs, names
        controls = w.VBox(
            [
                w.HBox([self.level, self.freq]),
                self.period,
                w.HBox([w.Label("Partners"), self.partners], layout=w.Layout(width="100%")),
                w.HBox([w.Label("Channels"), self.channels], layout=w.Layout(width="100%")),
                w.HBox([self.clear, self.upload]),
            ]
        )
        downloads = w.VBox([w.HBox([self.download_choice, *self.download_buttons]), self.download_links])
        header = w.HTML(f"<h2 style='margin:4px 0'>{html_text(title)}</h2>")
        return w.VBox([header, controls, self.message, self.tiles, tabs, downloads])

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<Dashboard: {len(self.deals)} deals, level={self.level.value}, freq={self.freq.value}>"
