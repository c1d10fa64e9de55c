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
from collections.abc import Mapping

import altair as alt
import ipywidgets as w
import pandas as pd

from .errors import ChannelKPIError
from .ingest import LoadResult, load_crm
from .safety import DEFAULT_UPLOAD_LIMIT, check_upload, html_text, to_csv, to_excel
from .schema import validate_deals
from .views import ledger_html, month_range, tile_values, tiles_html, view_charts, view_filter, view_tables

__all__ = ["Dashboard", "enable_offline", "LEVELS", "FREQS"]

#: The level control's choices: label -> canonical column.
LEVELS = {"Partner": "partner", "Employee": "owner", "Department": "department", "Unit": "unit"}
#: The period control's choices.
FREQS = {"Month": "M", "Quarter": "Q", "Year": "Y"}
_OFFLINE = False


def enable_offline() -> None:
    """Serve the charts' JavaScript from the kernel, not a CDN (once per kernel; ~2 s)."""
    global _OFFLINE
    if not _OFFLINE:
        alt.JupyterChart.enable_offline()
        _OFFLINE = True


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
    charts : dict of str -> altair.JupyterChart
        The chart widgets, by name.
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
        self.currency = currency
        self.fiscal_year_start = fiscal_year_start
        self.max_upload_bytes = max_upload_bytes
        self.targets = targets
        self.selected: list[str] = []  # values clicked in the ranking chart
        self.kpis = pd.DataFrame()
        self.tables: dict[str, pd.DataFrame] = {}
        self._set_data(deals)

        self.partners = w.TagsInput(value=[], allowed_tags=self._partner_options(), allow_duplicates=False,
                                    placeholder="All partners (type to search)", layout=w.Layout(width="100%"))
        self.channels = w.TagsInput(value=[], allowed_tags=self._channel_options(), allow_duplicates=False,
                                    placeholder="All channels", layout=w.Layout(width="100%"))
        months = self._month_options()
        self.period = w.SelectionRangeSlider(options=months, index=(0, len(months) - 1), description="Period",
                                             continuous_update=False, layout=w.Layout(width="100%"))
        self.level = w.Dropdown(options=list(LEVELS.items()), value="partner", description="Level")
        self.freq = w.ToggleButtons(options=list(FREQS.items()), value="Q", description="By")
        self.clear = w.Button(description="Clear selection", disabled=True,
                              tooltip="Show every partner again after clicking one in the ranking")
        self.upload = w.FileUpload(accept=",".join((".csv", ".tsv", ".txt", ".xlsx")), multiple=False,
                                   description="Your export")
        self.message = w.HTML()
        self.tiles = w.HTML()
        self.quality_html = w.HTML()
        self.download_choice = w.Dropdown(options=[], description="Chart")
        self.download_links = w.HTML()
        buttons = {
            "KPI table (CSV)": self._download_csv, "KPI table (Excel)": self._download_excel,
            "Chart (PNG)": lambda: self._download_chart("png"), "Chart (SVG)": lambda: self._download_chart("svg"),
        }
        self.download_buttons = []
        for label, action in buttons.items():
            button = w.Button(description=label)
            button.on_click(lambda _b, action=action: action())
            self.download_buttons.append(button)

        self.charts: dict[str, alt.JupyterChart] = {}
        self.refresh(first=True)
        self.download_choice.options = list(self.charts)
        self.download_choice.value = "trend"

        for control in (self.partners, self.channels, self.period, self.level, self.freq):
            control.observe(self._on_control, names="value")
        self.clear.on_click(lambda _b: self.clear_selection())
        self.upload.observe(self._on_upload, names="value")
        self.widget = self._layout(title, tabs)

    # ------------------------------------------------------------------ data
    def _set_data(self, deals) -> None:
        if isinstance(deals, LoadResult):
            self.load_result = deals
            self.deals = deals.deals
        else:
            self.load_result = None
            self.deals = validate_deals(deals)

    def _partner_options(self) -> list[str]:
        return sorted(str(p) for p in self.deals["partner"].dropna().unique())

    def _channel_options(self) -> list[str]:
        return sorted(str(c) for c in self.deals["channel"].dropna().unique())

    def _month_options(self) -> list[tuple[str, pd.Timestamp]]:
        months = pd.period_range(*month_range(self.deals), freq="M")
        return [(m.strftime("%b %Y"), m.to_timestamp()) for m in months]

    # ------------------------------------------------------------------ state -> numbers
    @property
    def where(self) -> dict[str, list[str]]:
        """The deal filter the controls and the chart selection make."""
        return view_filter({"partner": self.partners.value, "channel": self.channels.value}, self.level.value, self.selected)

    @property
    def date_range(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        first, last = self.period.value
        return pd.Timestamp(first), pd.Timestamp(last) + pd.offsets.MonthEnd(0)

    def compute(self) -> dict[str, pd.DataFrame]:
        """Every table the dashboard shows, for the current state (pure: no widget is touched)."""
        start, end = self.date_range
        return view_tables(
            self.deals, level=self.level.value, freq=self.freq.value, start=start, end=end,
            where={"partner": self.partners.value, "channel": self.channels.value}, selected=self.selected,
            targets=self.targets, fiscal_year_start=self.fiscal_year_start,
        )

    def build_charts(self, t: Mapping[str, pd.DataFrame]) -> dict[str, alt.TopLevelMixin]:
        """Every chart for the tables of :meth:`compute` (pure)."""
        return view_charts(t, level=self.level.value, currency=self.currency)

    # ------------------------------------------------------------------ refresh
    def refresh(self, *, first: bool = False) -> None:
        """Recompute every table and update tiles and charts in place."""
        try:
            tables = self.compute()
            specs = self.build_charts(tables)
        except ChannelKPIError as exc:
            self._say(str(exc))
            return
        except Exception as exc:  # a dashboard shows a readable message, never a traceback
            self._say(f"The KPIs could not be computed ({type(exc).__name__}: {exc}).")
            return
        self.tables = tables
        self.kpis = tables["kpis"]
        self.tiles.value = tiles_html(tile_values(tables, currency=self.currency))
        self.quality_html.value = ledger_html(self.load_result)
        for name, spec in specs.items():
            if name == "ranking" and self.selected and not first:
                continue  # keep the clicked selection visible
            if name in self.charts:
                self.charts[name].chart = spec
            else:
                # SVG: crisp when scaled, selectable text, marks a test (or a screen reader) can find
                self.charts[name] = alt.JupyterChart(spec, embed_options={"renderer": "svg", "actions": False})
        self._watch_ranking()
        self.clear.disabled = not self.selected
        self._say("")

    def _watch_ranking(self) -> None:
        # a JupyterChart rebuilds its selections each time its chart is set: observe again
        jchart = self.charts["ranking"]
        jchart.selections.observe(self._on_pick, names=["pick"])

    def _say(self, text: str) -> None:
        self.message.value = f"<div class='ck-message'>{html_text(text)}</div>" if text else ""

    # ------------------------------------------------------------------ callbacks: no logic
    def _on_control(self, _change) -> None:
        self.refresh()

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
        self.refresh()
        self.charts["ranking"].chart = self.build_charts(self.tables)["ranking"]
        self._watch_ranking()

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
        self.download_links.value = (
            f"<a download='{html_text(filename)}' href='{href}'>Save {html_text(filename)}</a>"
        )

    def _download_csv(self) -> None:
        self._link("channel_kpis.csv", "text/csv", to_csv(self.kpis).encode("utf-8-sig"))

    def _download_excel(self) -> None:
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        self._link("channel_kpis.xlsx", mime, to_excel({"KPIs": self.kpis}))

    def _download_chart(self, fmt: str) -> None:
        import vl_convert as vlc

        name = self.download_choice.value or "trend"
        spec = self.charts[name].chart.to_json()
        try:
            if fmt == "png":
                self._link(f"{name}.png", "image/png", vlc.vegalite_to_png(spec, scale=2))
            else:
                self._link(f"{name}.svg", "image/svg+xml", vlc.vegalite_to_svg(spec).encode())
        except Exception as exc:  # a readable message instead of a traceback
            self._say(f"The chart could not be exported ({type(exc).__name__}).")

    # ------------------------------------------------------------------ layout
    def _tab_contents(self) -> dict[str, list[w.Widget]]:
        c = self.charts
        return {
            "Overview": [c["trend"]],
            "Partners": [c["ranking"]],
            "Pipeline": [c["pipeline_stage"], c["waterfall"]],
            "Channels": [c["channel_mix"], c["channel_win_rates"]],
            "Close rate": [c["seasonality"], c["seasonality_bands"]],
            "Velocity": [c["cycles"]],
            "Deal success": [c["cohorts"]],
            "Data quality": [self.quality_html],
        }

    def _layout(self, title: str, tabs_shown) -> w.Widget:
        contents = self._tab_contents()
        names = list(contents) if tabs_shown is None else list(tabs_shown)
        unknown = [n for n in names if n not in contents]
        if unknown:
            raise ChannelKPIError(f"no dashboard tab called {unknown}", fix=f"choose tabs from {list(contents)}")
        tabs = w.Tab(children=[w.VBox(contents[n]) for n in names])
        for i, name in enumerate(names):
            tabs.set_title(i, name)
        controls = w.VBox([
            w.HBox([self.level, self.freq]),
            self.period,
            w.HBox([w.Label("Partners"), self.partners], layout=w.Layout(width="100%")),
            w.HBox([w.Label("Channels"), self.channels], layout=w.Layout(width="100%")),
            w.HBox([self.clear, self.upload]),
        ])
        downloads = w.VBox([w.HBox([self.download_choice, *self.download_buttons]), self.download_links])
        header = w.HTML(f"<h2 style='margin:4px 0'>{html_text(title)}</h2>")
        return w.VBox([header, controls, self.message, self.tiles, tabs, downloads])

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<Dashboard: {len(self.deals)} deals, level={self.level.value}, freq={self.freq.value}>"



