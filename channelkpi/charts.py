"""Altair charts for the KPI tables: one pure function per view.

Every function takes a KPI table (the output of a :mod:`channelkpi` KPI function, never raw
deal rows) and returns an ``alt.Chart`` whose data is that small table, so a spec's size does not
grow with the number of deals. Colours come from the Okabe-Ito palette, which stays
distinguishable with the common colour-vision deficiencies; money is formatted with thousands
separators and the currency symbol, rates as percentages; tooltips show each number's inputs.

``import channelkpi.charts`` registers the ``"channelkpi"`` theme; :func:`use_theme` enables it.

Examples
--------
>>> import channelkpi as ck
>>> from channelkpi.datasets import make_sample_deals
>>> deals = make_sample_deals()
>>> chart = win_rate_by_group(ck.win_rate(deals, by="channel"), level="channel")
>>> spec = chart.to_dict()
>>> spec["layer"][0]["mark"]["type"], len(spec["datasets"][spec["data"]["name"]])
('rule', 6)
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from .errors import ChannelKPIError
from .schema import CHANNELS

__all__ = [
    "PALETTE",
    "use_theme",
    "kpi_trend",
    "partner_ranking",
    "pipeline_by_stage",
    "pipeline_waterfall",
    "channel_mix",
    "win_rate_by_group",
    "seasonality_heatmap",
    "seasonality_bands",
    "cycle_distribution",
    "deal_success_cohorts",
]

#: Okabe-Ito: distinguishable with protanopia, deuteranopia and tritanopia.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
_STATUS = {"won": "#009E73", "pending": "#56B4E9", "open": "#56B4E9", "lost": "#D55E00"}
_CHANNEL_COLORS = dict(zip(CHANNELS, ["#E69F00", "#CC79A7", "#0072B2", "#009E73", "#999999", "#DDDDDD"]))
_WIDE = 680  # period axes: wide enough for three years of months
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_TITLES = {
    "won_amount": "Won amount",
    "won_count": "Won deals",
    "avg_deal_size": "Average deal size",
    "median_deal_size": "Median deal size",
    "created_count": "Deals created",
    "closed_count": "Deals closed",
    "open_count": "Open deals",
    "open_amount": "Open pipeline",
    "weighted_amount": "Weighted pipeline",
    "win_rate": "Win rate",
    "cycle_days_median": "Median cycle (days)",
    "cycle_days_mean": "Mean cycle (days)",
    "sales_velocity": "Sales velocity (per day)",
    "quality_score": "Quality score",
    "success_rate": "Deal success",
    "pending_share": "Still open",
}
_MONEY = {"won_amount", "avg_deal_size", "median_deal_size", "open_amount", "weighted_amount", "sales_velocity"}
_RATES = {"win_rate", "success_rate", "pending_share", "win_rate_shrunk"}


@alt.theme.register("channelkpi", enable=False)
def _theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": _FONT,
            "view": {"stroke": None, "continuousWidth": 560, "continuousHeight": 260},
            "range": {"category": PALETTE},
            "axis": {
                "labelFontSize": 12,
                "titleFontSize": 12,
                "titleFontWeight": 500,
                "gridColor": "#e6e6e6",
                "domainColor": "#999999",
                "tickColor": "#999999",
            },
            "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom"},
            "title": {"fontSize": 15, "fontWeight": 600, "anchor": "start", "offset": 10},
            "bar": {"cornerRadiusEnd": 2},
        }
    }


def use_theme() -> None:
    """Enable the channelkpi theme for every chart Altair renders in this session."""
    alt.theme.enable("channelkpi")


def _need(table: pd.DataFrame, columns, view: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ChannelKPIError(
            f"the {view} chart needs column(s) {missing}; the table has {list(table.columns)}",
            fix=f"pass the table of the matching KPI function (see channelkpi.charts.{view})",
        )


def _money_format(currency: str) -> dict:
    return {"format": ",.0f", "labelExpr": f"'{currency}' + format(datum.value, ',.0f')"}


def _axis(measure: str, currency: str) -> alt.Axis:
    if measure in _MONEY:
        return alt.Axis(**_money_format(currency))
    if measure in _RATES:
        return alt.Axis(format=".0%")
    return alt.Axis(format=",.0f")


def _tip(field: str, *, title: str | None = None, currency: str = "$", kind: str = "quantitative") -> alt.Tooltip:
    title = title or _TITLES.get(field, field.replace("_", " ").capitalize())
    if (
        field in _MONEY
        or field.endswith(("_amount", "amount"))
        or field in ("start", "created", "won", "lost", "end", "target")
    ):
        return alt.Tooltip(f"{field}:Q", title=f"{title} ({currency})", format=",.2f")
    if field in _RATES or field.endswith(("_rate", "_share", "_low", "_high")):
        return alt.Tooltip(f"{field}:Q", title=title, format=".1%")
    if kind == "quantitative":
        return alt.Tooltip(f"{field}:Q", title=title, format=",.1f" if "days" in field or "score" in field else ",d")
    return alt.Tooltip(f"{field}:{kind[0].upper()}", title=title)


def _period_axis(table: pd.DataFrame) -> alt.X:
    return alt.X("period:N", sort=alt.SortField("period_start"), title=None, axis=alt.Axis(labelAngle=-40))


def kpi_trend(
    table: pd.DataFrame, measure: str = "won_amount", *, currency: str = "$", title: str | None = None
) -> alt.Chart:
    """A KPI over periods, with the previous period (``<measure>_prev``, from ``compare=``) dashed.

    Takes a table with ``period``, ``period_start`` and ``measure`` (one row per period).
    """
    _need(table, ["period", "period_start", measure], "kpi_trend")
    label = _TITLES.get(measure, measure)
    extra = [
        c for c in (f"{measure}_prev", "won_count", "n", "win_rate_low", "win_rate_high") if c in table and c != measure
    ]
    cols = ["period", "period_start", measure, *extra]
    data = table[cols].copy()
    tips = [alt.Tooltip("period:N", title="Period"), _tip(measure, currency=currency)]
    tips += [_tip(c, currency=currency) for c in cols[3:]]
    base = alt.Chart(data).encode(x=_period_axis(data))
    now = base.mark_line(point=True, color=PALETTE[0], strokeWidth=2.5).encode(
        y=alt.Y(f"{measure}:Q", title=label, axis=_axis(measure, currency)), tooltip=tips
    )
    layers = [now]
    if f"{measure}_prev" in data:
        layers.insert(0, base.mark_line(color="#999999", strokeDash=[4, 3]).encode(y=f"{measure}_prev:Q", tooltip=tips))
    if measure == "win_rate" and "win_rate_low" in data:
        layers.insert(
            0, base.mark_area(opacity=0.18, color=PALETTE[0]).encode(y="win_rate_low:Q", y2="win_rate_high:Q")
        )
    return alt.layer(*layers).properties(
        title=title or (f"{label}, this period vs the previous one" if f"{measure}_prev" in data else label),
        width=_WIDE,
    )


def partner_ranking(
    quality: pd.DataFrame, *, level: str = "partner", top: int = 20, currency: str = "$", subtitle: str | None = None
) -> alt.Chart:
    """Partners (or any level) ranked by quality score; click a bar to select it (param ``pick``).

    Takes :func:`channelkpi.quality_score` output for one period (``freq=None``); ``subtitle``
    says what the ranking leaves out.
    """
    _need(quality, [level, "quality_score", "rank"], "partner_ranking")
    cols = [
        level,
        "quality_score",
        "rank",
        "won_count",
        "won_amount",
        "win_rate",
        "win_rate_shrunk",
        "avg_deal_size",
        "n",
    ]
    data = quality[[c for c in cols if c in quality]].sort_values("rank").head(top).copy()
    pick = alt.selection_point(name="pick", fields=[level], toggle="true", clear="dblclick")
    tips = [
        alt.Tooltip(f"{level}:N", title=level.capitalize()),
        _tip("quality_score", title="Quality score (0-100)"),
        alt.Tooltip("rank:Q", title="Rank"),
    ] + [_tip(c, currency=currency) for c in cols[3:] if c in data]
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(f"{level}:N", sort=alt.SortField("rank"), title=None),
            x=alt.X("quality_score:Q", title="Quality score (0-100)", scale=alt.Scale(domain=[0, 100])),
            color=alt.condition(pick, alt.value(PALETTE[0]), alt.value("#c8d6e5")),
            tooltip=tips,
        )
        .add_params(pick)
        .properties(
            title=alt.Title(f"{level.capitalize()} ranking by quality score", subtitle=subtitle or alt.Undefined),
            height=alt.Step(18),
        )
    )


def pipeline_by_stage(pipeline: pd.DataFrame, *, currency: str = "$") -> alt.Chart:
    """Open pipeline by stage: amount (bar) and probability-weighted amount (tick).

    Takes :func:`channelkpi.pipeline` with ``by="stage"`` (one snapshot, ``freq=None``).
    """
    _need(pipeline, ["stage", "open_amount", "weighted_amount", "open_count"], "pipeline_by_stage")
    data = pipeline[["stage", "open_amount", "weighted_amount", "open_count"]].copy()
    data = data[data["open_count"] > 0]
    tips = [
        alt.Tooltip("stage:N", title="Stage"),
        _tip("open_count"),
        _tip("open_amount", currency=currency),
        _tip("weighted_amount", currency=currency),
    ]
    base = alt.Chart(data).encode(y=alt.Y("stage:N", sort="-x", title=None), tooltip=tips)
    bars = base.mark_bar(color=PALETTE[4]).encode(
        x=alt.X("open_amount:Q", title=f"Open pipeline ({currency})", axis=_axis("open_amount", currency))
    )
    ticks = base.mark_tick(color=PALETTE[0], thickness=3, size=16).encode(x="weighted_amount:Q")
    return alt.layer(bars, ticks).properties(
        title="Open pipeline by stage (tick: weighted by probability)", height=alt.Step(22)
    )


def pipeline_waterfall(
    waterfall: pd.DataFrame, *, targets: pd.DataFrame | None = None, currency: str = "$"
) -> alt.Chart:
    """Pipeline flows per period: created (+), won and lost (-), and the pipeline at the period end.

    Takes :func:`channelkpi.pipeline_waterfall` output; ``targets`` is a table with ``period``
    and ``target`` (e.g. :func:`channelkpi.pipeline` with ``targets=``), drawn as a line.
    """
    _need(waterfall, ["period", "period_start", "start", "created", "won", "lost", "end"], "pipeline_waterfall")
    wf = waterfall[["period", "period_start", "start", "created", "won", "lost", "end"]]
    flows = wf.melt(
        id_vars=["period", "period_start"], value_vars=["created", "won", "lost"], var_name="flow", value_name="amount"
    )
    flows["signed"] = flows["amount"].where(flows["flow"] == "created", -flows["amount"])
    colors = alt.Scale(domain=["created", "won", "lost"], range=[PALETTE[4], _STATUS["won"], _STATUS["lost"]])
    x = _period_axis(wf)
    bars = (
        alt.Chart(flows)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("signed:Q", title=f"Change in pipeline ({currency})", axis=_axis("open_amount", currency)),
            color=alt.Color("flow:N", scale=colors, title=None),
            xOffset="flow:N",
            tooltip=[
                alt.Tooltip("period:N", title="Period"),
                alt.Tooltip("flow:N", title="Flow"),
                alt.Tooltip("amount:Q", title=f"Amount ({currency})", format=",.2f"),
            ],
        )
    )
    end = (
        alt.Chart(wf)
        .mark_line(point=True, color="#333333")
        .encode(
            x=x,
            y="end:Q",
            tooltip=[alt.Tooltip("period:N", title="Period")]
            + [_tip(c, currency=currency, title=c.capitalize()) for c in ("start", "created", "won", "lost", "end")],
        )
    )
    layers = [bars, end]
    if targets is not None:
        _need(targets, ["period", "target"], "pipeline_waterfall targets")
        tg = targets[["period", "target"]].dropna().groupby("period", as_index=False)["target"].sum()
        tg = tg.merge(wf[["period", "period_start"]], on="period")
        layers.append(
            alt.Chart(tg)
            .mark_line(strokeDash=[6, 3], color=PALETTE[1], point=True)
            .encode(
                x=x,
                y="target:Q",
                tooltip=[alt.Tooltip("period:N", title="Period"), _tip("target", title="Target", currency=currency)],
            )
        )
    title = "Pipeline flows per period (line: open pipeline at the period end"
    title += "; dashed: won-amount target)" if targets is not None else ")"
    return alt.layer(*layers).properties(title=title, width=_WIDE)


def channel_mix(channels: pd.DataFrame, *, currency: str = "$") -> alt.Chart:
    """Share of won amount by marketing channel, per period (or overall).

    Takes :func:`channelkpi.channel_performance` output (``by="channel"``, any ``freq``).
    """
    _need(channels, ["channel", "won_amount", "won_share", "won_count"], "channel_mix")
    has_period = "period" in channels
    cols = ["channel", "won_amount", "won_share", "won_count", "win_rate", "avg_deal_size"] + (
        ["period", "period_start"] if has_period else []
    )
    data = channels[[c for c in cols if c in channels]].copy()
    color = alt.Color(
        "channel:N",
        scale=alt.Scale(domain=list(_CHANNEL_COLORS), range=list(_CHANNEL_COLORS.values())),
        title="Channel",
    )
    tips = [alt.Tooltip("channel:N", title="Channel")] + [
        _tip(c, currency=currency)
        for c in ("won_share", "won_amount", "won_count", "win_rate", "avg_deal_size")
        if c in data
    ]
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("won_amount:Q", stack="normalize", title="Share of won amount", axis=alt.Axis(format=".0%")),
            color=color,
            order=alt.Order("channel:N"),
            tooltip=tips,
        )
    )
    chart = chart.encode(x=_period_axis(data)) if has_period else chart.encode(x=alt.X("channel:N", title=None))
    return chart.properties(
        title="Marketing channel mix (share of won amount)", width=_WIDE if has_period else alt.Step(60)
    )


def win_rate_by_group(rates: pd.DataFrame, *, level: str = "channel") -> alt.Chart:
    """Win rate per group with its Wilson 95 % interval (rule) and the number of closed deals.

    Takes :func:`channelkpi.win_rate` output with ``by=level`` and ``freq=None``.
    """
    _need(
        rates, [level, "win_rate", "win_rate_low", "win_rate_high", "won_count", "lost_count", "n"], "win_rate_by_group"
    )
    data = rates[[level, "win_rate", "win_rate_low", "win_rate_high", "won_count", "lost_count", "n"]].copy()
    tips = [
        alt.Tooltip(f"{level}:N", title=level.capitalize()),
        _tip("win_rate"),
        _tip("win_rate_low", title="95 % low"),
        _tip("win_rate_high", title="95 % high"),
        _tip("won_count", title="Won"),
        _tip("lost_count", title="Lost"),
        _tip("n", title="Closed"),
    ]
    base = alt.Chart(data).encode(y=alt.Y(f"{level}:N", sort="-x", title=None), tooltip=tips)
    rule = base.mark_rule(color="#777777", strokeWidth=2).encode(
        x=alt.X(
            "win_rate_low:Q",
            title="Win rate (95 % interval)",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format=".0%"),
        ),
        x2="win_rate_high:Q",
    )
    point = base.mark_point(filled=True, size=90, color=PALETTE[0]).encode(x="win_rate:Q")
    return alt.layer(rule, point).properties(title=f"Win rate by {level}", height=alt.Step(24))


def seasonality_heatmap(season: pd.DataFrame, *, level: str = "unit") -> alt.Chart:
    """Win rate by month of year x group, coloured by the difference to that month's norm.

    Takes :func:`channelkpi.seasonality` output with ``by=level``.
    """
    _need(season, [level, "month", "month_name", "win_rate", "expected_rate", "n"], "seasonality_heatmap")
    data = season[
        [
            level,
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
    ].copy()
    tips = [
        alt.Tooltip(f"{level}:N", title=level.capitalize()),
        alt.Tooltip("month_name:N", title="Month"),
        _tip("win_rate"),
        _tip("win_rate_low", title="95 % low"),
        _tip("win_rate_high", title="95 % high"),
        _tip("expected_rate", title="All groups this month"),
        _tip("won_count", title="Won"),
        _tip("n", title="Closed"),
    ]
    base = alt.Chart(data).encode(
        x=alt.X("month_name:N", sort=alt.SortField("month"), title=None),
        y=alt.Y(f"{level}:N", title=None),
        tooltip=tips,
    )
    rect = base.mark_rect().encode(
        color=alt.Color(
            "difference:Q",
            title="vs the month's norm",
            scale=alt.Scale(scheme="blueorange", domainMid=0, reverse=True),
            legend=alt.Legend(format="+.0%"),
        )
    )
    text = base.mark_text(fontSize=11).encode(text=alt.Text("win_rate:Q", format=".0%"))
    return alt.layer(rect, text).properties(
        title=f"Close-rate seasonality by {level}", height=alt.Step(26), width=alt.Step(44)
    )


def seasonality_bands(season: pd.DataFrame) -> alt.Chart:
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
    x = alt.X("month_name:N", sort=alt.SortField("month"), title=None)
    tips = [
        alt.Tooltip("month_name:N", title="Month"),
        _tip("win_rate"),
        _tip("win_rate_low", title="95 % low"),
        _tip("win_rate_high", title="95 % high"),
        _tip("won_count", title="Won"),
        _tip("n", title="Closed"),
    ]
    band = (
        alt.Chart(data)
        .mark_area(opacity=0.2, color=PALETTE[0])
        .encode(x=x, y=alt.Y("win_rate_low:Q", title="Win rate", axis=alt.Axis(format=".0%")), y2="win_rate_high:Q")
    )
    line = alt.Chart(data).mark_line(point=True, color=PALETTE[0]).encode(x=x, y="win_rate:Q", tooltip=tips)
    norm = alt.Chart(data).mark_line(strokeDash=[4, 3], color="#777777").encode(x=x, y="expected_rate:Q")
    return alt.layer(band, norm, line).properties(title="Win rate by month of year (band: 95 % interval)", width=_WIDE)


def cycle_distribution(hist: pd.DataFrame) -> alt.Chart:
    """Cycle length in weeks, won vs lost (share of each status's deals).

    Takes :func:`channelkpi.cycle_distribution` output (without ``by``).
    """
    _need(hist, ["status", "weeks", "count", "share"], "cycle_distribution")
    data = hist[["status", "weeks", "count", "share"]].copy()
    colors = alt.Scale(domain=["won", "lost"], range=[_STATUS["won"], _STATUS["lost"]])
    return (
        alt.Chart(data)
        .mark_bar(opacity=0.75)
        .encode(
            x=alt.X(
                "weeks:O",
                title="Weeks from created to closed (52 = a year or more)",
                axis=alt.Axis(labelAngle=0, values=list(range(0, 53, 4))),
            ),
            y=alt.Y("share:Q", stack=None, title="Share of deals", axis=alt.Axis(format=".0%")),
            color=alt.Color("status:N", scale=colors, title=None),
            tooltip=[
                alt.Tooltip("status:N", title="Outcome"),
                alt.Tooltip("weeks:O", title="Weeks"),
                _tip("count", title="Deals"),
                _tip("share", title="Share"),
            ],
        )
        .properties(title="How long deals take: won vs lost", width=_WIDE)
    )


def deal_success_cohorts(success: pd.DataFrame) -> alt.Chart:
    """Each creation cohort split into won, still open (pending) and lost.

    Takes :func:`channelkpi.deal_success` output with ``freq``.
    """
    _need(
        success,
        ["period", "period_start", "success_rate", "pending_share", "lost_share", "created_count"],
        "deal_success_cohorts",
    )
    wide = success[
        ["period", "period_start", "success_rate", "pending_share", "lost_share", "created_count", "won_count"]
    ]
    data = wide.melt(
        id_vars=["period", "period_start", "created_count", "won_count"],
        value_vars=["success_rate", "pending_share", "lost_share"],
        var_name="part",
        value_name="share",
    )
    data["part"] = data["part"].map({"success_rate": "won", "pending_share": "pending", "lost_share": "lost"})
    data["order"] = data["part"].map({"won": 0, "pending": 1, "lost": 2})
    colors = alt.Scale(domain=["won", "pending", "lost"], range=[_STATUS["won"], _STATUS["pending"], _STATUS["lost"]])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=_period_axis(data),
            y=alt.Y("share:Q", title="Share of the deals created", axis=alt.Axis(format=".0%"), stack="zero"),
            color=alt.Color("part:N", scale=colors, title=None),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("period:N", title="Created in"),
                alt.Tooltip("part:N", title="Outcome so far"),
                _tip("share", title="Share"),
                _tip("created_count", title="Deals created"),
                _tip("won_count", title="Won so far"),
            ],
        )
        .properties(title="Deal success by creation cohort (pending = still open)", width=_WIDE)
    )
