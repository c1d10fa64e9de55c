"""Charts: every view builds from its KPI table, holds only that table, and shows each number's inputs."""

import json

import altair as alt
import pandas as pd
import pytest

import channelkpi as ck
from channelkpi import charts
from channelkpi.datasets import make_deals, make_sample_deals, sample_path


@pytest.fixture(scope="module")
def deals():
    return make_sample_deals()


def views(deals):
    targets = ck.read_targets(sample_path("targets")).drop(columns="partner")
    return {
        "trend": (charts.kpi_trend, ck.win_rate(deals, freq="Q", compare="previous"), {"measure": "win_rate"}),
        "ranking": (charts.partner_ranking, ck.quality_score(deals), {}),
        "stage": (charts.pipeline_by_stage, ck.pipeline(deals, by="stage"), {}),
        "waterfall": (
            charts.pipeline_waterfall,
            ck.pipeline_waterfall(deals, freq="Q"),
            {"targets": ck.pipeline(deals, freq="Q", targets=targets)},
        ),
        "mix": (charts.channel_mix, ck.channel_performance(deals, freq="Y"), {}),
        "channel_rates": (charts.win_rate_by_group, ck.win_rate(deals, by="channel"), {"level": "channel"}),
        "heatmap": (charts.seasonality_heatmap, ck.seasonality(deals, by="unit"), {}),
        "bands": (charts.seasonality_bands, ck.seasonality(deals), {}),
        "cycles": (charts.cycle_distribution, ck.cycle_distribution(deals), {}),
        "cohorts": (charts.deal_success_cohorts, ck.deal_success(deals, freq="Q"), {}),
    }


def datasets(spec):
    return list(spec["datasets"].values())


def tooltips(spec):
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "tooltip" in node and isinstance(node["tooltip"], list):
                found.extend(t.get("title", t.get("field")) for t in node["tooltip"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    return found


def test_every_view_builds_and_validates(deals):
    for name, (fn, table, kw) in views(deals).items():
        chart = fn(table, **kw)
        assert isinstance(chart, (alt.Chart, alt.LayerChart)), name
        spec = chart.to_dict(validate=True)
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6"), name


def test_specs_hold_the_kpi_table_not_the_deals(deals):
    big_deals = make_deals(30_000, partners=24, months=36, start="2023-01-01", seed=1)
    for source in (deals, big_deals):
        for name, (fn, table, kw) in views(source).items():
            rows = sum(len(d) for d in datasets(fn(table, **kw).to_dict()))
            melted = 3 if name in ("waterfall", "cohorts") else 1  # long format: one row per part
            extra = len(kw["targets"]) if "targets" in kw else 0
            assert rows <= melted * len(table) + extra + len(table), name
            assert rows < 1000 < len(big_deals), name


def test_win_rate_tooltips_show_inputs_and_interval(deals):
    fn, table, kw = views(deals)["channel_rates"]
    tips = tooltips(fn(table, **kw).to_dict())
    for title in ("Win rate", "95 % low", "95 % high", "Won", "Lost", "Closed"):
        assert title in tips
    heat = tooltips(charts.seasonality_heatmap(ck.seasonality(deals, by="unit")).to_dict())
    assert {"Win rate", "95 % low", "95 % high", "Closed", "All groups this month"} <= set(heat)


def test_ranking_selection_and_order(deals):
    q = ck.quality_score(deals)
    spec = charts.partner_ranking(q, top=5).to_dict()
    assert spec["params"][0]["name"] == "pick" and spec["params"][0]["select"]["fields"] == ["partner"]
    data = datasets(spec)[0]
    assert [r["partner"] for r in data] == q.sort_values("rank")["partner"].head(5).tolist()


def test_money_and_percent_formats(deals):
    spec = charts.kpi_trend(ck.kpi_table(deals, freq="Q"), "won_amount", currency="€").to_dict()
    axis = spec["layer"][-1]["encoding"]["y"]["axis"]
    assert axis["labelExpr"].startswith("'€' + format(") and "Won amount (€)" in tooltips(spec)
    rates = charts.kpi_trend(ck.kpi_table(deals, freq="Q"), "win_rate").to_dict()
    assert rates["layer"][-1]["encoding"]["y"]["axis"]["format"] == ".0%"


def test_theme_is_registered_and_colour_blind_safe():
    assert "channelkpi" in alt.theme.names()
    assert charts.PALETTE[:3] == ["#0072B2", "#E69F00", "#009E73"]  # Okabe-Ito
    with alt.theme.enable("channelkpi"):
        spec = alt.Chart(pd.DataFrame({"a": [1]})).mark_point().encode(x="a").to_dict()
    assert spec["config"]["range"]["category"] == charts.PALETTE


def test_html_in_names_stays_data(deals):
    evil = deals.assign(partner=deals["partner"].replace("Bluefin Tech", "<img src=x onerror=alert(1)>"))
    spec = charts.partner_ranking(ck.quality_score(evil), top=30).to_dict()
    assert any(r["partner"] == "<img src=x onerror=alert(1)>" for r in datasets(spec)[0])
    assert "<img" not in json.dumps(spec["encoding"])  # only in the data, never in markup or titles


def test_wrong_table_is_a_clear_error(deals):
    with pytest.raises(ck.ChannelKPIError, match="the seasonality_heatmap chart needs column"):
        charts.seasonality_heatmap(ck.win_rate(deals))
