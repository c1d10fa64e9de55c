"""Charts: every view builds from its KPI table, holds only that table, and shows each number's inputs."""

import csv
import json
import re

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
        "channel_rates": (charts.win_rate_by_group, ck.win_rate(deals, by="channel"), {"by": "channel"}),
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


@pytest.mark.slow
def test_every_view_builds_and_validates(deals):
    for name, (fn, table, kw) in views(deals).items():
        chart = fn(table, **kw)
        assert isinstance(chart, (alt.Chart, alt.LayerChart)), name
        spec = chart.to_dict(validate=True)
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6"), name


@pytest.mark.slow
def test_specs_hold_the_kpi_table_not_the_deals(deals):
    big_deals = make_deals(30_000, partners=24, months=36, start="2023-01-01", seed=1)
    for source in (deals, big_deals):
        for name, (fn, table, kw) in views(source).items():
            rows = sum(len(d) for d in datasets(fn(table, **kw).to_dict()))
            melted = {"waterfall": 5, "cohorts": 3}.get(name, 1)  # long format: one row per part
            extra = len(kw["targets"]) if "targets" in kw else 0
            assert rows <= melted * len(table) + extra + len(table), name
            assert rows < 1000 < len(big_deals), name


@pytest.mark.slow
def test_win_rate_tooltips_show_inputs_and_interval(deals):
    fn, table, kw = views(deals)["channel_rates"]
    tips = tooltips(fn(table, **kw).to_dict())
    for title in ("Win rate", "95 % low", "95 % high", "Won", "Lost", "Closed"):
        assert title in tips
    heat = tooltips(charts.seasonality_heatmap(ck.seasonality(deals, by="unit")).to_dict())
    assert {"Win rate", "Closed", "All groups this month", "Versus the month's norm"} <= set(heat)


@pytest.mark.slow
def test_ranking_selection_and_order(deals):
    q = ck.quality_score(deals)
    spec = charts.partner_ranking(q, top=5).to_dict()
    assert spec["params"][0]["name"] == "selection" and spec["params"][0]["select"]["fields"] == ["partner"]
    data = datasets(spec)[0]
    assert [r["partner"] for r in data] == q.sort_values("rank")["partner"].head(5).tolist()


def y_axes(spec):
    return [layer["encoding"]["y"]["axis"] for layer in spec["layer"] if "axis" in layer["encoding"].get("y", {})]


@pytest.mark.slow
def test_money_and_percent_formats(deals):
    spec = charts.kpi_trend(ck.kpi_table(deals, freq="Q"), "won_amount", currency="EUR").to_dict()
    assert y_axes(spec)[0]["labelExpr"].startswith("'€' + format(") and "Won amount" in tooltips(spec)
    rates = charts.kpi_trend(ck.kpi_table(deals, freq="Q"), "win_rate").to_dict()
    assert y_axes(rates)[0]["format"] == ".0%"


def test_theme_is_registered_and_colour_blind_safe():
    assert "channelkpi" in alt.theme.names()
    assert charts.PALETTE[:3] == ["#0072B2", "#E69F00", "#009E73"]  # Okabe-Ito
    with alt.theme.enable("channelkpi"):
        spec = alt.Chart(pd.DataFrame({"a": [1]})).mark_point().encode(x="a").to_dict()
    assert spec["config"]["range"]["category"] == charts.PALETTE


@pytest.mark.slow
def test_a_themed_chart_carries_its_theme_whatever_the_session_has(deals):
    # the README's Dashboard(...) draws through view_charts without anyone calling use_theme()
    assert alt.theme.active != "channelkpi"
    chart = charts.themed(charts.channel_mix(ck.channel_performance(deals, freq="Y")))
    spec = chart.to_dict()
    assert spec["config"]["font"] == charts.FONT and spec["config"]["range"]["category"] == charts.PALETTE
    assert spec["config"]["axis"]["labelFontSize"] == 12
    printed = charts.themed(charts.channel_mix(ck.channel_performance(deals)), font=charts.PRINT_FONT).to_dict()
    assert printed["config"]["font"] == charts.PRINT_FONT


@pytest.mark.slow
def test_html_in_names_stays_data(deals):
    evil = deals.assign(partner=deals["partner"].replace("Bluefin Tech", "<img src=x onerror=alert(1)>"))
    spec = charts.partner_ranking(ck.quality_score(evil), top=30).to_dict()
    assert any(r["partner"] == "<img src=x onerror=alert(1)>" for r in datasets(spec)[0])
    assert "<img" not in json.dumps(spec["encoding"])  # only in the data, never in markup or titles


@pytest.mark.slow
def test_wrong_table_is_a_clear_error(deals):
    with pytest.raises(ck.ChannelKPIError, match="the seasonality_heatmap chart needs column"):
        charts.seasonality_heatmap(ck.win_rate(deals))


# --------------------------------------------------------------------------- explained numbers
def won_2025_q4():
    """Won count and amount of the deals closed in 2025-Q4, read with the csv module."""
    count, amount = 0, 0.0
    with open(sample_path("salesforce"), newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("Stage") != "Closed Won" or not row.get("Close Date"):
                continue
            month, _day, year = map(int, row["Close Date"].split("/"))
            if year == 2025 and month >= 10:
                count += 1
                amount += float(row["Amount"].replace(",", ""))
    return count, amount


@pytest.mark.slow
def test_tooltips_speak_words_and_write_numbers_as_people_do(deals):
    spec = charts.kpi_trend(ck.kpi_table(deals, freq="Q", compare="previous"), "won_amount").to_dict()
    titles = set(tooltips(spec))
    assert {"Period", "Won amount", "Previous period, same span", "Won deals", "Win rate", "Closed deals"} <= titles
    assert not titles & {"Won amount prev", "N", "n", "Win rate shrunk", "won_amount_prev"}
    rows = {r["period"]: r for r in datasets(spec)[0]}
    count, amount = won_2025_q4()
    q4 = rows["2025-Q4"]
    assert q4["won_amount_text"] == f"${amount:,.0f}"  # no cents above 1,000
    assert q4["won_count_text"] == f"{count:,}"
    # the win rate with its interval, as one line
    assert re.fullmatch(r"\d+\.\d% \(95% range \d+\.\d% to \d+\.\d%\)", q4["win_rate_text"])
    ranking = tooltips(charts.partner_ranking(ck.quality_score(deals)).to_dict())
    assert "Win rate, adjusted for few deals" in ranking and "Win rate shrunk" not in ranking


def test_small_amounts_keep_their_cents():
    table = pd.DataFrame(
        {
            "stage": ["A", "B"],
            "open_amount": [812.5, 1234.5],
            "weighted_amount": [81.25, 123.45],
            "open_count": [1, 1],
        }
    )
    rows = datasets(charts.pipeline_by_stage(table, currency="EUR").to_dict())[0]
    assert [r["open_amount_text"] for r in rows] == ["€812.50", "€1,234"]


@pytest.mark.slow
def test_the_ranking_says_how_many_it_shows(deals):
    q = ck.quality_score(deals)
    title = charts.partner_ranking(q, top=5, subtitle="All partners").to_dict()["title"]
    assert title["subtitle"][0] == "All partners"
    assert f"Top 5 of {len(q)} partners" in " ".join(title["subtitle"])
    every = charts.partner_ranking(q, top=100).to_dict()["title"]
    assert f"All {len(q)} partners" in " ".join(every["subtitle"])
    # the picture also goes into reports and image files, where nothing can be clicked
    assert "click" not in " ".join(title["subtitle"] + every["subtitle"]).lower()


@pytest.mark.slow
def test_deals_without_a_partner_are_named_in_words(deals):
    q = ck.quality_score(deals)  # scored with the direct deals: the chart names them
    rows = datasets(charts.partner_ranking(q, top=100).to_dict())[0]
    direct = [r for r in rows if r["partner"] == "(direct)"]
    assert direct and direct[0]["label"] == "Direct (no partner)"  # the selection keeps "(direct)"


@pytest.mark.slow
def test_every_chart_has_a_text_alternative(deals):
    for name, (fn, table, kw) in views(deals).items():
        spec = fn(table, subtitle="Brightline IT · Jan 2025 – Dec 2025", **kw).to_dict()
        title = spec["title"]["text"] if isinstance(spec["title"], dict) else spec["title"]
        assert spec["description"].startswith(title + "."), name
        assert "Brightline IT" in spec["description"], name
        assert spec["title"]["subtitle"][0] == "Brightline IT · Jan 2025 – Dec 2025", name


# --------------------------------------------------------------------------- incomplete periods
def partial_trend(deals):
    table = ck.kpi_table(deals, freq="Q", compare="previous")
    return table.assign(
        period_label=[p + " (to 5 Jan)" if p == "2026-Q1" else p for p in table["period"]],
        partial=table["period"] == "2026-Q1",
    )


@pytest.mark.slow
def test_an_incomplete_period_is_hollow_dashed_and_labelled(deals):
    spec = charts.kpi_trend(partial_trend(deals), "won_amount").to_dict()
    layers = spec["layer"]
    # the solid line leaves the incomplete period out; a dashed segment reaches it
    solid = [lay for lay in layers if lay["mark"].get("strokeWidth") == 2.5]
    assert solid and solid[0]["transform"] == [{"filter": "!datum.partial"}]
    dashed = [lay for lay in layers if lay["mark"].get("strokeDash") == [4, 2]]
    seg = spec["datasets"][dashed[0]["data"]["name"]]
    assert [r["period"] for r in seg] == ["2025-Q4", "2026-Q1"]
    points = [lay for lay in layers if lay["mark"]["type"] == "point"][0]
    assert points["encoding"]["fill"]["condition"]["test"] == "datum.partial"
    assert points["encoding"]["fill"]["condition"]["value"] == "#ffffff"
    assert points["encoding"]["x"]["field"] == "period_label"
    assert "2026-Q1 (to 5 Jan) is not complete in the data" in " ".join(spec["title"]["subtitle"])


@pytest.mark.slow
def test_bars_of_an_incomplete_period_are_hollow(deals):
    mix = ck.channel_performance(deals, freq="Q")
    mix = mix.assign(period_label=mix["period"], partial=mix["period"] == "2026-Q1")
    enc = charts.channel_mix(mix).to_dict()["encoding"]
    assert enc["fillOpacity"]["condition"] == {"test": "datum.partial", "value": 0.35}
    assert enc["strokeWidth"]["condition"] == {"test": "datum.partial", "value": 1.5}
    complete = charts.channel_mix(mix.assign(partial=False)).to_dict()["encoding"]
    assert "fillOpacity" not in complete


@pytest.mark.slow
def test_a_missing_previous_period_is_left_out_not_zero(deals):
    trend = ck.kpi_table(deals, freq="Q", compare="previous")
    trend.loc[0, "won_amount_prev"] = float("nan")
    spec = charts.kpi_trend(trend, "won_amount").to_dict()
    prev = [lay for lay in spec["layer"] if lay.get("encoding", {}).get("y", {}).get("field") == "won_amount_prev"]
    assert prev and prev[0]["transform"][0]["filter"].startswith("isValid(datum['won_amount_prev'])")


# --------------------------------------------------------------------------- the waterfall
@pytest.mark.slow
def test_the_waterfall_floats_each_step_from_where_the_last_ended(deals):
    wf = ck.pipeline_waterfall(deals, freq="Q", start="2025-01-01", end="2025-12-31")
    spec = charts.pipeline_waterfall(wf).to_dict()
    bars = spec["layer"][0]
    assert bars["encoding"]["y"]["field"] == "low" and bars["encoding"]["y2"]["field"] == "high"
    name = (bars.get("data") or spec["data"])["name"]
    rows = {(r["period"], r["step"]): (r["low"], r["high"]) for r in spec["datasets"][name]}
    for r in wf.itertuples():
        top = r.start + r.created
        assert rows[(r.period, "start")] == (0, r.start)
        assert rows[(r.period, "created")] == (r.start, top)
        assert rows[(r.period, "won")] == (top - r.won, top)
        assert rows[(r.period, "lost")] == pytest.approx((r.end, top - r.won))
        assert rows[(r.period, "end")] == (0, r.end)


# --------------------------------------------------------------------------- contrast
@pytest.mark.slow
def test_heatmap_text_contrasts_with_its_cell(deals):
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(charts.themed(charts.seasonality_heatmap(ck.seasonality(deals, by="unit"))).to_json())
    rects = [
        (float(x), float(y), float(w), float(h), fill)
        for x, y, w, h, fill in re.findall(
            r'aria-roledescription="rect mark" d="M([\d.]+),([\d.]+)h([\d.]+)v([\d.]+)h-[\d.]+Z" fill="(#[0-9a-f]{6})"',
            svg,
        )
    ]
    texts = [
        (x, y, color, label)
        for x, y, color, opacity, label in re.findall(
            r'aria-roledescription="text mark"[^>]*transform="translate\(([\d.]+),([\d.]+)\)"[^>]*'
            r'fill="(#[0-9a-f]{6})"(?: opacity="([\d.]+)")?>([^<]+)<',
            svg,
        )
        if opacity in ("", "1")
    ]
    assert len(rects) >= 40 and len(texts) == 48
    dark = 0
    for x, y, color, label in texts:
        x, y = float(x), float(y)
        cell = [r for r in rects if r[0] <= x <= r[0] + r[2] and r[1] <= y <= r[1] + r[3]]
        background = cell[0][4] if cell else "#ffffff"
        assert charts.contrast_ratio(color, background) >= 4.5, (label, color, background)
        dark += charts.contrast_ratio("#000000", background) < 4.5
    assert dark > 0  # some cells are dark enough to need white text, and get it
