"""The dashboard without a browser: set each control, check the numbers and the chart data."""

import base64
import io
import os
import subprocess
import sys

import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.datasets import sample_path

widgets = pytest.importorskip("channelkpi.widgets")


@pytest.fixture(scope="module")
def loaded():
    return ck.load_crm(sample_path("salesforce"))


@pytest.fixture
def dash(loaded):
    return widgets.Dashboard(loaded, targets=ck.read_targets(sample_path("targets")))


def chart_rows(dash, name):
    spec = dash.charts[name].chart.to_dict()
    return [row for rows in spec["datasets"].values() for row in rows]


def won_in(deals, start, end, **filters):
    """Won deals closed in [start, end], counted with plain pandas."""
    d = deals[(deals["status"] == "won") & (deals["closed"] >= start) & (deals["closed"] <= end)]
    for col, values in filters.items():
        d = d[d[col].isin(values)]
    return len(d), float(d["amount"].sum())


def test_initial_view_covers_everything(dash, loaded):
    deals = loaded.deals
    assert set(dash.charts) == {
        "trend",
        "ranking",
        "pipeline_stage",
        "waterfall",
        "channel_mix",
        "channel_win_rates",
        "seasonality",
        "seasonality_bands",
        "cycles",
        "cohorts",
    }
    start, end = dash.date_range
    assert start == deals["created"].min().replace(day=1)
    n, amount = won_in(deals, start, end)
    assert dash.kpis["won_count"].sum() == n
    assert dash.kpis["won_amount"].sum() == pytest.approx(amount)
    assert dash.tables["now"]["won_count"].iloc[0] == n
    assert "Average deal size" in dash.tiles.value and "n = " in dash.tiles.value
    assert dash.message.value == ""


def test_partner_control(dash, loaded):
    dash.partners.value = ["Brightline IT", "Cobalt Integrations"]
    start, end = dash.date_range
    n, amount = won_in(loaded.deals, start, end, partner=["Brightline IT", "Cobalt Integrations"])
    assert set(dash.kpis["partner"]) == {"Brightline IT", "Cobalt Integrations"}
    assert dash.kpis["won_count"].sum() == n
    trend = chart_rows(dash, "trend")
    assert sum(r["won_amount"] for r in trend) == pytest.approx(amount)
    # the ranking shows the two, scored and ranked among all partners (their peers), not
    # among each other; deals without a partner are not a peer
    partners = loaded.deals[loaded.deals["partner"] != "(direct)"]
    everyone = ck.quality_score(partners, start=start, end=end).set_index("partner")
    shown = {r["partner"]: (r["rank"], r["quality_score"]) for r in chart_rows(dash, "ranking")}
    assert shown == {p: (everyone.loc[p, "rank"], everyone.loc[p, "quality_score"]) for p in shown}
    assert set(shown) == {"Brightline IT", "Cobalt Integrations"} and len(everyone) > 20


def test_period_control(dash, loaded):
    months = dash.period.options
    dash.period.value = (months[12][1], months[23][1])  # calendar 2024
    assert dash.date_range == (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"))
    n, _ = won_in(loaded.deals, pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"))
    assert dash.tables["now"]["won_count"].iloc[0] == n
    assert sorted(set(dash.kpis["period"])) == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    before = dash.tables["before"]["won_count"].iloc[0]
    assert before == won_in(loaded.deals, pd.Timestamp("2023-01-01"), pd.Timestamp("2023-12-31"))[0]
    # 2024 (a leap year) is compared with the whole of 2023: seven tiles show a change
    assert dash.tiles.value.count("vs previous period") == 7
    assert f"{n - before:+,}" in dash.tiles.value


def test_level_freq_and_channel_controls(dash, loaded):
    dash.level.value = "unit"
    assert set(dash.kpis["unit"]) == set(loaded.deals["unit"])
    ranking = chart_rows(dash, "ranking")
    assert {r["unit"] for r in ranking} == set(loaded.deals["unit"])
    dash.freq.value = "Y"
    assert set(dash.kpis["period"]) == {"2023", "2024", "2025"}  # the range ends with the last whole quarter
    dash.channels.value = ["partner"]
    start, end = dash.date_range
    n, _ = won_in(loaded.deals, start, end, channel=["partner"])
    assert dash.kpis["won_count"].sum() == n
    mix = chart_rows(dash, "channel_mix")
    assert {r["channel"] for r in mix if r["won_amount"] > 0} == {"partner"}


def test_clicking_a_partner_filters_the_other_views(dash, loaded):
    dash.select(["Brightline IT"])
    assert dash.where == {"partner": ["Brightline IT"]}
    assert set(dash.kpis["partner"]) == {"Brightline IT"}
    assert not dash.clear.disabled
    # the ranking keeps showing every partner so the choice can be changed
    assert len({r["partner"] for r in chart_rows(dash, "ranking")}) > 5
    start, end = dash.date_range
    n, _ = won_in(loaded.deals, start, end, partner=["Brightline IT"])
    assert dash.tables["now"]["won_count"].iloc[0] == n
    dash.clear_selection()
    assert dash.where == {} and dash.clear.disabled
    # a pick belongs to its level: another level starts from everything, ranked at that level
    dash.select(["Brightline IT"])
    dash.level.value = "unit"
    assert dash.where == {} and dash.clear.disabled
    assert {r["unit"] for r in chart_rows(dash, "ranking")} == set(loaded.deals["unit"])
    dash.level.value = "partner"
    # a click in the browser arrives as the chart's synced Vega selection state
    ranking = dash.charts["ranking"]
    ranking._vl_selections = {"pick": {"value": {"vlPoint": {"or": [{"partner": "Cobalt Integrations"}]}}, "store": []}}
    assert dash.where == {"partner": ["Cobalt Integrations"]}
    assert set(dash.kpis["partner"]) == {"Cobalt Integrations"}


def test_a_change_computes_what_is_on_screen_and_tabs_catch_up(loaded):
    dash = widgets.Dashboard(loaded)
    asked = []
    compute = dash.compute
    dash.compute = lambda *, only=None: asked.append(sorted(only)) or compute(only=only)
    dash.partners.value = ["Brightline IT"]
    # the tiles and the open tab (Overview: the trend), nothing for the tabs nobody looks at
    assert sorted(sum(asked, [])) == ["before", "now", "ranking", "trend"]
    asked.clear()
    tabs = dash.widget.children[4]
    tabs.selected_index = [tabs.get_title(i) for i in range(len(tabs.children))].index("Pipeline")
    assert sorted(sum(asked, [])) == ["pipeline_stage", "targets", "waterfall"]
    # the pipeline tab shows Brightline IT's open deals (the range ends with the data)
    rows = [r for rows in dash._charts["pipeline_stage"].chart.to_dict()["datasets"].values() for r in rows]
    deals = loaded.deals
    expected = deals[(deals["partner"] == "Brightline IT") & (deals["status"] == "open")]
    assert sum(r["open_count"] for r in rows) == len(expected)
    assert sum(r["open_amount"] for r in rows) == pytest.approx(expected["amount"].sum())
    asked.clear()
    tabs.selected_index = 0  # back to a tab already drawn for these controls: nothing to compute
    assert asked == []


def test_tables_kept_from_earlier_changes_are_the_tables_of_the_current_state(loaded):
    from channelkpi.views import view_tables

    dash = widgets.Dashboard(loaded, targets=ck.read_targets(sample_path("targets")))
    months = dash.period.options
    changes = [
        lambda: setattr(dash.freq, "value", "M"),
        lambda: setattr(dash.level, "value", "unit"),
        lambda: setattr(dash.partners, "value", ["Brightline IT", "Cobalt Integrations"]),
        lambda: setattr(dash.period, "value", (months[12][1], months[23][1])),
        lambda: dash.select(["Brightline IT"]),  # not a unit: nothing selected
        lambda: setattr(dash.level, "value", "partner"),
        lambda: dash.select(["Brightline IT"]),
        lambda: setattr(dash.freq, "value", "Q"),
        dash.clear_selection,
        lambda: setattr(dash.channels, "value", ["partner"]),
        lambda: setattr(dash.partners, "value", []),
        lambda: setattr(dash.channels, "value", []),
        lambda: setattr(dash.period, "value", (months[0][1], months[-1][1])),
    ]
    for i, change in enumerate(changes):
        change()
        start, end = dash.date_range
        fresh = view_tables(
            loaded.deals,
            level=dash.level.value,
            freq=dash.freq.value,
            start=start,
            end=end,
            where={"partner": list(dash.partners.value), "channel": list(dash.channels.value)},
            selected=list(dash.selected),
            targets=dash.targets,
        )
        shown = dash.tables
        assert shown.keys() == fresh.keys(), i
        for name, table in fresh.items():
            pd.testing.assert_frame_equal(shown[name], table, obj=f"change {i}: {name}")
    assert dash.tables["now"]["won_count"].iloc[0] == won_in(loaded.deals, *dash.date_range)[0]


def test_downloads(dash):
    dash._download_csv()
    href = dash.download_links.value.split("href='")[1].split("'")[0]
    text = base64.b64decode(href.split(",", 1)[1]).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("partner,period,period_start")
    dash._download_excel()
    assert "channel_kpis.xlsx" in dash.download_links.value
    from openpyxl import load_workbook

    data = base64.b64decode(dash.download_links.value.split("base64,")[1].split("'")[0])
    sheet = load_workbook(io.BytesIO(data))["KPIs"]
    head = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "A2" and sheet.max_row == len(dash.kpis) + 1
    assert sheet.cell(2, head.index("won_amount") + 1).number_format == '"$"#,##0.00;-"$"#,##0.00'
    assert sheet.cell(2, head.index("win_rate") + 1).number_format == "0.0%"
    dash.download_choice.value = "cohorts"
    dash._download_chart("svg")
    svg = base64.b64decode(dash.download_links.value.split("base64,")[1].split("'")[0])
    assert svg.startswith(b"<svg")


def test_uploads_show_readable_errors_and_the_ledger(dash):
    dash.load_upload("report.pdf", b"%PDF-1.4")
    assert "not a CRM export this dashboard reads" in dash.message.value and "Traceback" not in dash.message.value
    dash.load_upload("<script>alert(1)</script>.csv", b"\x89PNG\r\n\x1a\n" + bytes(50))
    assert "<script>" not in dash.message.value and "&lt;script&gt;" in dash.message.value
    small = widgets.Dashboard(ck.load_crm(sample_path("salesforce")), max_upload_bytes=100)
    small.load_upload("deals.csv", b"x" * 500)
    assert "more than the" in small.message.value
    evil = b"Deal ID,Partner,Status,Amount,Close Date\nD1,<img src=x onerror=alert(1)>,Won,5,2024-01-05\nD1,Acme,Lost,1,2024-01-06\n"
    dash.load_upload("mine.csv", evil)
    assert "Loaded mine.csv" in dash.message.value
    assert dash.partners.allowed_tags == ["<img src=x onerror=alert(1)>"]
    assert "<img src=x" not in dash.tiles.value and "&lt;img src=x onerror=alert(1)&gt;" in dash.tiles.value
    assert "<img" not in dash.quality_html.value
    assert "line_item" in dash.quality_html.value  # the ledger is shown


def test_errors_in_a_refresh_become_a_message(dash, monkeypatch):
    def broken(**_options):
        raise ck.ChannelKPIError("something about <b>this</b>", fix="do that")

    monkeypatch.setattr(dash, "compute", broken)
    dash.freq.value = "M"  # a state not computed before
    assert dash.message.value.startswith("<div class='ck-message'>something about &lt;b&gt;this&lt;/b&gt;")


def test_only_the_widgets_module_imports_ipywidgets():
    import pathlib

    package = pathlib.Path(ck.__file__).parent
    users = sorted(p.name for p in package.rglob("*.py") if "import ipywidgets" in p.read_text())
    assert users == ["widgets.py"]


def test_focused_apps_choose_their_tabs(loaded):
    dash = widgets.Dashboard(loaded, tabs=("Pipeline", "Overview"))
    tabs = dash.widget.children[4]
    assert [tabs.get_title(i) for i in range(len(tabs.children))] == ["Pipeline", "Overview"]
    assert tabs.children[0].children == (dash.charts["pipeline_stage"], dash.charts["waterfall"])
    with pytest.raises(ck.ChannelKPIError, match="no dashboard tab called \\['Marketing'\\]"):
        widgets.Dashboard(loaded, tabs=("Marketing",))


def test_the_offline_bundle_is_built_once_and_reused(tmp_path):
    # two kernels in a row: the first builds the bundle with Altair, the second reads it back
    code = (
        "import hashlib, altair as alt, channelkpi.offline as w; w.enable_offline();"
        "print(alt.JupyterChart._is_offline, hashlib.sha256(alt.JupyterChart._esm.encode()).hexdigest())"
    )
    env = {**os.environ, "CHANNELKPI_CACHE_DIR": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".js" and files[0].stat().st_size > 100_000
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert first == second and first.startswith("True ")


def test_deals_without_a_partner_are_not_ranked(loaded):
    deals = loaded.deals
    assert (deals["partner"] == "(direct)").sum() > 100  # the sample has many
    dash = widgets.Dashboard(loaded)
    ranking = dash.tables["ranking"]
    assert "(direct)" not in set(ranking["partner"])
    # scores are percentile ranks among the partners alone: the same as scoring a table that
    # never had the direct deals
    alone = ck.quality_score(deals[deals["partner"] != "(direct)"], start=dash.date_range[0], end=dash.date_range[1])
    pd.testing.assert_series_equal(
        ranking.set_index("partner")["quality_score"].sort_index(),
        alone.set_index("partner")["quality_score"].sort_index(),
        check_names=False,
    )
    assert "Deals without a partner are not ranked" in str(dash.charts["ranking"].chart.to_dict()["title"])
    # the direct deals still count in the tiles
    assert dash.tables["now"]["won_count"].iloc[0] == won_in(deals, *dash.date_range)[0]
