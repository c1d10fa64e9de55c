"""The dashboard without a browser: set each control, check the numbers and the chart data."""

import base64
import csv
import html
import io
import os
import re
import subprocess
import sys

import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.datasets import sample_path

pytestmark = pytest.mark.slow  # each test builds a Dashboard and redraws its views

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
    dash.picker.value = ["Brightline IT", "Cobalt Integrations"]
    assert dash.selection == {"partner": ["Brightline IT", "Cobalt Integrations"]}
    start, end = dash.date_range
    n, amount = won_in(loaded.deals, start, end, partner=["Brightline IT", "Cobalt Integrations"])
    assert set(dash.kpis["partner"]) == {"Brightline IT", "Cobalt Integrations"}
    assert dash.kpis["won_count"].sum() == n
    trend = chart_rows(dash, "trend")
    assert sum(r["won_amount"] for r in trend) == pytest.approx(amount)
    # the ranking scores and ranks everyone among all partners (their peers), deals without a
    # partner left out, and keeps showing them so the choice can be changed; the chosen two are
    # its selection (drawn highlighted)
    partners = loaded.deals[loaded.deals["partner"] != "(direct)"]
    everyone = ck.quality_score(partners, start=start, end=end).set_index("partner")
    shown = {r["partner"]: (r["rank"], r["quality_score"]) for r in chart_rows(dash, "ranking")}
    assert shown == {p: (everyone.loc[p, "rank"], everyone.loc[p, "quality_score"]) for p in shown}
    assert len(shown) == min(20, len(everyone)) and len(everyone) > 20
    assert ranking_selection(dash) == ["Brightline IT", "Cobalt Integrations"]


def ranking_selection(dash):
    """The values the ranking chart is drawn with as selected (its ``selection`` param)."""
    (param,) = [p for p in dash.charts["ranking"].chart.to_dict()["params"] if p["name"] == "selection"]
    return sorted(v for item in param.get("value", []) for v in item.values())


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
    dash.by.value = "unit"
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


def click_ranking(dash, *values):
    """A click in the browser arrives as the ranking chart's synced Vega selection state."""
    level = dash.by.value
    points = [{level: v} for v in values]
    dash.charts["ranking"]._vl_selections = {"selection": {"value": {"vlPoint": {"or": points}}, "store": []}}


def test_clicking_a_partner_filters_the_other_views(dash, loaded):
    click_ranking(dash, "Brightline IT")
    assert dash.where == {"partner": ["Brightline IT"]}
    assert set(dash.kpis["partner"]) == {"Brightline IT"}
    assert not dash.clear.disabled
    # the click is the box's choice too: one selection
    assert dash.picker.value == ["Brightline IT"]
    assert "Brightline IT" in dash.showing.value
    # the ranking keeps showing every partner so the choice can be changed
    assert len({r["partner"] for r in chart_rows(dash, "ranking")}) > 5
    start, end = dash.date_range
    n, _ = won_in(loaded.deals, start, end, partner=["Brightline IT"])
    assert dash.tables["now"]["won_count"].iloc[0] == n
    # the best quality score tile names the chosen partner (the ranking scores everyone)
    everyone = ck.quality_score(loaded.deals[loaded.deals["partner"] != "(direct)"], start=start, end=end)
    mine = everyone.set_index("partner").loc["Brightline IT", "quality_score"]
    assert f"{mine:.0f} / 100" in dash.tiles.value and "Brightline IT" in dash.tiles.value
    dash.clear_selection()
    assert dash.where == {} and dash.clear.disabled and dash.picker.value == []
    click_ranking(dash, "Cobalt Integrations", "Brightline IT")
    assert dash.where == {"partner": ["Brightline IT", "Cobalt Integrations"]}
    assert sorted(dash.picker.value) == ["Brightline IT", "Cobalt Integrations"]


def test_the_box_and_the_ranking_are_one_selection(dash, loaded):
    dash.tabs.selected_index = dash._tab_names.index("Partners")
    drawn = []
    dash.charts["ranking"].observe(lambda change: drawn.append(change["new"]), names="chart")
    # chosen in the box: the ranking is drawn with it selected
    dash.picker.value = ["Cobalt Integrations"]
    assert dash.selection == {"partner": ["Cobalt Integrations"]} and ranking_selection(dash) == ["Cobalt Integrations"]
    # a click adds a partner: the box shows both, and the ranking is drawn again only to say so
    # in its subtitle, with both bars still selected
    drawn.clear()
    click_ranking(dash, "Cobalt Integrations", "Brightline IT")
    assert dash.picker.value == ["Cobalt Integrations", "Brightline IT"]
    assert ranking_selection(dash) == ["Brightline IT", "Cobalt Integrations"]
    assert "Brightline IT, Cobalt Integrations" in dash.charts["ranking"].chart.to_dict()["title"]["subtitle"]
    drawn.clear()
    # removing one from the box takes its highlight off the bar
    dash.picker.value = ["Brightline IT"]
    assert ranking_selection(dash) == ["Brightline IT"] and len(drawn) == 1
    # removing the last one clears the highlight
    dash.picker.value = []
    assert ranking_selection(dash) == [] and len(drawn) == 2 and dash.clear.disabled
    assert drawn[0].to_dict() != drawn[1].to_dict()  # a new spec, redrawn
    # the page reports how each drawing starts; a late report of an earlier drawing is not a click
    ranking = dash.charts["ranking"]
    number = ranking._params["channelkpi_draw"]
    ranking._params = {**ranking._params, "channelkpi_draw": number - 1}
    click_ranking(dash, "Brightline IT")
    assert dash.selection == {} and ranking_selection(dash) == []
    ranking._params = {**ranking._params, "channelkpi_draw": number}  # the newest drawing's report
    click_ranking(dash, "Cobalt Integrations")  # and a click on it
    assert dash.selection == {"partner": ["Cobalt Integrations"]}


def test_the_box_follows_the_level_and_keeps_other_choices_as_filters(dash, loaded):
    deals = loaded.deals
    dash.select(["Brightline IT"])
    dash.by.value = "owner"
    # the box lists and chooses employees now, like the ranking
    owners = sorted(deals["owner"].dropna().unique())
    assert dash.picker.label == "Employees" and sorted(v for v, _ in dash.picker.options) == owners
    assert dash.picker.value == []
    # the partner stays chosen, as a filter shown with a button that removes it
    assert dash.where == {"partner": ["Brightline IT"]}
    (button,) = dash.filters.children
    assert button.description == "× Partner: Brightline IT"
    assert "Brightline IT · by employee" in dash.showing.value
    mine = deals[deals["partner"] == "Brightline IT"]
    ranked = {r["owner"] for r in chart_rows(dash, "ranking")}
    assert ranked <= set(mine["owner"]) and ranked  # employees ranked on Brightline IT's deals
    someone = sorted(ranked)[0]
    click_ranking(dash, someone)
    assert dash.picker.value == [someone]
    assert dash.where == {"partner": ["Brightline IT"], "owner": [someone]}
    start, end = dash.date_range
    n, _ = won_in(deals, start, end, partner=["Brightline IT"], owner=[someone])
    assert dash.tables["now"]["won_count"].iloc[0] == n
    button.click()
    assert dash.where == {"owner": [someone]} and dash.filters.children == ()
    # back at the partner level the employee is the filter, and the box is empty again
    dash.by.value = "partner"
    assert dash.picker.value == [] and dash.where == {"owner": [someone]}


def test_clear_selection_clears_the_box_clicks_and_channels(dash):
    assert dash.clear.disabled
    dash.channels.value = ["partner"]
    assert not dash.clear.disabled and dash.where == {"channel": ["partner"]}
    dash.picker.value = ["Brightline IT"]
    dash.by.value = "unit"
    click_ranking(dash, "EMEA")
    assert dash.selection == {"channel": ["partner"], "partner": ["Brightline IT"], "unit": ["EMEA"]}
    dash.clear.click()
    assert dash.selection == {} and dash.where == {} and dash.clear.disabled
    assert dash.channels.value == [] and dash.picker.value == [] and dash.filters.children == ()
    dash.by.value = "partner"
    assert dash.picker.value == []


def test_partner_search_ignores_case_and_accents(dash):
    box = dash.picker
    for query, expected in [
        ("bri", ["Brightline IT"]),
        ("BRIGHT", ["Brightline IT"]),
        ("cafe", ["Café Systèmes SARL"]),
        ("systemes sarl", ["Café Systèmes SARL"]),
        ("sarl CAFÉ", ["Café Systèmes SARL"]),
        ("direct", ["Direct (no partner)"]),
        ("zzz", []),
    ]:
        box.query = query
        assert [label for _, label in box.shown] == expected, query
        assert box.shown_for == query  # the page chooses with Enter once the list answers its query
    box.query = ""
    assert len(box.shown) == len(box.options) == 25  # 24 partners and the direct deals
    deals = ck.read_crm(sample_path("salesforce"))
    deals.loc[deals["partner"] == "Northgate Data", "partner"] = "Zürich Data"
    other = widgets.Dashboard(deals)
    other.picker.query = "zur"
    assert other.picker.shown == [["Zürich Data", "Zürich Data"]]


def test_deals_without_a_partner_are_named_and_can_be_chosen(dash, loaded):
    assert ("(direct)", "Direct (no partner)") in dash.picker.options
    dash.picker.value = ["(direct)"]
    assert dash.picker.labels == {"(direct)": "Direct (no partner)"}
    assert "Showing:</b> Direct (no partner)" in dash.showing.value
    start, end = dash.date_range
    n, _ = won_in(loaded.deals, start, end, partner=["(direct)"])
    assert dash.tables["now"]["won_count"].iloc[0] == n > 0
    # and in the downloaded KPI table
    dash.clear_selection()
    dash._download_csv()
    table = pd.read_csv(io.BytesIO(saved(dash)[1]), skiprows=1, encoding="utf-8-sig")
    assert "Direct (no partner)" in set(table["partner"]) and "(direct)" not in set(table["partner"])
    assert table.loc[table["partner"] == "Direct (no partner)", "won_count"].sum() == n


def test_selected_is_a_deprecated_name_for_the_selection(dash):
    dash.select(["Brightline IT"])
    with pytest.warns(DeprecationWarning, match="selection"):
        assert dash.selected == ["Brightline IT"]
    with pytest.warns(DeprecationWarning, match="picker"):
        assert dash.partners is dash.picker
    with pytest.raises(ck.ChannelKPIError, match="no column 'stage'"):
        dash.select(["x"], column="stage")


def test_a_change_computes_what_is_on_screen_and_tabs_catch_up(loaded):
    dash = widgets.Dashboard(loaded)
    asked = []
    compute = dash.compute
    dash.compute = lambda *, only=None: asked.append(sorted(only)) or compute(only=only)
    dash.picker.value = ["Brightline IT"]
    # the tiles and the open tab (Overview: the trend), nothing for the tabs nobody looks at; the
    # ranking scores every partner whoever is chosen: it is the one drawn at the start
    assert sorted(sum(asked, [])) == ["before", "now", "trend"]
    asked.clear()
    tabs = dash.tabs
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


@pytest.mark.slow
def test_every_chart_sent_to_the_page_is_a_valid_vega_lite_spec(loaded):
    # the chart widgets send their charts unvalidated (ChartWidget): every chart of every tab,
    # in several states, validates against the schema here and is what the page receives
    from altair.utils.schemapi import SchemaValidationError

    from channelkpi.offline import ChartWidget

    dash = widgets.Dashboard(loaded, targets=ck.read_targets(sample_path("targets")))
    months = dash.period.options
    states = [
        lambda: None,
        lambda: setattr(dash.picker, "value", ["Brightline IT", "Cobalt Integrations"]),
        lambda: setattr(dash.period, "value", (months[3][1], months[-4][1])),
        lambda: setattr(dash.channels, "value", ["partner"]),
        lambda: setattr(dash.freq, "value", "M"),
        lambda: setattr(dash.by, "value", "unit"),
        dash.clear_selection,
    ]
    checked = 0
    for change in states:
        change()
        for name, chart in dash.charts.items():
            assert isinstance(chart, ChartWidget), name
            try:
                valid = chart.chart.to_dict(validate=True)
            except SchemaValidationError as exc:  # pragma: no cover - the failure this test is for
                pytest.fail(f"chart {name!r} is not valid Vega-Lite: {exc}")
            assert chart.spec == valid, name
            checked += 1
    assert checked == len(states) * len(dash.charts) >= 60


def test_tables_kept_from_earlier_changes_are_the_tables_of_the_current_state(loaded):
    from channelkpi.views import view_tables

    dash = widgets.Dashboard(loaded, targets=ck.read_targets(sample_path("targets")))
    months = dash.period.options
    changes = [
        lambda: setattr(dash.freq, "value", "M"),
        lambda: setattr(dash.by, "value", "unit"),
        lambda: dash.select(["Brightline IT", "Cobalt Integrations"], column="partner"),
        lambda: setattr(dash.period, "value", (months[12][1], months[23][1])),
        lambda: dash.select(["Brightline IT"]),  # not a unit: no deals
        lambda: setattr(dash.by, "value", "partner"),
        lambda: dash.select(["Brightline IT"]),
        lambda: setattr(dash.freq, "value", "Q"),
        dash.clear_selection,
        lambda: setattr(dash.channels, "value", ["partner"]),
        lambda: setattr(dash.picker, "value", ["Cobalt Integrations"]),
        lambda: setattr(dash.channels, "value", []),
        lambda: setattr(dash.picker, "value", []),
        lambda: setattr(dash.period, "value", (months[0][1], months[-1][1])),
    ]
    # the filter each state means, written out: the partners chosen at the partner level are its
    # selection (the ranking keeps every peer), everything else a filter
    expected_where = [
        {},
        {},
        {"partner": ["Brightline IT", "Cobalt Integrations"]},
        {"partner": ["Brightline IT", "Cobalt Integrations"]},
        {"partner": ["Brightline IT", "Cobalt Integrations"], "unit": ["Brightline IT"]},  # no such unit
        {"partner": ["Brightline IT", "Cobalt Integrations"], "unit": ["Brightline IT"]},
        {"partner": ["Brightline IT"], "unit": ["Brightline IT"]},
        {"partner": ["Brightline IT"], "unit": ["Brightline IT"]},
        {},
        {"channel": ["partner"]},
        {"channel": ["partner"], "partner": ["Cobalt Integrations"]},
        {"partner": ["Cobalt Integrations"]},
        {},
        {},
    ]
    for i, change in enumerate(changes):
        change()
        start, end = dash.date_range
        level = dash.by.value
        chosen = dash.selection
        assert dash.where == expected_where[i], i
        fresh = view_tables(
            loaded.deals,
            by=level,
            freq=dash.freq.value,
            start=start,
            end=end,
            where={col: v for col, v in chosen.items() if col != level},
            selection=chosen.get(level, []),
            targets=dash.targets,
        )
        shown = dash.tables
        assert shown.keys() == fresh.keys(), i
        for name, table in fresh.items():
            pd.testing.assert_frame_equal(shown[name], table, obj=f"change {i}: {name}")
    assert dash.tables["now"]["won_count"].iloc[0] == won_in(loaded.deals, *dash.date_range)[0]


def saved(dash):
    """The file name and the bytes behind the download link."""
    link = dash.download_links.value
    name = html.unescape(link.split("download='")[1].split("'")[0])
    return name, base64.b64decode(link.split("base64,")[1].split("'")[0])


def test_downloads_say_what_they_show(dash, loaded):
    from openpyxl import load_workbook

    from channelkpi.views import selection_text

    dash.select(["Brightline IT"])
    months = dash.period.options
    dash.period.value = (months[12][1], months[23][1])  # calendar 2024
    line = selection_text(dash.view)
    assert line.startswith("Brightline IT · by partner, quarterly") and "Jan 2024" in line

    dash._download_csv()
    name, data = saved(dash)
    assert name.startswith("KPIs - Brightline IT - by partner, quarterly - Jan 2024") and name.endswith(".csv")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == [f"Selection: {line}"] and rows[1] == []
    assert rows[2][:3] == ["partner", "period", "period_start"]
    table = pd.read_csv(io.BytesIO(data), skiprows=1, encoding="utf-8-sig")
    assert set(table["partner"]) == {"Brightline IT"} and sorted(table["period"]) == [
        f"2024-Q{q}" for q in (1, 2, 3, 4)
    ]
    n, _ = won_in(loaded.deals, pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"), partner=["Brightline IT"])
    assert table["won_count"].sum() == n

    dash._download_excel()
    name, data = saved(dash)
    assert name == widgets.download_name("KPIs", line, "xlsx") and "Brightline IT" in name
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["KPIs", "About"]
    about = {row[0].value: row[1].value for row in book["About"].iter_rows(min_row=2)}
    assert about["Selection"] == line and about["Partner"] == "Brightline IT"
    assert (about["From"], about["To"]) == ("2024-01-01", "2024-12-31") and about["Level"] == "Partner"
    assert about["Data"] == "kestrel_salesforce_opportunities.csv (Salesforce report export)"
    sheet = book["KPIs"]
    head = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "A2" and sheet.max_row == len(dash.kpis) + 1 == 5
    assert sheet.cell(2, head.index("won_amount") + 1).number_format == '"$"#,##0.00;-"$"#,##0.00'
    assert sheet.cell(2, head.index("win_rate") + 1).number_format == "0.0%"

    dash.download_choice.value = "cohorts"
    dash._download_chart("svg")
    name, svg = saved(dash)
    assert name == widgets.download_name("Deal success by creation cohort", line, "svg") and "Brightline IT" in name
    assert svg.startswith(b"<svg")
    dash.download_choice.value = "ranking"
    dash._download_chart("svg")
    name, svg = saved(dash)
    bars = re.findall(r'<path [^>]*aria-roledescription="bar"[^>]*>', svg.decode())
    chosen = [b for b in bars if 'fill="#0072B2"' in b]  # the chosen bar keeps its colour
    assert len(bars) == 20 and len(chosen) == 1 and "Brightline IT" in chosen[0]
    dash.download_choice.value = "cohorts"
    dash._download_chart("png")
    name, png = saved(dash)
    assert name.startswith("Deal success by creation cohort - Brightline IT") and name.endswith(".png")
    assert png.startswith(b"\x89PNG")


def test_download_names_keep_hostile_names_inert():
    deals = ck.read_crm(sample_path("salesforce"))
    evil = '=HYPERLINK("http://x.test/../a"),<b>'
    deals.loc[deals["partner"] == "Northgate Data", "partner"] = evil
    dash = widgets.Dashboard(deals)
    dash.select([evil])
    dash._download_csv()
    name, data = saved(dash)
    assert name.startswith("KPIs - =HYPERLINK( http x.test .. a ), b - by partner") and name.endswith(".csv")
    assert not set('/\\:*?"<>|') & set(name)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][0].startswith("Selection: =HYPERLINK")  # text, not a formula: it starts with "Selection"
    assert {r[0] for r in rows[3:]} == {"'" + evil}  # the partner cells are neutralised
    assert "<b>" not in dash.download_links.value


def test_uploads_show_readable_errors_and_the_ledger(dash):
    dash.load_upload("report.pdf", b"%PDF-1.4")
    assert "not a CRM export this dashboard reads" in dash.message.value and "Traceback" not in dash.message.value
    dash.load_upload("<script>alert(1)</script>.csv", b"\x89PNG\r\n\x1a\n" + bytes(50))
    assert "<script>" not in dash.message.value and "&lt;script&gt;" in dash.message.value
    small = widgets.Dashboard(ck.load_crm(sample_path("salesforce")), max_upload_bytes=100)
    small.load_upload("deals.csv", b"x" * 500)
    assert "more than the" in small.message.value
    evil = b"Deal ID,Partner,Status,Amount,Close Date\nD1,<img src=x onerror=alert(1)>,Won,5,2024-01-05\nD1,Acme,Lost,1,2024-01-06\n"
    dash.load_upload("<i>mine.csv", evil)
    assert "Loaded &lt;i&gt;mine.csv" in dash.message.value
    assert "<i>" not in dash.header.value and "&lt;i&gt;mine.csv: channel partner KPIs" in dash.header.value
    assert dash.picker.options == [("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>")]
    assert "<img src=x" not in dash.tiles.value and "&lt;img src=x onerror=alert(1)&gt;" in dash.tiles.value
    assert "<img" not in dash.quality_html.value
    assert "line_item" in dash.quality_html.value  # the ledger is shown


def test_errors_in_a_refresh_become_a_message(dash, monkeypatch):
    def broken(**_options):
        raise ck.ChannelKPIError("something about <b>this</b>", fix="do that")

    monkeypatch.setattr(dash, "compute", broken)
    dash.freq.value = "M"  # a state not computed before
    assert dash.message.value.startswith("<div class='ck-message' role='alert'>something about &lt;b&gt;this&lt;/b&gt;")


def test_only_the_dashboard_modules_import_ipywidgets():
    import pathlib

    package = pathlib.Path(ck.__file__).parent
    users = sorted(p.name for p in package.rglob("*.py") if "import ipywidgets" in p.read_text())
    assert users == [
        "dealspanel.py",
        "mappingform.py",
        "movementtab.py",
        "widgets.py",
    ]  # the dashboard, its deals panel, its upload's mapping form, its Movement tab
    # and the widget layer's anywidgets: the searchable list, the deals panel's page script
    users = sorted(p.name for p in package.rglob("*.py") if "import anywidget" in p.read_text())
    assert users == ["dealspanel.py", "picklist.py"]


def test_focused_apps_choose_their_tabs(loaded):
    dash = widgets.Dashboard(loaded, tabs=("Pipeline", "Overview"))
    tabs = dash.tabs
    assert [tabs.get_title(i) for i in range(len(tabs.children))] == ["Pipeline", "Overview"]
    assert "Partners tab" not in dash.picker.hint  # no ranking to point to
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


def visible_text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


@pytest.mark.realdata
def test_an_upload_is_named_and_what_it_lacks_is_said_above_the_tiles(dash, realdata):
    d365 = realdata("d365-contoso-coffee/data/Opportunity.csv")
    dash.load_upload("Opportunity.csv", d365.read_bytes())
    # the heading and the data-quality tab name the file, not the sample program nor "<buffer>"
    assert "Opportunity.csv" in dash.header.value and "Kestrel" not in dash.header.value
    assert "Dynamics 365" in dash.header.value
    assert "<h4>Opportunity.csv read as Dynamics 365" in dash.quality_html.value
    assert "buffer" not in dash.quality_html.value + dash.header.value + dash.message.value
    # what changes the charts' meaning is a banner above the tiles, with what to do there
    children = list(dash.widget.children)
    assert children.index(dash.banner) < children.index(dash.tiles)
    banner = visible_text(dash.banner.value)
    assert "This file has no partner column: partner views are empty" in banner
    assert "the other KPIs count every deal as direct" in banner
    assert "export the report with the partner field" in banner
    assert "no deal id column" in banner and "no known marketing channel" in banner
    assert not re.search(r"\w+=|[{}]|channel_map|columns", banner), banner  # no Python arguments
    # the partner tiles say why instead of "0.0 %", the partner ranking says why instead of empty axes
    tiles = visible_text(dash.tiles.value)
    assert "Partner-sourced wins" in tiles or "PARTNER-SOURCED WINS" in tiles.upper()
    assert tiles.count("no partner column") == 2 and "0.0%" not in tiles
    dash.tabs.selected_index = dash._tab_names.index("Partners")
    (note,) = dash.tabs.children[dash.tabs.selected_index].children
    assert "There is no partner ranking: no deal in this data has a partner" in visible_text(note.value)
    assert "To rank employees, choose them as the Level above" in visible_text(note.value)
    assert "ranking" not in dash.charts
    # the file has employees (and no units or departments): those are the levels offered
    assert [v for _, v in dash.by.options] == ["partner", "owner"]
    dash.by.value = "owner"
    deals = ck.read_crm(d365)
    ranked = {r["owner"] for r in chart_rows(dash, "ranking")}
    assert ranked and ranked <= set(deals["owner"].dropna())
    assert dash.tabs.children[dash.tabs.selected_index].children[-1] is dash.charts["ranking"]
    dash.download_choice.value = "ranking"
    dash._download_chart("svg")
    assert saved(dash)[0].startswith("Ranking by quality score - All partners - by employee")


def test_a_load_that_converted_currencies_or_has_no_partners_says_so():
    csv_text = (
        b"Deal ID,Partner,Status,Amount,Currency,Close Date,Created Date,Lead Source\n"
        b"D1,Acme,Won,5,EUR,2024-01-05,2023-12-01,Partner\nD2,Acme,Won,7,USD,2024-01-06,2023-12-02,Web\n"
        b"D3,,Lost,3,USD,2024-02-06,2023-12-03,Web\n"
    )
    converted = widgets.Dashboard(ck.load_crm(csv_text, currency="USD", fx={"EUR": 1.1}))
    assert [c.key for c in converted.caveats] == ["converted_currency"]
    assert "Amounts in EUR, USD were converted into one currency" in visible_text(converted.banner.value)
    # a deals table passed in directly: no mapping to tell a missing column from empty cells
    deals = ck.read_crm(sample_path("salesforce")).assign(partner="(direct)")
    direct = widgets.Dashboard(deals)
    assert "No deal has a partner: partner views are empty" in visible_text(direct.banner.value)
    assert visible_text(direct.tiles.value).count("no partners") == 2
    assert "ranking" not in direct.charts and set(direct.charts) == set(widgets.CHART_TITLES) - {"ranking"}
    # the sample program lacks nothing that changes a chart's meaning: no banner
    assert widgets.Dashboard(ck.load_crm(sample_path("salesforce"))).banner.value == ""


def test_upload_errors_say_what_to_do_at_the_dashboard(dash):
    mixed = b"Deal ID,Partner,Status,Amount,Currency,Close Date\nD1,Acme,Won,5,EUR,2024-01-05\nD2,Acme,Won,7,USD,2024-01-06\n"
    dash.load_upload("mixed.csv", mixed)
    text = visible_text(dash.message.value)
    assert text.startswith("mixed.csv: amounts are in several currencies")
    assert "What to do: export the report with amounts in one currency" in text
    assert "(In a notebook: pass currency=" in text  # kept, and labelled for whoever uses Python
    assert "kestrel_salesforce_opportunities.csv" in dash.header.value  # nothing was replaced
