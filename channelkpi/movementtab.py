"""The dashboard's "Movement" tab: the pipeline movement waterfall, the funnel, time in stage,
the top movers and the deals of any bar.

Widgets only: the tables come from :func:`channelkpi.views.view_tables` (its
:data:`~channelkpi.views.HISTORY_TABLES`), the charts from :mod:`channelkpi.charts`, the
tables' HTML from :mod:`channelkpi.movementview`. The deals of a bar are listed by clicking
the bar, or by choosing it in the list beside the chart (the keyboard's way): the list is the
one state, a click only sets it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import altair as alt
import ipywidgets as w
import pandas as pd

from . import charts
from .charts import CELL_PARAM, MOVEMENT_BARS
from .errors import ChannelKPIError
from .formats import number, period_text
from .i18n import N_, current_locale, in_own_locale
from .i18n import gettext as _
from .movementview import NO_HISTORY, bucket_caption, currency_phrase, movers_html, pipeline_gap_caption
from .offline import ChartWidget
from .safety import html_text

__all__ = ["PARTS", "MovementTab", "TablesOnRead"]


def _one_currency(movement: pd.DataFrame, currency: str) -> tuple[pd.DataFrame, str]:
    """The rows of the dashboard's currency when the movement has several (with a note)."""
    if "currency" not in movement or movement["currency"].nunique(dropna=False) <= 1:
        return movement, ""
    rows = movement[movement["currency"].astype(str) == currency]
    others = movement.loc[movement["currency"].astype(str) != currency, "currency"].drop_duplicates()
    # named ones first, in order, then the deals without a currency ("nan" is no currency's name)
    phrases = sorted(map(currency_phrase, others), key=lambda p: (p == currency_phrase(None), p))
    hidden = (
        phrases[0]
        if len(phrases) == 1
        else _("{first} and {last}").format(first=", ".join(phrases[:-1]), last=phrases[-1])
    )
    note = _("Amounts in {currency} only; {hidden} are not shown in the waterfall.")
    return rows, note.format(currency=currency, hidden=hidden)


def _clickable_bars(chart: alt.LayerChart) -> alt.LayerChart:
    """A copy of the waterfall whose bars report a click (param ``cell``, the bar's bucket). At the
    top level, naming the bars' layer: a JupyterChart reads the selections of its top level only."""
    click = alt.TopLevelSelectionParameter(
        name=CELL_PARAM,
        select=alt.PointSelectionConfig(type="point", fields=["bucket"], on="click", clear="dblclick"),
        views=[MOVEMENT_BARS],
    )
    params = getattr(chart, "params", alt.Undefined)
    copy = chart.copy(deep=False)
    copy.params = [*([] if params is alt.Undefined else params), click]
    return copy


class TablesOnRead(Mapping):
    """The tables ``names``, each made by ``make(name)`` the first time it is read (``make``
    returns None when there is no such table: then it is not in the mapping).

    >>> made = []
    >>> tables = TablesOnRead(("a", "b"), lambda name: made.append(name) or name.upper())
    >>> tables["b"], tables.get("b"), made
    ('B', 'B', ['b'])
    """

    def __init__(self, names: Sequence[str], make: Callable[[str], pd.DataFrame | None]) -> None:
        self._names, self._make, self._made = tuple(names), make, {}

    def __getitem__(self, name: str):
        if name not in self._names:
            raise KeyError(name)
        if name not in self._made:
            self._made[name] = self._make(name)
        if self._made[name] is None:
            raise KeyError(name)
        return self._made[name]

    def __iter__(self) -> Iterator[str]:
        return (n for n in self._names if n in self)

    def __len__(self) -> int:
        return sum(1 for _n in self)


#: The parts of the tab, each on a tab of its own and drawn when shown: its title, the view
#: tables it reads (:data:`~channelkpi.views.HISTORY_TABLES`) and its chart.
PARTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (N_("Pipeline movement"), ("movement", "movement_check", "movement_deals", "movers"), "movement_waterfall"),
    (N_("Stage funnel"), ("funnel",), "stage_funnel"),
    (N_("Time in stage"), ("stage_time",), "time_in_stage"),
)


class MovementTab:
    """The content of the Movement tab (``widget``), drawn from the view's tables by :meth:`show`.

    Its parts (:data:`PARTS`: the waterfall with the deals of its bars and the top movers, the
    funnel, time in stage) are tabs of their own: only the part shown is read from the tables
    and drawn, the others when they are shown; a part whose tables and subtitle are those it
    was drawn from is left as it is (its chart is not sent again)."""

    def __init__(self) -> None:
        self.locale = current_locale()  # its callbacks speak it too (in_own_locale)
        self.note = w.HTML()
        self.gap = w.HTML()
        self.charts: dict[str, alt.JupyterChart] = {}
        self.movers = w.HTML()
        self.bucket = w.Dropdown(description=_("Deals of"), options=[], layout=w.Layout(width="auto"))
        self.bucket_deals = w.HTML()
        self.bucket.observe(lambda _c: self._show_bucket(), names="value")
        self.boxes = [w.VBox() for _part in PARTS]
        self.parts = w.Tab(children=self.boxes, titles=[_(title) for title, _t, _c in PARTS])
        self.parts.observe(lambda _c: self._draw_shown(), names="selected_index")
        self.widget = w.VBox([self.note])
        self._deals: pd.DataFrame | None = None
        self._currency = "USD"
        self._tables: Mapping[str, pd.DataFrame] = {}
        self._subtitle = None
        self._drawn: dict[int, tuple] = {}  # part -> what it was drawn from

    @in_own_locale
    def show(self, tables: Mapping[str, pd.DataFrame] | None, *, currency: str, subtitle) -> None:
        """Draw the tab for these view tables (None: there is no history, say how to get one).

        ``tables`` may compute a table when it is read (the dashboard's do): only the tables
        of the part shown are read now."""
        if tables is None:
            self.note.value = f"<div class='ck-withheld' role='note'>{html_text(_(NO_HISTORY))}</div>"
            self.widget.children = [self.note]
            self._drawn = {}
            return
        self._tables, self._currency, self._subtitle = tables, currency, subtitle
        self._draw_shown()
        if self.widget.children != (self.parts,):
            self.widget.children = [self.parts]

    @in_own_locale
    def _draw_shown(self) -> None:
        """Draw the part shown, unless it was drawn from the same tables and subtitle."""
        index = self.parts.selected_index or 0
        _title, names, chart = PARTS[index]
        tables = {n: self._tables.get(n) for n in names}
        # the tables themselves (a dashboard keeps each one while its inputs are unchanged)
        key = (*tables.values(), self._currency, self._subtitle)
        drawn = self._drawn.get(index)
        if drawn is not None and len(drawn) == len(key) and all(a is b for a, b in zip(drawn, key, strict=True)):
            return
        try:
            if chart == "movement_waterfall":
                self._draw_waterfall(tables)
            else:
                table = tables[names[0]]
                make = charts.stage_funnel_chart if chart == "stage_funnel" else charts.time_in_stage_chart
                self._set_chart(chart, make(table, subtitle=self._subtitle))
                self.boxes[index].children = [self.charts[chart]]
        except Exception as exc:  # a readable message in the part, never a traceback
            text = (
                str(exc)
                if isinstance(exc, ChannelKPIError)
                else _("The KPIs could not be computed ({error}).").format(error=f"{type(exc).__name__}: {exc}")
            )
            self._drawn.pop(index, None)
            self.boxes[index].children = [w.HTML(f"<div class='ck-message' role='alert'>{html_text(text)}</div>")]
            return
        self._drawn[index] = key

    def _set_chart(self, name: str, spec) -> None:
        spec = charts.themed(spec.properties(width="container"))
        if name == "movement_waterfall" and isinstance(spec, alt.LayerChart):
            spec = _clickable_bars(spec)
        if name in self.charts:
            self.charts[name].chart = spec
        else:
            self.charts[name] = ChartWidget(spec, embed_options={"renderer": "svg", "actions": False})
        if name == "movement_waterfall" and isinstance(spec, alt.LayerChart):
            # a JupyterChart rebuilds its selections each time its chart is set: observe again
            self.charts[name].selections.observe(self._on_click, names=[CELL_PARAM])

    def _draw_waterfall(self, tables: Mapping[str, pd.DataFrame | None]) -> None:
        currency, subtitle = self._currency, self._subtitle
        movement, note = _one_currency(tables["movement"], currency)
        self._set_chart("movement_waterfall", charts.movement_waterfall(movement, currency=currency, subtitle=subtitle))
        self.note.value = f"<p class='ck-note'>{html_text(note)}</p>" if note else ""
        check = tables.get("movement_check")
        gap = "" if check is None else pipeline_gap_caption(check, movement, currency=currency)
        self.gap.value = f"<p class='ck-note ck-gap'>{html_text(gap)}</p>" if gap else ""
        deals = tables.get("movement_deals")
        self._deals = deals
        movers = tables.get("movers")
        period = period_text(movement["period"].iloc[-1]) if len(movement) else ""
        if movers is not None and len(movers):
            self.movers.value = movers_html(
                movers,
                currency=currency,
                caption=_("Top movers, {period}: the largest changes first").format(period=period),
            )
        else:
            self.movers.value = (
                "<p class='ck-note'>" + html_text(_("No deal moved in {period}.").format(period=period)) + "</p>"
            )
        bars = charts.movement_bars(movement) if len(movement) else pd.DataFrame(columns=["bucket", "title", "count"])
        choices = [
            (f"{t} ({number(c)})", b) for b, t, c in zip(bars["bucket"], bars["title"], bars["count"], strict=True)
        ]
        choices = [c for c in choices if c[1] not in ("start", "end")]
        self.bucket.options = [("—", None), *choices]
        self.bucket.value = None
        self.bucket_deals.value = ""
        self.boxes[0].children = [
            self.note,
            self.charts["movement_waterfall"],
            self.gap,
            self.bucket,
            self.bucket_deals,
            self.movers,
        ]

    @in_own_locale
    def _on_click(self, change) -> None:
        clicked = [item for item in (change["new"].value or []) if item]
        values = {value for _label, value in self.bucket.options}
        if clicked and clicked[-1].get("bucket") in values:  # the two ends list no moved deals
            self.bucket.value = clicked[-1]["bucket"]

    @in_own_locale
    def _show_bucket(self) -> None:
        bucket, deals = self.bucket.value, self._deals
        if bucket is None or deals is None:
            self.bucket_deals.value = ""
            return
        rows = deals[deals["bucket"] == bucket]
        if "currency" in rows and rows["currency"].nunique(dropna=False) > 1:
            rows = rows[rows["currency"].astype(str) == self._currency]
        rows = rows.reindex(rows["amount_cents"].astype("float64").abs().sort_values(ascending=False).index)
        self.bucket_deals.value = movers_html(
            rows, currency=self._currency, caption=bucket_caption(rows, bucket, currency=self._currency)
        )
