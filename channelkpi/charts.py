"""Altair charts for the KPI tables: one pure function per view.

Every function takes a KPI table (the output of a :mod:`channelkpi` KPI function, never raw
deal rows) and returns an ``alt.Chart`` whose data is that small table, so a spec's size does not
grow with the number of deals. Colours come from the Okabe-Ito palette, which stays
distinguishable with the common colour-vision deficiencies. Tooltips name each number in words
and show it as people write it (money without cents from 1,000 on, rates with one decimal, the
win rate with its 95 % range).

Each function takes keyword ``subtitle`` (a line or lines: what the chart shows, e.g.
:func:`channelkpi.views.selection_text`), ``width`` (pixels, or ``"container"`` to fill the
page element it is drawn in) and ``description`` (the text alternative screen readers announce;
by default the title and subtitle). A period table with a boolean ``partial`` column (see
:func:`channelkpi.views.mark_partial`) has its incomplete periods drawn hollow and dashed, named
by ``period_label``. Functions that show amounts take ``currency``, an ISO 4217 code like
every ``currency`` in channelkpi; the symbol drawn comes from
:func:`channelkpi.currency_symbols.currency_symbol`.

``import channelkpi.charts`` registers the ``"channelkpi"`` theme; :func:`themed` puts it into a
chart's own spec (it then shows themed anywhere), :func:`use_theme` enables it for a session.

Examples
--------
>>> import channelkpi as ck
>>> from channelkpi.datasets import make_sample_deals
>>> deals = make_sample_deals()
>>> chart = win_rate_by_group(ck.win_rate(deals, by="channel"), by="channel")
>>> spec = chart.to_dict()
>>> spec["layer"][0]["mark"]["type"], len(spec["datasets"][spec["data"]["name"]])
('rule', 6)
>>> themed(chart).to_dict()["config"]["range"]["category"][:2]
['#0072B2', '#E69F00']
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from .currency_symbols import currency_code, currency_symbol
from .deprecation import renamed_keywords
from .errors import ChannelKPIError
from .formats import (
    CHANNEL_NAMES,
    channel_name,
    column_kind,
    currency_affixes,
    date_text,
    display_name,
    is_missing,
    level_title,
    level_word,
    money,
    money_short,
    month_word,
    number,
    percent,
    period_text,
    plural,
    points,
    signed_money,
    value_text,
)
from .headings import COLUMN_HEADINGS
from .i18n import N_
from .i18n import gettext as _
from .metrics.movement import BUCKETS
from .schema import CHANNELS
from .types import Level
from .vegalocale import vega_locale

__all__ = [
    "LABELS",
    "PALETTE",
    "FONT",
    "PRINT_FONT",
    "HEAT_COLORS",
    "HEAT_STEPS",
    "theme_config",
    "themed",
    "use_theme",
    "contrast_ratio",
    "kpi_trend",
    "partner_ranking",
    "CELL_PARAM",
    "clickable",
    "pipeline_by_stage",
    "pipeline_waterfall",
    "channel_mix",
    "win_rate_by_group",
    "seasonality_heatmap",
    "seasonality_bands",
    "cycle_distribution",
    "deal_success_cohorts",
    "MOVEMENT_TITLES",
    "MOVEMENT_BARS",
    "movement_bars",
    "movement_waterfall",
    "stage_funnel_chart",
    "time_in_stage_chart",
]

#: Okabe-Ito: distinguishable with protanopia, deuteranopia and tritanopia.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
#: The fonts of charts drawn in a browser.
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
#: The fonts of charts drawn to files (the report): a chart drawn outside the browser is laid out
#: with the widths of the font its renderer finds, and a reader's browser then draws the text with
#: its own. A wide font first, whose widths Verdana and Geneva share, keeps labels inside their
#: room wherever the file is opened.
PRINT_FONT = "'DejaVu Sans', Verdana, Geneva, sans-serif"
_STATUS = {"won": "#009E73", "pending": "#56B4E9", "open": "#56B4E9", "lost": "#D55E00"}
_CHANNEL_COLORS = dict(zip(CHANNELS, ["#E69F00", "#CC79A7", "#0072B2", "#009E73", "#999999", "#DDDDDD"]))
_WIDE = 680  # period axes: wide enough for three years of months
_LABEL_LIMIT = 200  # longest axis label (px) before it is elided; tooltips carry the full name
_SUBTITLE_CHARS = 46  # a subtitle line wraps beyond this (it fits a phone's 390 px)
_PARTIAL_OPACITY = 0.35
_PARTIAL_DASH = [4, 2]

#: Win-rate difference to the month's norm: the heatmap's class limits and colours (below the norm
#: orange, above it blue; colour-blind safe). Text on a cell is black or white, whichever contrasts
#: more with the cell: at least 4.5:1 on any colour.
HEAT_STEPS = [-0.15, -0.08, -0.03, 0.03, 0.08, 0.15]
HEAT_COLORS = ["#b35806", "#e08214", "#fdb863", "#f2f2f2", "#92c5de", "#4393c3", "#2166ac"]

#: Column names as tooltips and axes say them.
LABELS = {
    "won_amount": N_("Won amount"),
    "won_count": N_("Won deals"),
    "lost_count": N_("Lost deals"),
    "n": N_("Closed deals"),
    "closed_count": N_("Closed deals"),
    "created_count": N_("Deals created"),
    "open_count": N_("Open deals"),
    "avg_deal_size": N_("Average deal size"),
    "median_deal_size": N_("Median deal size"),
    "open_amount": N_("Open pipeline"),
    "weighted_amount": N_("Weighted by probability"),
    "win_rate": N_("Win rate"),
    "win_rate_shrunk": N_("Win rate, adjusted for few deals"),
    "win_rate_low": N_("Win rate, 95 % range low"),
    "win_rate_high": N_("Win rate, 95 % range high"),
    "cycle_days_median": N_("Median cycle"),
    "cycle_days_mean": N_("Mean cycle"),
    "sales_velocity": N_("Sales velocity (per day)"),
    "quality_score": N_("Quality score (0-100)"),
    "rank": N_("Rank"),
    "success_rate": N_("Won so far"),
    "pending_share": N_("Still open"),
    "lost_share": N_("Lost"),
    "won_share": N_("Share of won amount"),
    "expected_rate": N_("All groups, this month"),
    "difference": N_("Versus the month's norm"),
}


# --------------------------------------------------------------------------- theme
def theme_config(*, font: str = FONT) -> dict:
    """The channelkpi look as a Vega-Lite ``config``: fonts, palette, axes, legends, titles, and
    the number and date formats of the locale in force (:func:`channelkpi.vegalocale.vega_locale`),
    so axis labels use the separators the tiles use."""
    return {
        "font": font,
        "locale": vega_locale(),
        "view": {"stroke": None, "continuousWidth": 560, "continuousHeight": 260},
        "range": {"category": PALETTE},
        "axis": {
            "labelFontSize": 12,
            "titleFontSize": 12,
            "titleFontWeight": 500,
            "titlePadding": 10,
            "labelLimit": _LABEL_LIMIT,
            "gridColor": "#e6e6e6",
            "domainColor": "#999999",
            "tickColor": "#999999",
        },
        # the first and last labels of a number axis stay within the chart (none cut at its edge)
        "axisQuantitative": {"labelFlush": True},
        # a tick per 100 px across, 60 px up (Vega's default of one per 40 px draws a label every
        # 2 % on a wide chart), a few at least on a phone: a hint Vega rounds to a nice step
        "axisXQuantitative": {"tickCount": {"expr": "clamp(ceil(width / 100), 2, 10)"}},
        "axisYQuantitative": {"tickCount": {"expr": "clamp(ceil(height / 60), 2, 8)"}},
        # at most three legend entries a row: a phone shows them all
        "legend": {
            "labelFontSize": 12,
            "titleFontSize": 12,
            "orient": "bottom",
            "labelLimit": _LABEL_LIMIT,
            "columns": 3,
        },
        "title": {
            "fontSize": 15,
            "fontWeight": 600,
            "anchor": "start",
            "offset": 10,
            "subtitleFontSize": 12,
            "subtitleColor": "#4a5560",
            "subtitlePadding": 4,
        },
        "bar": {"cornerRadiusEnd": 2},
    }


@alt.theme.register("channelkpi", enable=False)
def _theme() -> alt.theme.ThemeConfig:
    return {"config": theme_config()}


def use_theme() -> None:
    """Enable the channelkpi theme for every chart Altair renders in this session."""
    alt.theme.enable("channelkpi")


def themed(chart: alt.TopLevelMixin, *, font: str = FONT) -> alt.TopLevelMixin:
    """The chart with the channelkpi theme in its own spec: it looks the same in a dashboard, a
    notebook or an exported image, whatever theme the session has enabled.

    A themed chart cannot be layered or concatenated any more (Altair keeps a ``config`` at the
    top only): combine the charts first, then theme the combination.
    """
    return chart.configure(**theme_config(font=font))


def contrast_ratio(color_a: str, color_b: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21; text needs 4.5).

    >>> round(contrast_ratio("#000000", "#ffffff"), 1), round(contrast_ratio("#777777", "#ffffff"), 2)
    (21.0, 4.48)
    """

    def luminance(color: str) -> float:
        rgb = [int(color.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = sorted((luminance(color_a), luminance(color_b)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def _text_color(fill: str) -> str:
    return max(("#000000", "#ffffff"), key=lambda text: contrast_ratio(text, fill))


# --------------------------------------------------------------------------- helpers
def _need(table: pd.DataFrame, columns, view: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ChannelKPIError(
            f"the {view} chart needs column(s) {missing}; the table has {list(table.columns)}",
            fix=f"pass the table of the matching KPI function (see channelkpi.charts.{view})",
        )


def _label(column: str) -> str:
    for suffix, words in (("_prev", N_("{label}, previous period")), ("_change", N_("Change in {label}"))):
        if column.endswith(suffix):
            base = column[: -len(suffix)]
            base = _(LABELS[base]) if base in LABELS else base.replace("_", " ")
            return _(words).format(label=base if suffix == "_prev" else base.lower())
    return _(LABELS[column]) if column in LABELS else column.replace("_", " ").capitalize()


def _shown(value, column: str) -> str:
    """A group's value as a chart names it: a channel code in words of the language, "(direct)"
    as deals without a partner."""
    return channel_name(value) if column == "channel" else display_name(value)


def _names_expr(names: dict[str, str], field: str = "datum.label") -> str | None:
    """A Vega expression writing the codes of a legend or an axis (``field``) as ``names`` says
    them (None when every name is its code, as in English): the marks keep the code, so a click
    still reports the value the deals are looked up by."""
    if all(code == name for code, name in names.items()):
        return None
    table = ", ".join(f"{json.dumps(code)}: {json.dumps(name)}" for code, name in names.items())
    return f"({{{table}}})[{field}] || {field}"


def _channel_label_expr() -> str | None:
    """The channel codes of a legend or an axis named in the language in force."""
    return _names_expr({code: channel_name(code) for code in CHANNEL_NAMES})


#: A deal's outcome as a legend and a tooltip of the cycle and success charts name it.
_OUTCOMES = {"won": N_("won"), "pending": N_("pending"), "lost": N_("lost")}


def _outcome_names(data: pd.DataFrame, column: str) -> tuple[str, str | None]:
    """The field a tooltip shows for the outcome codes in ``column`` (a ``<column>_name`` column
    in the language in force, or the codes themselves in English) and the legend's label
    expression (None in English)."""
    names = {code: _(word) for code, word in _OUTCOMES.items()}
    expr = _names_expr(names)
    if expr is None:
        return column, None
    data[f"{column}_name"] = [names.get(str(v), str(v)) for v in data[column]]
    return f"{column}_name", expr


def _symbol(currency: str) -> str:
    """The symbol drawn before amounts, from the ISO code a chart function was given."""
    return currency_symbol(currency_code(currency, stacklevel=5))


def _axis(measure: str, currency: str) -> alt.Axis:
    kind = column_kind(measure)
    if kind == "money":  # the symbol where the locale in force writes it, as on the tiles
        before, after = currency_affixes(currency)
        label = " + ".join(
            [*([f"'{before}'"] if before else []), "format(datum.value, ',.0f')", *([f"'{after}'"] if after else [])]
        )
        return alt.Axis(format=",.0f", labelExpr=label)
    if kind == "rate":
        return alt.Axis(format=".0%")
    return alt.Axis(format=",.0f")


def _texts(data: pd.DataFrame, columns: Sequence[str | tuple[str, ...]], currency: str) -> list[alt.Tooltip]:
    """Tooltips for these columns (a name, ``(name, title)`` or ``(name, title, kind)`` where the
    column's name does not say how its numbers read, :func:`channelkpi.formats.column_kind`):
    each number is written into a ``<name>_text`` column as people read it, so a tooltip never
    shows cents on $54,850."""
    tips = []
    for item in columns:
        col, title, *given = item if isinstance(item, tuple) else (item, _label(item))
        if col not in data:
            continue
        kind = given[0] if given else column_kind(col)
        if kind in ("other", "date"):
            tips.append(alt.Tooltip(f"{col}:N", title=_(title)))
            continue
        data[f"{col}_text"] = [value_text(v, kind, currency) for v in data[col]]
        tips.append(alt.Tooltip(f"{col}_text:N", title=_(title)))
    return tips


def _rate_text(data: pd.DataFrame) -> alt.Tooltip:
    """The win rate with its 95 % range, in one tooltip line."""

    def text(rate, low, high) -> str:
        if is_missing(rate):
            return _("— (no deal closed)")
        if is_missing(low) or is_missing(high):
            return percent(rate)
        # the 95 written as the locale writes a percentage, as the three beside it are
        return _("{rate} ({level} range {low} to {high})").format(
            rate=percent(rate), level=percent(0.95, digits=0), low=percent(low), high=percent(high)
        )

    low = data["win_rate_low"] if "win_rate_low" in data else pd.Series(np.nan, index=data.index)
    high = data["win_rate_high"] if "win_rate_high" in data else pd.Series(np.nan, index=data.index)
    data["win_rate_text"] = [text(r, lo, hi) for r, lo, hi in zip(data["win_rate"], low, high, strict=True)]
    return alt.Tooltip("win_rate_text:N", title=_("Win rate"))


def _period_field(data: pd.DataFrame) -> str:
    return "period_label" if "period_label" in data else "period"


def _period_axis(data: pd.DataFrame) -> alt.X:
    field = _period_field(data)
    many = data[field].nunique() > 6
    return alt.X(
        f"{field}:N",
        sort=alt.EncodingSortField("period_start", op="min"),
        title=None,
        axis=alt.Axis(labelAngle=-40 if many else 0, labelLimit=160, labelOverlap="greedy"),
    )


def _period_tip(data: pd.DataFrame, title: str = N_("Period")) -> alt.Tooltip:
    return alt.Tooltip(f"{_period_field(data)}:N", title=_(title))


def _has_partial(data: pd.DataFrame) -> bool:
    return "partial" in data and bool(data["partial"].any())


def _hollow(data: pd.DataFrame, color_field: str | None = None, scale: alt.Scale | None = None) -> dict:
    """Encodings that draw the rows of incomplete periods hollow with a dashed outline."""
    if not _has_partial(data):
        return {}
    out = {
        "fillOpacity": alt.condition("datum.partial", alt.value(_PARTIAL_OPACITY), alt.value(1.0)),
        "strokeWidth": alt.condition("datum.partial", alt.value(1.5), alt.value(0)),
        "strokeDash": alt.value(_PARTIAL_DASH),
    }
    if color_field is not None:
        out["stroke"] = alt.Stroke(color_field, scale=scale or alt.Undefined)  # one legend with the fill
    return out


def _lines(subtitle, chars: int = _SUBTITLE_CHARS) -> list[str]:
    """Subtitle lines, a long line wrapped at its " · " separators (a long part at its spaces).

    >>> _lines("All partners · by partner, quarterly · Jan 2023 – Dec 2025")
    ['All partners · by partner, quarterly', 'Jan 2023 – Dec 2025']
    """
    if subtitle is None:
        return []
    items = [subtitle] if isinstance(subtitle, str) else list(subtitle)
    out: list[str] = []
    for item in filter(None, map(str, items)):
        line = ""
        for part in item.split(" · "):
            if len(part) > chars:
                out.extend([line] if line else [])
                *whole, line = textwrap.wrap(part, chars)
                out.extend(whole)
            elif line and len(line) + 3 + len(part) > chars:
                out.append(line)
                line = part
            else:
                line = f"{line} · {part}" if line else part
        out.append(line)
    return out


def _partial_note(data: pd.DataFrame, what: str = N_("drawn hollow")) -> list[str]:
    if not _has_partial(data):
        return []
    labels = list(dict.fromkeys(data.loc[data["partial"], _period_field(data)]))
    if len(labels) == 1:
        return [_("{period} is not complete in the data: {what}").format(period=labels[0], what=_(what))]
    return [_("{periods} are not complete in the data: {what}").format(periods=", ".join(labels), what=_(what))]


def _finish(chart, *, title: str, subtitle, notes: Sequence[str] = (), description: str | None, width, summary=""):
    """Title, subtitle lines, text alternative and width of a chart."""
    # a chart of a known width wraps its lines to it (about 7.5 px a character); one as wide as
    # its container, to what a phone holds
    chars = max(_SUBTITLE_CHARS, int(width / 7.5)) if isinstance(width, int | float) else _SUBTITLE_CHARS
    lines = _lines(subtitle, chars) + _lines([n for n in notes if n], chars)
    props = {
        "title": alt.Title(title, subtitle=lines) if lines else title,
        "description": description or " ".join([title + ".", *(f"{x}." for x in lines), summary]).strip(),
    }
    if width is not None:
        props["width"] = width
        if not isinstance(width, str):
            props["autosize"] = alt.AutoSizeParams(type="fit-x", contains="padding")
    return chart.properties(**props)


# --------------------------------------------------------------------------- charts
def kpi_trend(
    table: pd.DataFrame,
    measure: str = "won_amount",
    *,
    currency: str = "USD",
    title: str | None = None,
    subtitle=None,
    width=_WIDE,
    description: str | None = None,
) -> alt.LayerChart:
    """A KPI over periods, with the previous period (``<measure>_prev``, from ``compare=``) dashed.

    Takes a table with ``period``, ``period_start`` and ``measure`` (one row per period). A
    previous value that is missing (no earlier data) is left out, not drawn as zero. Incomplete
    periods (``partial``) are hollow points joined by a dashed line.
    """
    symbol = _symbol(currency)
    _need(table, ["period", "period_start", measure], "kpi_trend")
    label = _label(measure)
    keep = [
        "period",
        "period_start",
        "period_label",
        "partial",
        measure,
        f"{measure}_prev",
        "won_count",
        "n",
        "win_rate",
        "win_rate_low",
        "win_rate_high",
    ]
    data = table[[c for c in dict.fromkeys(keep) if c in table]].copy().sort_values("period_start")
    if "partial" not in data:
        data["partial"] = False
    data["partial"] = data["partial"].astype(bool)
    prev = f"{measure}_prev"
    if prev in data and not np.isfinite(pd.to_numeric(data[prev], errors="coerce").to_numpy(dtype=float)).any():
        # no earlier data at all: a layer of no finite value gives its scale an infinite extent
        data = data.drop(columns=prev)
    tips = [_period_tip(data)]
    tips += _texts(
        data, [(measure, label), *([(prev, N_("Previous period, same span"))] if prev in data else [])], symbol
    )
    if measure != "win_rate":
        tips += _texts(data, ["won_count"], symbol)
    if "win_rate" in data:
        tips.append(_rate_text(data))
    tips += _texts(data, ["n"], symbol)
    if _has_partial(data):
        data["coverage_text"] = np.where(data["partial"], _("only part of this period is in the data"), _("complete"))
        tips.append(alt.Tooltip("coverage_text:N", title=_("Period")))

    x = _period_axis(data)
    y = alt.Y(f"{measure}:Q", title=label, axis=_axis(measure, symbol))
    # The layers have no data of their own: they draw the layered chart's (alt.layer(..., data=)).
    # Given to each layer, Altair would merge it into one by hashing the frame's printed text
    # once per layer, which cost a third of building the chart. (So for every layered chart.)
    base = alt.Chart().encode(x=x)
    layers = []
    if _has_partial(data):
        # a shaded column behind an incomplete period: seen before any number is read
        layers.append(base.mark_rect(color="#eef1f4").transform_filter("datum.partial"))
    if measure == "win_rate" and "win_rate_low" in data:
        layers.append(base.mark_area(opacity=0.18, color=PALETTE[0]).encode(y="win_rate_low:Q", y2="win_rate_high:Q"))
    if prev in data:
        layers.append(
            base.mark_line(color="#8c8c8c", strokeDash=[4, 3])
            .encode(y=alt.Y(f"{prev}:Q"), tooltip=tips)
            .transform_filter(f"isValid(datum['{prev}']) && isFinite(datum['{prev}'])")
        )
    layers.append(base.mark_line(color=PALETTE[0], strokeWidth=2.5).encode(y=y).transform_filter("!datum.partial"))
    if _has_partial(data):
        # a dashed segment from each incomplete period to its complete neighbour
        rows = data.reset_index(drop=True)
        pieces = []
        for i in np.flatnonzero(rows["partial"].to_numpy()):
            for j in (i - 1, i + 1):
                if 0 <= j < len(rows):
                    pieces.append(rows.iloc[[min(i, j), max(i, j)]].assign(segment=int(i * 2 + (j > i))))
        if pieces:
            dashed = pd.concat(pieces, ignore_index=True)
            layers.append(
                alt.Chart(dashed)
                .mark_line(color=PALETTE[0], strokeWidth=2, strokeDash=_PARTIAL_DASH)
                .encode(x=x, y=alt.Y(f"{measure}:Q"), detail="segment:N")
            )
    layers.append(
        base.mark_point(filled=True, size=60, color=PALETTE[0], strokeWidth=2).encode(
            y=alt.Y(f"{measure}:Q"),
            fill=alt.condition("datum.partial", alt.value("#ffffff"), alt.value(PALETTE[0])),
            stroke=alt.value(PALETTE[0]),
            tooltip=tips,
        )
    )
    notes = []
    if prev in data:
        notes.append(_("Grey dashed: the period before, over the same number of days"))
    notes += _partial_note(data, N_("hollow point"))
    chart = alt.layer(*layers, data=data)
    return _finish(chart, title=title or label, subtitle=subtitle, notes=notes, description=description, width=width)


#: The param of a chart's click that opens the deals behind a mark (:func:`clickable`).
CELL_PARAM = "cell"


def clickable(chart: alt.TopLevelMixin, fields: Sequence[str]) -> alt.TopLevelMixin:
    """A copy of ``chart`` whose marks report a click: a point selection ``cell`` (:data:`CELL_PARAM`)
    on ``fields`` (of a layered chart, on its top layer: the points or bars drawn last).

    ``alt.JupyterChart(chart).selections.cell`` then holds the fields of the mark clicked; a
    double click clears it. The picture is unchanged (a report or an image file draws the same).

    >>> import pandas as pd
    >>> c = clickable(alt.Chart(pd.DataFrame({"period": ["2025-Q1"], "v": [1]})).mark_bar(), ["period"])
    >>> c.to_dict()["params"][0]["select"]["fields"]
    ['period']
    """
    selection = alt.selection_point(name=CELL_PARAM, fields=list(fields), on="click", clear="dblclick")
    if isinstance(chart, alt.LayerChart):
        # add_params copies the layer it changes; the others are shared, as a deep copy of every
        # layer costs more than the rest of a redraw
        copy = chart.copy(deep=False)
        copy.layer = [*chart.layer[:-1], chart.layer[-1].add_params(selection)]
        return copy
    return chart.add_params(selection)


@renamed_keywords(level="by")
def partner_ranking(
    quality: pd.DataFrame,
    *,
    by: Level = "partner",
    top: int = 20,
    currency: str = "USD",
    subtitle=None,
    width=None,
    description: str | None = None,
) -> alt.Chart:
    """Partners (or any other level) ranked by quality score; a click on a bar selects it.

    Takes :func:`channelkpi.quality_score` output for one period (``freq=None``). When it shows
    fewer than all, the subtitle says "top N of M". Deals without a partner read
    "Direct (no partner)"; the selection keeps the value as the table has it.

    The click selection is the chart's param ``selection`` (a point selection on the ``by``
    field): ``alt.JupyterChart(chart).selections.selection`` holds what was clicked. The chart
    itself does not say how to click: the same picture goes into reports and image files, where
    nothing can be clicked (the dashboard says it beside the chart).
    """
    symbol = _symbol(currency)
    _need(quality, [by, "quality_score", "rank"], "partner_ranking")
    cols = [
        by,
        "quality_score",
        "rank",
        "won_count",
        "won_amount",
        "win_rate",
        "win_rate_shrunk",
        "avg_deal_size",
        "n",
    ]
    everyone = len(quality)
    data = quality[[c for c in cols if c in quality]].sort_values("rank").head(top).copy()
    # a partner of the partner table with no deal closed in the range is scored with zeros:
    # its name says why its bar is short
    none_closed = data["n"].fillna(0).eq(0).to_numpy() if "n" in data else np.zeros(len(data), dtype=bool)
    data["label"] = [
        _("{name} (no closed deals)").format(name=_shown(v, by)) if z else _shown(v, by)
        for v, z in zip(data[by], none_closed)
    ]
    data["rank_text"] = [
        _("{rank} of {count}").format(rank=number(r), count=number(everyone)) if not is_missing(r) else "—"
        for r in data["rank"]
    ]
    selection = alt.selection_point(name="selection", fields=[by], toggle="true", clear="dblclick")
    noun = plural(by)
    tips = [alt.Tooltip("label:N", title=level_title(by)), alt.Tooltip("rank_text:N", title=_("Rank"))]
    tips += _texts(data, ["quality_score", "won_amount", "won_count"], symbol)
    if "win_rate" in data:
        tips.append(_rate_text(data))
    tips += _texts(data, ["win_rate_shrunk", "avg_deal_size", "n"], symbol)
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=alt.EncodingSortField("rank", op="min"), title=None),
            x=alt.X("quality_score:Q", title=_("Quality score (0-100)"), scale=alt.Scale(domain=[0, 100])),
            color=alt.condition(selection, alt.value(PALETTE[0]), alt.value("#c8d6e5")),
            tooltip=tips,
        )
        .add_params(selection)
        .properties(height=alt.Step(20))
    )
    shown = len(data)
    count_note = (
        _("Top {shown} of {everyone} {values}").format(shown=shown, everyone=everyone, values=noun)
        if shown < everyone
        else _("All {everyone} {values}").format(everyone=everyone, values=noun)
    )
    return _finish(
        chart,
        title=_("{level} ranking by quality score").format(level=level_title(by)),
        subtitle=subtitle,
        notes=[count_note],
        description=description,
        width=width,
        summary=(
            _("First: {name}, {score} of 100.").format(
                name=data["label"].iloc[0], score=number(data["quality_score"].iloc[0])
            )
            if shown
            else ""
        ),
    )


def pipeline_by_stage(
    pipeline: pd.DataFrame, *, currency: str = "USD", subtitle=None, width=None, description: str | None = None
) -> alt.LayerChart:
    """Open pipeline by stage: amount (bar) and probability-weighted amount (tick).

    Takes :func:`channelkpi.pipeline` with ``by="stage"`` (one snapshot, ``freq=None``), or the
    view table that adds ``status`` and ``as_of``: deals open on that date and closed since
    (``status`` won/lost) are drawn apart, below the stages, as "Won from <the next day>" and
    "Lost from <the next day>".
    """
    symbol = _symbol(currency)
    _need(pipeline, ["stage", "open_amount", "weighted_amount", "open_count"], "pipeline_by_stage")
    keep = ["stage", "status", "as_of", "open_amount", "weighted_amount", "open_count"]
    data = pipeline[[c for c in keep if c in pipeline]].copy()
    data = data[data["open_count"] > 0]
    if "status" not in data:
        data["status"] = "open"
    as_of = pd.Timestamp(data["as_of"].iloc[0]) if "as_of" in data and len(data) else None
    day = date_text(as_of) if as_of is not None else _("the snapshot")
    # open all of the as_of day, so closed from the next one on: "since 31 Dec" would read as a
    # period that begins on the range's last day
    after = as_of + pd.Timedelta(days=1) if as_of is not None else None
    since = date_text(after) if after is not None else None
    data["label"] = np.where(
        data["status"] == "open",
        data["stage"].astype(str),
        np.where(
            data["status"] == "won",
            _("Won from {day}").format(day=since) if since else _("Won later"),
            _("Lost from {day}").format(day=since) if since else _("Lost later"),
        ),
    )
    opened = data["status"] == "open"
    data["order"] = np.where(opened, data["open_amount"].rank(ascending=False, method="first"), 1000.0)
    data.loc[~opened, "order"] += np.where(data.loc[~opened, "status"] == "won", 0, 1)
    colors = alt.Scale(domain=["open", "won", "lost"], range=[PALETTE[4], "#9ad5c0", "#f2b08c"])
    tips = [alt.Tooltip("label:N", title=_("Stage"))]
    tips += _texts(data, ["open_count", "open_amount", ("weighted_amount", N_("Weighted by probability"))], symbol)
    y = alt.Y("label:N", sort=alt.EncodingSortField("order", op="min"), title=None)
    base = alt.Chart().encode(y=y, tooltip=tips)
    bars = base.mark_bar().encode(
        x=alt.X(
            "open_amount:Q",
            title=_label("open_amount"),  # the ticks carry the symbol
            axis=_axis("open_amount", symbol),
        ),
        color=alt.Color("status:N", scale=colors, legend=None),
    )
    ticks = (
        base.mark_tick(color=PALETTE[0], thickness=3, size=16)
        .encode(x="weighted_amount:Q")
        .transform_filter("datum.status === 'open'")
    )
    notes = [_("Open on {day} · tick: weighted by each deal's probability").format(day=day)]
    if (~opened).any():
        notes.append(
            _("Open on {day}, won or lost from {next_day} on: at the bottom").format(day=day, next_day=since)
            if since
            else _("Open on {day}, won or lost later: at the bottom").format(day=day)
        )
    return _finish(
        alt.layer(bars, ticks, data=data).properties(height=alt.Step(22)),
        title=_("Open pipeline by stage"),
        subtitle=subtitle,
        notes=notes,
        description=description,
        width=width,
    )


_STEPS = ["start", "created", "won", "lost", "end"]
_STEP_TITLES = {
    "start": N_("Open at the start"),
    "created": N_("+ created"),
    "won": N_("− won"),
    "lost": N_("− lost"),
    "end": N_("Open at the end"),
    "unchanged": N_("Unchanged"),
    "memo": N_("Created and closed inside the period"),
}


def pipeline_waterfall(
    waterfall: pd.DataFrame,
    *,
    targets: pd.DataFrame | None = None,
    currency: str = "USD",
    subtitle=None,
    width=_WIDE,
    description: str | None = None,
) -> alt.LayerChart:
    """The pipeline waterfall of each period: open at the start, + created, - won, - lost, open at
    the end, as floating bars (each bar starts where the one before it ends).

    Takes :func:`channelkpi.pipeline_waterfall` output; ``targets`` is a table with ``period``
    and ``target`` (e.g. :func:`channelkpi.pipeline` with ``targets=``), drawn as a tick across
    the won bar: the won bar reaching past the tick met the target.
    """
    symbol = _symbol(currency)
    cols = ["period", "period_start", "start", "created", "won", "lost", "end"]
    _need(waterfall, cols, "pipeline_waterfall")
    wf = waterfall[[c for c in [*cols, "period_label", "partial"] if c in waterfall]].copy()
    counts = {s: f"{s}_count" for s in _STEPS if f"{s}_count" in waterfall}
    rows = []
    for i, r in enumerate(wf.itertuples(index=False)):
        rec = r._asdict()
        top = rec["start"] + rec["created"]
        bounds = {
            "start": (0.0, rec["start"]),
            "created": (rec["start"], top),
            "won": (top - rec["won"], top),
            "lost": (rec["end"], top - rec["won"]),
            "end": (0.0, rec["end"]),
        }
        for step, (low, high) in bounds.items():
            row = {k: rec[k] for k in ("period", "period_start", "period_label", "partial") if k in rec}
            row.update(step=step, step_title=_(_STEP_TITLES[step]), low=low, high=high, amount=rec[step])
            row["deal_count"] = waterfall[counts[step]].iloc[i] if step in counts else np.nan
            rows.append(row)
    data = pd.DataFrame(rows)
    colors = alt.Scale(domain=_STEPS, range=["#b8c2cc", PALETTE[4], _STATUS["won"], _STATUS["lost"], "#56606b"])
    tips = [_period_tip(data), alt.Tooltip("step_title:N", title=_("Step"))]
    tips += _texts(data, [("amount", N_("Amount")), ("deal_count", N_("Deals"))], symbol)
    x = _period_axis(data)
    offset = alt.XOffset("step:N", sort=_STEPS, scale=alt.Scale(paddingInner=0.08))
    bars = (
        alt.Chart(data)
        .mark_bar(cornerRadiusEnd=0)
        .encode(
            x=x,
            xOffset=offset,
            y=alt.Y("low:Q", title=_label("open_amount"), axis=_axis("open_amount", symbol)),
            y2="high:Q",
            color=alt.Color(
                "step:N", scale=colors, sort=_STEPS, title=None, legend=alt.Legend(labelExpr=_legend_expr())
            ),
            tooltip=tips,
            **_hollow(data, "step:N", colors),
        )
    )
    layers = [bars]
    notes = [_("Each period: open at the start + created − won − lost = open at the end")]
    if targets is not None:
        _need(targets, ["period", "target"], "pipeline_waterfall targets")
        tg = targets[["period", "target"]].dropna().groupby("period", as_index=False)["target"].sum()
        tg = tg.merge(wf, on="period")
        if "partial" in tg:
            tg = tg[~tg["partial"].astype(bool)]  # a target is for a whole period
        if len(tg):
            tg["step"] = "won"
            tg["level"] = tg["start"] + tg["created"] - tg["target"]
            tg["attainment"] = tg["won"] / tg["target"].where(tg["target"] > 0)
            ttips = [
                _period_tip(tg),
                *_texts(
                    tg,
                    [("target", N_("Won-amount target")), ("won", N_("Won")), ("attainment", N_("Attainment"))],
                    symbol,
                ),
            ]
            layers.append(
                alt.Chart(tg)
                .mark_tick(color="#1b2733", thickness=2.5)
                .encode(x=x, xOffset=offset, y="level:Q", tooltip=ttips)
            )
            notes.append(_("Black tick across the won bar: the won-amount target"))
    notes += _partial_note(wf)
    return _finish(
        alt.layer(*layers),
        title=_("Pipeline waterfall per period"),
        subtitle=subtitle,
        notes=notes,
        description=description,
        width=width,
    )


#: The waterfall's steps as its legend names them (short: five entries share a phone's width).
_STEP_LEGEND = {
    "start": N_("Start"),
    "created": N_("+ created"),
    "won": N_("− won"),
    "lost": N_("− lost"),
    "end": N_("End"),
}


def _legend_expr() -> str:
    table = ", ".join(f"{json.dumps(step)}: {json.dumps(_(name))}" for step, name in _STEP_LEGEND.items())
    return f"({{{table}}})[datum.value] || datum.label"


def channel_mix(
    channels: pd.DataFrame, *, currency: str = "USD", subtitle=None, width=None, description: str | None = None
) -> alt.Chart:
    """Share of won amount by marketing channel, per period (or overall).

    Takes :func:`channelkpi.channel_performance` output (``by="channel"``, any ``freq``).
    """
    symbol = _symbol(currency)
    _need(channels, ["channel", "won_amount", "won_share", "won_count"], "channel_mix")
    has_period = "period" in channels
    cols = ["channel", "won_amount", "won_share", "won_count", "win_rate", "avg_deal_size"]
    cols += ["period", "period_start", "period_label", "partial"] if has_period else []
    data = channels[[c for c in cols if c in channels]].copy()
    # stacked in the channels' canonical order: a number, as Vega-Lite orders a stack by
    data["channel_order"] = [CHANNELS.index(c) if c in CHANNELS else len(CHANNELS) for c in data["channel"]]
    scale = alt.Scale(domain=list(_CHANNEL_COLORS), range=list(_CHANNEL_COLORS.values()))
    names = _channel_label_expr()
    if names:  # the name beside the code: the tooltip says it, the click reports the code
        data["channel_name"] = [channel_name(c) for c in data["channel"]]
    tips = [alt.Tooltip("channel_name:N" if names else "channel:N", title=_("Channel"))]
    tips += [_period_tip(data)] if has_period else []
    tips += _texts(data, ["won_share", "won_amount", "won_count", "win_rate", "avg_deal_size"], symbol)
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("won_amount:Q", stack="normalize", title=_("Share of won amount"), axis=alt.Axis(format=".0%")),
            color=alt.Color(
                "channel:N",
                scale=scale,
                title=_("Channel"),
                legend=alt.Legend(labelExpr=names) if names else alt.Undefined,
            ),
            order=alt.Order("channel_order:Q"),
            tooltip=tips,
            **_hollow(data, "channel:N", scale),
        )
    )
    if has_period:
        chart = chart.encode(x=_period_axis(data))
    else:
        axis = alt.Axis(labelExpr=names) if names else alt.Undefined
        chart = chart.encode(x=alt.X("channel:N", title=None, axis=axis)).properties(width=alt.Step(60))
    return _finish(
        chart,
        title=_("Marketing channel mix"),
        subtitle=subtitle,
        notes=[_("Share of the won amount by the deals' marketing channel"), *_partial_note(data)],
        description=description,
        width=(width if width is not None else (_WIDE if has_period else None)),
    )


@renamed_keywords(level="by")
def win_rate_by_group(
    rates: pd.DataFrame, *, by: Level = "channel", subtitle=None, width=None, description: str | None = None
) -> alt.LayerChart:
    """Win rate per group with its Wilson 95 % interval (rule) and the number of closed deals.

    Takes :func:`channelkpi.win_rate` output with the same ``by`` and ``freq=None``.
    """
    need = [by, "win_rate", "win_rate_low", "win_rate_high", "won_count", "lost_count", "n"]
    _need(rates, need, "win_rate_by_group")
    data = rates[need].copy()
    data["label"] = [_shown(v, by) for v in data[by]]
    tips = [alt.Tooltip("label:N", title=level_title(by)), _rate_text(data)]
    tips += _texts(
        data,
        [
            ("win_rate_low", "95 % low"),
            ("win_rate_high", "95 % high"),
            ("won_count", N_("Won")),
            ("lost_count", N_("Lost")),
            ("n", N_("Closed")),
        ],
        "",
    )
    order = alt.EncodingSortField("win_rate", op="min", order="descending")
    base = alt.Chart().encode(y=alt.Y("label:N", sort=order, title=None), tooltip=tips)
    rule = base.mark_rule(color="#777777", strokeWidth=2).encode(
        x=alt.X(
            "win_rate_low:Q",
            title=_("Win rate (line: 95 % range)"),
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format=".0%"),
        ),
        x2="win_rate_high:Q",
    )
    point = base.mark_point(filled=True, size=90, color=PALETTE[0]).encode(x="win_rate:Q")
    return _finish(
        alt.layer(rule, point, data=data).properties(height=alt.Step(24)),
        title=_("Win rate by {level}").format(level=level_word(by)),
        subtitle=subtitle,
        notes=[_("Dot: won / (won + lost) of the deals closed; line: where the rate lies with 95 % confidence")],
        description=description,
        width=width,
    )


def _heat_classes() -> list[str]:
    """The heatmap's classes in words (win-rate points against the month's norm).

    >>> _heat_classes()[:4]
    ['15+ below', '8-15 below', '3-8 below', 'within 3']
    """
    pts = [round(abs(x) * 100) for x in HEAT_STEPS]
    half = len(HEAT_STEPS) // 2
    below = [_("{points}+ below").format(points=pts[0])]
    below += [_("{low}-{high} below").format(low=pts[i + 1], high=pts[i]) for i in range(half - 1)]
    above = [_("{low}-{high} above").format(low=pts[i], high=pts[i + 1]) for i in range(half, len(pts) - 1)]
    above += [_("{points}+ above").format(points=pts[-1])]
    return [*below, _("within {points}").format(points=pts[half]), *above]


@renamed_keywords(level="by")
def seasonality_heatmap(
    season: pd.DataFrame, *, by: Level = "unit", subtitle=None, width=None, description: str | None = None
) -> alt.LayerChart:
    """Win rate by month of year x group, coloured by the difference to that month's norm.

    Takes :func:`channelkpi.seasonality` output with the same ``by``. Cells are coloured by class
    (:data:`HEAT_STEPS`, :data:`HEAT_COLORS`); each cell's text is black or white, whichever
    contrasts more with its colour.
    """
    _need(season, [by, "month", "month_name", "win_rate", "expected_rate", "n"], "seasonality_heatmap")
    cols = [
        by,
        "month",
        "month_name",
        "win_rate",
        "win_rate_low",
        "win_rate_high",
        "expected_rate",
        "difference",
        "won_count",
        "n",
    ]
    data = season[[c for c in cols if c in season]].copy()
    data["month_name"] = [month_word(m) for m in data["month"]]  # the metrics' names are English
    data["label"] = [_shown(v, by) for v in data[by]]
    diff = data["difference"].to_numpy(dtype=float) if "difference" in data else np.full(len(data), np.nan)
    classes = np.digitize(np.nan_to_num(diff), HEAT_STEPS)
    fills = np.where(np.isnan(diff), "#ffffff", np.asarray(HEAT_COLORS, dtype=object)[classes])
    data["heat_class"] = np.where(np.isnan(diff), None, np.asarray(_heat_classes(), dtype=object)[classes])
    data["text_color"] = [_text_color(f) for f in fills]
    data["cell_text"] = ["—" if is_missing(r) else percent(r, digits=0) for r in data["win_rate"]]
    data["difference_text"] = ["—" if is_missing(d) else points(d) for d in diff]
    tips = [
        alt.Tooltip("label:N", title=level_title(by)),
        alt.Tooltip("month_name:N", title=_("Month")),
        _rate_text(data),
    ]
    tips += _texts(
        data,
        [
            ("expected_rate", N_("All groups this month")),
            ("won_count", N_("Won")),
            ("n", N_("Closed")),
        ],
        "",
    )
    tips.insert(4, alt.Tooltip("difference_text:N", title=_("Versus the month's norm")))
    base = alt.Chart().encode(
        x=alt.X(
            "month_name:N",
            sort=alt.EncodingSortField("month", op="min"),
            title=None,
            axis=alt.Axis(labelAngle=0, labelOverlap="greedy"),
        ),
        y=alt.Y("label:N", title=None),
        tooltip=tips,
    )
    rect = (
        base.mark_rect()
        .encode(
            color=alt.Color(
                "heat_class:N",
                title=_("Points vs the month's norm"),
                scale=alt.Scale(domain=_heat_classes(), range=HEAT_COLORS),
                # the title may be longer than two columns of labels: its own limit, never cut
                legend=alt.Legend(columns=2, symbolType="square", labelLimit=220, titleLimit=0),
            )
        )
        .transform_filter("isValid(datum.difference) && isFinite(datum.difference)")
    )
    # the numbers only where a cell is wide enough for them (a phone shows the colours)
    text = base.mark_text(fontSize=11, opacity=alt.ExprRef("width / 12 >= 30 ? 1 : 0")).encode(
        text=alt.Text("cell_text:N"),
        color=alt.condition("datum.text_color === '#ffffff'", alt.value("#ffffff"), alt.value("#000000")),
    )
    return _finish(
        alt.layer(rect, text, data=data).properties(height=alt.Step(26), width=alt.Step(44)),
        title=_("Close-rate seasonality by {level}").format(level=level_word(by)),
        subtitle=subtitle,
        notes=[_("Win rate per month of the year, all years together; blue above the month's norm, orange below")],
        description=description,
        width=width,
    )


def seasonality_bands(
    season: pd.DataFrame, *, subtitle=None, width=_WIDE, description: str | None = None
) -> alt.LayerChart:
    """Win rate by month of year with its Wilson band and the all-groups norm (dashed).

    Takes :func:`channelkpi.seasonality` output without ``by`` (or filtered to one group).
    """
    _need(
        season,
        ["month", "month_name", "win_rate", "win_rate_low", "win_rate_high", "expected_rate", "n"],
        "seasonality_bands",
    )
    data = season[
        ["month", "month_name", "win_rate", "win_rate_low", "win_rate_high", "expected_rate", "won_count", "n"]
    ].copy()
    data["month_name"] = [month_word(m) for m in data["month"]]  # the metrics' names are English
    x = alt.X(
        "month_name:N",
        sort=alt.EncodingSortField("month", op="min"),
        title=None,
        axis=alt.Axis(labelAngle=0, labelOverlap="greedy"),
    )
    tips = [alt.Tooltip("month_name:N", title=_("Month")), _rate_text(data)]
    tips += _texts(data, [("won_count", N_("Won")), ("n", N_("Closed"))], "")
    band = (
        alt.Chart()
        .mark_area(opacity=0.2, color=PALETTE[0])
        .encode(x=x, y=alt.Y("win_rate_low:Q", title=_("Win rate"), axis=alt.Axis(format=".0%")), y2="win_rate_high:Q")
    )
    line = alt.Chart().mark_line(point=True, color=PALETTE[0]).encode(x=x, y="win_rate:Q", tooltip=tips)
    norm = alt.Chart().mark_line(strokeDash=[4, 3], color="#777777").encode(x=x, y="expected_rate:Q")
    return _finish(
        alt.layer(band, norm, line, data=data),
        title=_("Win rate by month of the year"),
        subtitle=subtitle,
        notes=[_("All years together; band: 95 % range")],
        description=description,
        width=width,
    )


def cycle_distribution(hist: pd.DataFrame, *, subtitle=None, width=_WIDE, description: str | None = None) -> alt.Chart:
    """Cycle length in weeks, won vs lost (share of each status's deals).

    Takes :func:`channelkpi.cycle_distribution` output (without ``by``).
    """
    _need(hist, ["status", "weeks", "count", "share"], "cycle_distribution")
    data = hist[["status", "weeks", "count", "share"]].copy()
    colors = alt.Scale(domain=["won", "lost"], range=[_STATUS["won"], _STATUS["lost"]])
    shown, names = _outcome_names(data, "status")
    tips = [alt.Tooltip(f"{shown}:N", title=_("Outcome")), alt.Tooltip("weeks:O", title=_("Weeks"))]
    tips += _texts(data, [("count", N_("Deals")), ("share", N_("Share of the outcome's deals"))], "")
    chart = (
        alt.Chart(data)
        .mark_bar(opacity=0.75)
        .encode(
            x=alt.X(
                "weeks:O",
                title=_("Weeks from created to closed (52 = a year or more)"),
                axis=alt.Axis(labelAngle=0, values=list(range(0, 53, 4))),
            ),
            y=alt.Y("share:Q", stack=None, title=_("Share of deals"), axis=alt.Axis(format=".0%")),
            color=alt.Color(
                "status:N", scale=colors, title=None, legend=alt.Legend(labelExpr=names) if names else alt.Undefined
            ),
            tooltip=tips,
        )
    )
    return _finish(
        chart, title=_("How long deals take: won vs lost"), subtitle=subtitle, description=description, width=width
    )


def deal_success_cohorts(
    success: pd.DataFrame, *, subtitle=None, width=_WIDE, description: str | None = None
) -> alt.Chart:
    """Each creation cohort split into won, still open (pending) and lost.

    Takes :func:`channelkpi.deal_success` output with ``freq``.
    """
    _need(
        success,
        ["period", "period_start", "success_rate", "pending_share", "lost_share", "created_count"],
        "deal_success_cohorts",
    )
    extra = [c for c in ("period_label", "partial") if c in success]
    wide = success[
        ["period", "period_start", *extra, "success_rate", "pending_share", "lost_share", "created_count", "won_count"]
    ]
    data = wide.melt(
        id_vars=["period", "period_start", *extra, "created_count", "won_count"],
        value_vars=["success_rate", "pending_share", "lost_share"],
        var_name="part",
        value_name="share",
    )
    data["part"] = data["part"].map({"success_rate": "won", "pending_share": "pending", "lost_share": "lost"})
    data["order"] = data["part"].map({"won": 0, "pending": 1, "lost": 2})
    colors = alt.Scale(domain=["won", "pending", "lost"], range=[_STATUS["won"], _STATUS["pending"], _STATUS["lost"]])
    shown, names = _outcome_names(data, "part")
    tips = [_period_tip(data, N_("Created in")), alt.Tooltip(f"{shown}:N", title=_("Outcome so far"))]
    tips += _texts(
        data, [("share", N_("Share")), ("created_count", N_("Deals created")), ("won_count", N_("Won so far"))], ""
    )
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=_period_axis(data),
            y=alt.Y("share:Q", title=_("Share of the deals created"), axis=alt.Axis(format=".0%"), stack="zero"),
            color=alt.Color(
                "part:N", scale=colors, title=None, legend=alt.Legend(labelExpr=names) if names else alt.Undefined
            ),
            order=alt.Order("order:Q"),
            tooltip=tips,
            **_hollow(data, "part:N", colors),
        )
    )
    return _finish(
        chart,
        title=_("Deal success by creation cohort"),
        subtitle=subtitle,
        notes=[
            _("Of the deals created in each period: won, still open (pending) and lost so far"),
            *_partial_note(data),
        ],
        description=description,
        width=width,
    )


# --------------------------------------------------------------------------- history charts
#: What each bar of the movement waterfall is called (the buckets of
#: :func:`channelkpi.pipeline_movement`, in its order, between the two ends).
MOVEMENT_TITLES = {
    key: COLUMN_HEADINGS[key]  # the same words as the movement table's download headings
    for key in ("start", *BUCKETS, "end")
}
#: The name of the waterfall's bars layer (a click selection on the bars names it).
MOVEMENT_BARS = "movement_bars"
_MOVE_COLORS = {"total": "#56606b", "up": "#0072B2", "down": "#D55E00"}


def movement_bars(movement: pd.DataFrame, *, period=None) -> pd.DataFrame:
    """The bars of the movement waterfall of one period: the two ends and every bucket a deal
    moved in, each floating from where the one before it ends, in integer cents.

    Takes :func:`channelkpi.pipeline_movement` output (its rows of one currency: the groups
    shown are summed) and the ``period`` label (default: the last). Returns one row per bar:
    ``bucket``, ``title``, ``direction`` (``total``, ``up``, ``down``), ``cents``, ``count``,
    ``low_cents``/``high_cents`` and ``amount``/``low``/``high`` in currency units. The last
    bar's height is the first's plus the signed buckets: the waterfall balances to the cent.

    >>> table = pd.DataFrame({"period": ["2025-11"], "start_cents": [10000], "new_cents": [2500],
    ...     "decreased_cents": [500], "end_cents": [12000], "start_count": [2], "new_count": [1],
    ...     "decreased_count": [1], "end_count": [3]})
    >>> movement_bars(table)[["bucket", "low", "high"]]
          bucket    low   high
    0      start    0.0  100.0
    1        new  100.0  125.0
    2  decreased  120.0  125.0
    3        end    0.0  120.0
    """
    from .metrics.movement import BUCKETS, SIGNS  # the buckets' order and signs are the KPI's

    _need(movement, ["period", "start_cents", "end_cents"], "movement_waterfall")
    if len(movement) and "currency" in movement and movement["currency"].nunique(dropna=False) > 1:
        raise ChannelKPIError(
            "the movement waterfall adds up one currency; this table has "
            f"{sorted(map(str, movement['currency'].unique()))}",
            fix="pass the rows of one currency (or convert with load_crm(fx=...))",
        )
    if period is None and len(movement):
        period = movement.sort_values("period_start" if "period_start" in movement else "period")["period"].iloc[-1]
    rows = movement[movement["period"].astype(str) == str(period)] if len(movement) else movement

    def total(column: str) -> int:
        return int(rows[column].fillna(0).sum()) if column in rows else 0

    bars, level = [], total("start_cents")
    bars.append(("start", "total", level, total("start_count"), 0, level))
    for bucket in BUCKETS:
        cents, count = total(f"{bucket}_cents"), total(f"{bucket}_count")
        if not cents and not count:
            continue
        low, high = (level, level + cents) if SIGNS[bucket] > 0 else (level - cents, level)
        level += SIGNS[bucket] * cents
        bars.append((bucket, "up" if SIGNS[bucket] > 0 else "down", cents, count, low, high))
    end = total("end_cents")
    if level != end:  # pipeline_movement balances every row: a sum that does not is a wrong table
        raise ChannelKPIError(
            f"the movement of {period} does not balance: start and buckets make {level}, end is {end} cents"
        )
    bars.append(("end", "total", end, total("end_count"), 0, end))
    out = pd.DataFrame(bars, columns=["bucket", "direction", "cents", "count", "low_cents", "high_cents"])
    out.insert(1, "title", out["bucket"].map(lambda b: _(MOVEMENT_TITLES[b])))
    out.insert(0, "period", str(period) if period is not None else "")
    for cents, units in (("cents", "amount"), ("low_cents", "low"), ("high_cents", "high")):
        out[cents] = out[cents].astype(np.int64)
        out[units] = out[cents] / 100
    return out


def _sentence_chart(text: str, *, title: str, subtitle, description, width) -> alt.Chart:
    """A chart that says in words why there is nothing to draw (never empty axes)."""
    chart = (
        alt.Chart(pd.DataFrame({"text": [text]}))
        .mark_text(align="left", baseline="top", fontSize=14, x=0, y=0, color="#1b2733")
        .encode(text="text:N")
        .properties(height=40)
    )
    return _finish(chart, title=title, subtitle=subtitle, description=description or f"{title}. {text}", width=width)


def movement_waterfall(
    movement: pd.DataFrame,
    *,
    period=None,
    currency: str = "USD",
    subtitle=None,
    width=_WIDE,
    description: str | None = None,
) -> alt.LayerChart | alt.Chart:
    """Why the open pipeline went from its start to its end in one period: the start bar, a
    bar up or down per movement bucket (floating from where the one before ends), the end bar.

    Takes :func:`channelkpi.pipeline_movement` output (one currency; the groups shown are
    summed) and the ``period`` (default: the last). The bars balance to the cent
    (:func:`movement_bars`). With no open pipeline at either end the chart says so in a sentence.
    """
    symbol = _symbol(currency)
    title = _("Pipeline movement")
    data = movement_bars(movement, period=period)
    label = period_text(data["period"].iloc[0] if len(data) else str(period or ""))
    if data["count"].sum() == 0 and not data["cents"].any():
        text = (
            _("No open pipeline at the start or the end of {period}: nothing moved.").format(period=label)
            if label
            else _("No periods.")
        )
        return _sentence_chart(text, title=title, subtitle=subtitle, description=description, width=width)
    data["order"] = np.arange(len(data))
    sign = data["direction"].map({"up": 1, "down": -1, "total": 0})

    def moved(s: int, amount: float, short: bool) -> str:
        if not s:
            return money_short(amount, symbol) if short else money(amount, symbol)
        return signed_money(s * amount, symbol, short=short)  # the sign where the locale writes it

    data["amount_text"] = [moved(s, a, False) for s, a in zip(sign, data["amount"], strict=True)]
    data["label_text"] = [moved(s, a, True) for s, a in zip(sign, data["amount"], strict=True)]
    data["count_text"] = [number(c) for c in data["count"]]
    data["running_text"] = [
        money(h if d != "down" else lo, symbol)
        for d, h, lo in zip(data["direction"], data["high"], data["low"], strict=True)
    ]
    colors = alt.Scale(domain=list(_MOVE_COLORS), range=list(_MOVE_COLORS.values()))
    tips = [
        alt.Tooltip("title:N", title=_("Bar")),
        alt.Tooltip("amount_text:N", title=_("Amount")),
        alt.Tooltip("count_text:N", title=_("Deals")),
        alt.Tooltip("running_text:N", title=_("Open pipeline after it")),
    ]
    x = alt.X(
        "title:N",
        sort=alt.EncodingSortField("order", op="min"),
        title=None,
        axis=alt.Axis(labelAngle=-30, labelLimit=_LABEL_LIMIT),
    )
    base = alt.Chart().encode(x=x, tooltip=tips)
    bars = (
        base.mark_bar()
        .encode(
            y=alt.Y("low:Q", title=_label("open_amount"), axis=_axis("open_amount", symbol)),
            y2="high:Q",
            color=alt.Color("direction:N", scale=colors, legend=None),
        )
        .properties(name=MOVEMENT_BARS)
    )
    labels = base.mark_text(dy=-6, baseline="bottom", fontSize=11, color="#1b2733").encode(
        y="high:Q", text="label_text:N"
    )
    moved = data["direction"] != "total"
    notes = [_("{period}: open at the start + blue - orange = open at the end (to the cent)").format(period=label)]
    if not moved.any():
        notes.append(_("No deal moved in this period: the pipeline is unchanged"))
    summary = "; ".join(f"{t} {a}" for t, a in zip(data["title"], data["amount_text"], strict=True))
    return _finish(
        alt.layer(bars, labels, data=data),
        title=title,
        subtitle=subtitle,
        notes=notes,
        description=description,
        width=width,
        summary=summary + ".",
    )


#: The height of a funnel bar (px); its label takes a line above it.
_FUNNEL_BAR = 14


def stage_funnel_chart(
    funnel: pd.DataFrame, *, subtitle=None, width=None, description: str | None = None
) -> alt.LayerChart | alt.Chart:
    """The deals that entered each stage, in stage order, each labelled with the share of them
    that went on to a later stage (the step conversion).

    Takes :func:`channelkpi.stage_funnel` output (its groups are summed; the conversions are
    then recomputed from the sums: advanced and won over entered).
    """
    title = _("Stage funnel")
    _need(funnel, ["step", "stage", "entered", "advanced", "won", "lost", "still_there"], "stage_funnel_chart")
    cols = ["entered", "advanced", "moved_back", "won", "lost", "removed", "still_there"]
    data = funnel.groupby(["step", "stage"], as_index=False)[[c for c in cols if c in funnel]].sum()
    if not len(data) or not data["entered"].any():
        return _sentence_chart(
            _("No deal entered a stage in this selection."),
            title=title,
            subtitle=subtitle,
            description=description,
            width=width,
        )
    data["stage"] = data["stage"].astype(str)
    # a step converts when the deal went on: advanced to a later stage or won from it
    went_on = data["advanced"] + data["won"]
    data["step_conversion"] = went_on / data["entered"].where(data["entered"] > 0)
    first = data["entered"].iloc[0]
    data["cumulative_conversion"] = data["entered"] / first if first else np.nan
    data["label_text"] = [
        _("{count} · {share} went on").format(count=number(e), share=percent(r)) if not is_missing(r) else number(e)
        for e, r in zip(data["entered"], data["step_conversion"], strict=True)
    ]
    tips = [alt.Tooltip("stage:N", title=_("Stage"))]
    tips += _texts(
        data,
        [
            ("entered", N_("Entered"), "count"),
            ("advanced", N_("Advanced"), "count"),
            ("won", N_("Won from it"), "count"),
            ("lost", N_("Lost from it"), "count"),
            ("still_there", N_("Still there"), "count"),
            ("step_conversion", N_("Went on (advanced or won)"), "rate"),
            ("cumulative_conversion", N_("Entered, of the first step's"), "rate"),
        ],
        "",
    )
    y = alt.Y(
        "stage:N", sort=alt.EncodingSortField("step", op="min"), title=None, axis=alt.Axis(labelLimit=_LABEL_LIMIT)
    )
    # each bar's label sits above it from the axis: beside the end of the longest bar it would
    # run past the chart's edge ("went o"), inside a bar onto the stage names on a phone
    base = alt.Chart().encode(y=y, tooltip=tips)
    bars = base.mark_bar(color=PALETTE[0], size=_FUNNEL_BAR).encode(
        x=alt.X("entered:Q", title=_("Deals that entered the stage"))
    )
    labels = base.mark_text(
        align="left", baseline="bottom", dx=3, dy=-(_FUNNEL_BAR // 2 + 1), fontSize=11, color="#1b2733"
    ).encode(x=alt.value(0), text="label_text:N")
    return _finish(
        alt.layer(bars, labels, data=data).properties(height=alt.Step(_FUNNEL_BAR + 20)),
        title=title,
        subtitle=subtitle,
        notes=[_("Deals that entered each stage; went on = advanced to a later stage or won")],
        description=description,
        width=width,
    )


def time_in_stage_chart(
    stage_time: pd.DataFrame, *, subtitle=None, width=None, description: str | None = None
) -> alt.LayerChart | alt.Chart:
    """Where deals wait: the median days in each stage (bar) and the 75th percentile (tick).

    Takes :func:`channelkpi.time_in_stage` output for one group (Kaplan-Meier: deals still in a
    stage count as censored, never as finished; the tooltip says how many). A stage whose
    median is not reached yet is named with no bar.
    """
    title = _("Time in stage")
    _need(
        stage_time,
        ["step", "stage", "visits", "finished", "censored", "median_days", "p75_days"],
        "time_in_stage_chart",
    )
    data = stage_time[stage_time["visits"] > 0].copy()
    if not len(data):
        return _sentence_chart(
            _("No deal visited a stage in this selection."),
            title=title,
            subtitle=subtitle,
            description=description,
            width=width,
        )
    data["stage"] = data["stage"].astype(str)
    not_yet = _("not reached yet")

    def days_text(v) -> str:
        return not_yet if is_missing(v) else _("{days} days").format(days=number(v, digits=1))

    data["median_text"] = [days_text(v) for v in data["median_days"]]
    data["p75_text"] = [days_text(v) for v in data["p75_days"]]
    tips = [
        alt.Tooltip("stage:N", title=_("Stage")),
        alt.Tooltip("median_text:N", title=_("Median")),
        alt.Tooltip("p75_text:N", title=_("75th percentile")),
        *_texts(
            data,
            [
                ("visits", N_("Visits"), "count"),
                ("finished", N_("Left the stage"), "count"),
                ("censored", N_("Still there (censored)"), "count"),
            ],
            "",
        ),
    ]
    y = alt.Y(
        "stage:N", sort=alt.EncodingSortField("step", op="min"), title=None, axis=alt.Axis(labelLimit=_LABEL_LIMIT)
    )
    base = alt.Chart().encode(y=y, tooltip=tips)
    bars = base.mark_bar(color=PALETTE[4]).encode(x=alt.X("median_days:Q", title=_("Days in the stage")))
    ticks = base.mark_tick(color=PALETTE[0], thickness=3, size=16).encode(x="p75_days:Q")
    return _finish(
        alt.layer(bars, ticks, data=data).properties(height=alt.Step(24)),
        title=title,
        subtitle=subtitle,
        notes=[_("Bar: median days · tick: 75th percentile · deals still in a stage count as censored")],
        description=description,
        width=width,
    )
