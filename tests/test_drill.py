"""The deals behind a number of the dashboard: the rows reproduce the tile, the table shows the
first 200 with the count, sorts, escapes every name, and the downloads cannot run formulas.

Expected numbers are counted here with plain pandas masks over the sample (not with channelkpi's
KPI code), and the downloads are read back with the csv module and openpyxl.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import channelkpi as ck
from channelkpi import widgets
from channelkpi.datasets import make_sample_deals
from channelkpi.drill import DEALS_SHOWN, chart_cell, deals_download, deals_html, deals_page, ranking_cell, tile_cell
from channelkpi.views import View

START, END = pd.Timestamp("2024-01-01"), pd.Timestamp("2025-06-30")
VIEW = View(by="partner", freq="Q", start=START, end=END)
EVIL = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://x.test","a")'


@pytest.fixture(scope="module")
def deals():
    return make_sample_deals()


@pytest.fixture(scope="module")
def prepared(deals):
    return ck.prepare(deals)


def closed_in_range(deals, status, **where):
    """Deals of ``status`` closed within the view's range (and matching ``where``), by hand."""
    mask = (deals["status"].astype(str) == status) & deals["closed"].between(START, END)
    for col, value in where.items():
        mask &= deals[col].astype(str) == value
    return deals[mask]


@pytest.mark.slow
def test_the_win_rate_tile_s_rows_reproduce_its_number(deals, prepared):
    page = deals_page(prepared, tile_cell("win_rate", VIEW))
    won, lost = closed_in_range(deals, "won"), closed_in_range(deals, "lost")
    assert page.counts["won"] == len(won) and page.counts["lost"] == len(lost)
    # the tile: won / (won + lost) of the deals closed in the range
    tile = ck.kpi_table(deals, start=START, end=END)["win_rate"].iloc[0]
    assert tile == pytest.approx(len(won) / (len(won) + len(lost)))
    assert page.caption.startswith("Win rate · All partners")
    assert f"{len(won):,} won" in page.caption and f"{len(lost):,} lost" in page.caption


@pytest.mark.slow
def test_the_pipeline_and_won_amount_tiles(deals, prepared):
    everything = deals_page(prepared, tile_cell("won_count", VIEW), limit=None)
    won = closed_in_range(deals, "won")
    counted = everything.rows[everything.rows["counts_as"] == "won"]
    assert sorted(counted["deal_id"]) == sorted(won["deal_id"])
    # the open pipeline at the range's end: created by then, not won or lost by then
    opened = deals[
        (deals["created"] <= END)
        & ~((deals["status"].astype(str) != "open") & deals["closed"].notna() & (deals["closed"] <= END))
        & ~((deals["status"].astype(str) != "open") & deals["closed"].isna())
    ]
    pipe = deals_page(prepared, tile_cell("open_amount", VIEW), limit=None)
    listed = pipe.rows[pipe.rows["counts_as"] == "open at the period end"]
    assert sorted(listed["deal_id"]) == sorted(opened["deal_id"])


@pytest.mark.slow
def test_the_table_shows_the_first_200_and_counts_all(deals, prepared):
    cell = tile_cell("win_rate", VIEW)
    page = deals_page(prepared, cell)
    everything = deals_page(prepared, cell, limit=None)
    total = len(closed_in_range(deals, "won")) + len(closed_in_range(deals, "lost"))
    assert total > DEALS_SHOWN
    assert len(page.rows) == DEALS_SHOWN and page.total == len(everything.rows) >= total
    assert page.shown_text == f"{DEALS_SHOWN} of {page.total:,} deals"
    assert page.rows["deal_id"].tolist() == everything.rows["deal_id"].head(DEALS_SHOWN).tolist()
    html = deals_html(page)
    assert html.count("<tr>") == DEALS_SHOWN + 1 and f"{DEALS_SHOWN} of {page.total:,} deals" in html


@pytest.mark.slow
def test_the_default_order_groups_by_how_they_count_largest_first(deals, prepared):
    """What the sort control says ("How it counts (won first), largest amount first"): the won
    deals by amount, then the lost ones by amount, then the excluded ones; the caption counts in
    that order."""
    cell = tile_cell("win_rate", VIEW)
    everything = deals_page(prepared, cell, limit=None)
    won = closed_in_range(deals, "won").sort_values(["amount", "deal_id"], ascending=[False, True])
    lost = closed_in_range(deals, "lost").sort_values(["amount", "deal_id"], ascending=[False, True])
    kinds = everything.rows["counts_as"].astype(str).tolist()
    assert kinds[: len(won) + len(lost)] == ["won"] * len(won) + ["lost"] * len(lost)
    assert all(k.startswith("excluded") for k in kinds[len(won) + len(lost) :])
    listed = everything.rows["deal_id"].astype(str).tolist()
    assert listed[: len(won)] == won["deal_id"].astype(str).tolist()
    assert listed[len(won) : len(won) + len(lost)] == lost["deal_id"].astype(str).tolist()
    assert list(everything.counts)[:2] == ["won", "lost"]
    assert everything.caption.index(" won") < everything.caption.index(" lost")
    page = deals_page(prepared, cell)
    assert page.rows["deal_id"].astype(str).tolist() == listed[:DEALS_SHOWN]


@pytest.mark.slow
def test_a_heading_click_sorts_and_a_second_click_reverses(deals, prepared):
    from channelkpi.dealspanel import DealsPanel

    panel = DealsPanel(prepared)
    panel.open(tile_cell("won_count", VIEW))
    assert panel.order.disabled  # the default order has its own directions
    html = panel.table.value
    assert "data-ck-sort='amount'" in html and "data-ck-sort='partner'" in html
    panel.script.heading = {"column": "amount", "count": 1}  # what the page sends on a click
    assert panel.page.sort == "amount" and not panel.page.ascending
    amounts = panel.page.rows["amount"].dropna().tolist()
    assert amounts == sorted(amounts, reverse=True) and not panel.order.disabled
    panel.script.heading = {"column": "amount", "count": 2}
    assert panel.page.sort == "amount" and panel.page.ascending
    assert "aria-sort='ascending'" in panel.table.value
    panel.script.heading = {"column": "partner", "count": 3}
    assert panel.page.sort == "partner" and panel.page.ascending
    panel.script.heading = {"column": "status", "count": 4}  # not a heading: ignored
    assert panel.page.sort == "partner"


@pytest.mark.slow
def test_sorting_orders_every_row_before_the_cap(deals, prepared):
    cell = tile_cell("won_count", VIEW)
    page = deals_page(prepared, cell, limit=10, sort="created", ascending=False)
    won = closed_in_range(deals, "won")
    newest = won.sort_values(["created", "deal_id"], ascending=[False, True])
    # ties broken by deal id; the excluded rows (closed outside the range) may be newer still
    listed = deals_page(prepared, cell, limit=None)
    expected = listed.rows.sort_values(["created", "deal_id"], ascending=[False, True], na_position="last")
    assert page.rows["deal_id"].tolist() == expected["deal_id"].head(10).tolist()
    assert page.rows["created"].iloc[0] >= newest["created"].iloc[0]
    by_partner = deals_page(prepared, cell, limit=None, sort="partner")
    names = by_partner.rows["partner"].astype(str).str.casefold().tolist()
    assert names == sorted(names)
    with pytest.raises(ck.ChannelKPIError, match="did you mean 'created'"):
        deals_page(prepared, cell, sort="creatd")


@pytest.mark.slow
def test_a_ranking_bar_and_chart_marks_open_their_cells(deals, prepared):
    name = "Brightline IT"
    page = deals_page(prepared, ranking_cell(VIEW, name, deals=prepared), limit=None)
    assert page.counts["won"] == len(closed_in_range(deals, "won", partner=name))
    assert page.counts["lost"] == len(closed_in_range(deals, "lost", partner=name))
    assert page.caption.startswith(f"Quality score · {name}")
    paid = deals_page(prepared, chart_cell("channel_win_rates", {"channel": "paid"}, VIEW), limit=None)
    assert paid.counts["won"] == len(closed_in_range(deals, "won", channel="paid"))
    q2 = deals_page(prepared, chart_cell("trend", {"period": "2024-Q2"}, VIEW), limit=None)
    in_q2 = deals[(deals["status"].astype(str) == "won") & deals["closed"].between("2024-04-01", "2024-06-30")]
    assert q2.counts["won"] == len(in_q2)
    assert q2.rows["amount"].sum() == pytest.approx(in_q2["amount"].sum())


def evil_deals() -> pd.DataFrame:
    return ck.validate_deals(
        pd.DataFrame(
            {
                "deal_id": ["d1", "d2", "d3"],
                "partner": [EVIL, FORMULA, "Acme"],
                "owner": ["-1+1", "@SUM(A1)", "Ann"],
                "stage": ["Closed Won", "Closed Won", "Closed Lost"],
                "status": ["won", "won", "lost"],
                "created": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"]),
                "closed": pd.to_datetime(["2024-02-01", "2024-02-02", "2024-02-03"]),
                "amount": [100.0, 200.0, 300.0],
            }
        )
    )


def test_names_are_escaped_in_the_table():
    page = deals_page(evil_deals(), tile_cell("win_rate", View(start="2024-01-01", end="2024-12-31")))
    html = deals_html(page)
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&quot;http://x.test&quot;" in html


def test_downloads_cannot_run_formulas():
    cell = tile_cell("win_rate", View(start="2024-01-01", end="2024-12-31"))
    text = deals_download(evil_deals(), cell, "csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert header[:3] == ["Deal ID", "Partner", "Owner"]
    cells = [c for r in rows[1:] for c in r]
    assert "'" + FORMULA in cells and "'-1+1" in cells and "'@SUM(A1)" in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))]
    book = openpyxl.load_workbook(io.BytesIO(deals_download(evil_deals(), cell, "xlsx")))
    values = [c.value for row in book["Deals"].iter_rows() for c in row]
    assert "'" + FORMULA in values and not [v for v in values if isinstance(v, str) and v.startswith("=")]
    assert book["Deals"]["E1"].value == "Amount" and book["Deals"]["E2"].number_format.startswith('"$"')


@pytest.mark.slow
def test_a_deals_csv_is_a_table_with_headings_in_words(deals, prepared):
    cell = tile_cell("win_rate", VIEW)
    data = deals_download(prepared, cell, "csv")
    table = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")  # no rows to skip, no header to name
    won, lost = closed_in_range(deals, "won"), closed_in_range(deals, "lost")
    assert (table["How it counts"] == "won").sum() == len(won) and (table["How it counts"] == "lost").sum() == len(lost)
    assert set(won["deal_id"].astype(str)) <= set(table["Deal ID"].astype(str))
    assert not [c for c in table.columns if "_" in c or c != c.strip() or c[:1].islower()], list(table.columns)
    assert {"Expected close", "Currency"} <= set(table.columns)
    book = openpyxl.load_workbook(io.BytesIO(deals_download(prepared, cell, "xlsx")))
    heads = [c.value for c in book["Deals"][1]]
    assert heads == list(table.columns)
    assert book["About"]["B2"].value.startswith("Win rate · ")


def saved(link_html: str) -> tuple[str, bytes]:
    name = re.search(r"download='([^']*)'", link_html).group(1)
    data = re.search(r"base64,([^']*)'", link_html).group(1)
    return name, base64.b64decode(data)


@pytest.mark.slow
def test_the_dashboard_opens_a_tile_s_deals_on_a_click(deals):
    dash = widgets.Dashboard(deals)
    panel = dash.deals_panel
    assert not panel.is_open and panel.page is None  # nothing computed before a click
    dash.tile_buttons["win_rate"].click()
    assert panel.is_open
    start, end = dash.date_range
    mask = deals["closed"].between(start, end)
    n = int((mask & deals["status"].astype(str).isin(["won", "lost"])).sum())
    assert panel.page.counts["won"] + panel.page.counts["lost"] == n
    assert f"of {panel.page.total:,} deals" in panel.table.value
    panel.sort_by("amount", ascending=True)
    shown = panel.page.rows["amount"].dropna().tolist()
    assert shown == sorted(shown) and "aria-sort='ascending'" in panel.table.value
    panel.csv.click()
    name, data = saved(panel.links.value)
    assert name.startswith("Deals - Win rate - All partners") and name.endswith(".csv")
    assert len(list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))) == panel.page.total + 1
    dash.freq.value = "M"  # the number it explained is gone: the panel closes
    assert not panel.is_open
    dash.tile_buttons["best_quality"].click()
    assert panel.page.cell.kpi == "quality_score" and panel.page.total > 0
    panel.close_button.click()
    assert not panel.is_open


@pytest.mark.slow
def test_a_click_that_cannot_be_listed_is_a_message(deals):
    dash = widgets.Dashboard(deals)
    dash.deals_panel.open(chart_cell("trend", {"period": "1999-Q9"}, dash.view))
    value = dash.deals_panel.table.value
    assert "role='alert'" in value and "period=" in value and "Traceback" not in value


@pytest.mark.slow
def test_an_evil_deal_in_the_dashboard_is_text():
    dash = widgets.Dashboard(evil_deals())
    dash.show_deals("won_count")
    value = dash.deals_panel.table.value
    assert "<img" not in value and "&lt;img src=x onerror=alert(1)&gt;" in value


@pytest.mark.slow
def test_the_level_control_offers_the_deals_own_columns(deals):
    tiered = deals.assign(tier=deals["partner"].map(lambda p: "Gold" if str(p) < "M" else "Silver").astype("string"))
    dash = widgets.Dashboard(tiered)
    assert ("Tier", "tier") in dash.by.options
    dash.by.value = "tier"
    assert dash.picker.options == [("Gold", "Gold"), ("Silver", "Silver")] and "role='alert'" not in dash.message.value
    dash.select(["Gold"])
    dash.show_deals("won_count")
    start, end = dash.date_range
    gold = tiered[(tiered["tier"] == "Gold") & (tiered["status"] == "won") & tiered["closed"].between(start, end)]
    assert dash.deals_panel.page.counts["won"] == len(gold)


def all_text(dash) -> str:
    """Every word the dashboard shows about the view: the selection line, the tiles, the
    ranking's help, its chart's title and notes, the filter buttons and a deals caption."""
    spec = dash.charts["ranking"].chart.to_dict()
    title = spec.get("title", {})
    words = [dash.showing.value, dash.tiles.value, dash.ranking_help.value, str(title)]
    words += [b.description for b in dash.filters.children]
    dash.show_deals("win_rate")
    words.append(dash.deals_panel.page.caption)
    return "\n".join(words)


@pytest.mark.slow
def test_every_level_is_named_in_words(deals):
    kept = deals.assign(
        lead_source=deals["channel"].astype(str).str.title().astype("string"),
        tier=deals["partner"].map(lambda p: "Gold" if str(p) < "M" else "Silver").astype("string"),
    )
    dash = widgets.Dashboard(kept)
    assert ("Lead source", "lead_source") in dash.by.options
    dash.by.value = "lead_source"
    dash.select(["Gold"], column="tier")
    text = all_text(dash)
    assert "lead_source" not in text and "tier values" not in text, text
    assert "Lead source ranking by quality score" in text
    assert "by lead source, quarterly" in text
    assert re.search(r"n = \d+ lead sources ranked", text)
    assert "tiers: Gold" in text and "× Tier: Gold" in text
    assert "choose that lead source" in text


@pytest.fixture(scope="module")
def with_tables():
    from channelkpi.datasets import sample_path

    return ck.load_crm(
        sample_path("salesforce"), partners=sample_path("partners"), owners=sample_path("owners"), keep="all"
    )


@pytest.mark.slow
def test_a_partner_table_level_ranks_no_none(with_tables):
    deals = with_tables.deals
    assert deals["tier"].isna().sum() > 100  # the deals without a partner have no tier
    dash = widgets.Dashboard(with_tables)
    dash.by.value = "tier"
    ranking = dash.tables["ranking"]
    assert "(none)" not in set(ranking["tier"].astype(str))
    start, end = dash.date_range
    # scored among the deals with a tier alone, as if the others were never there
    alone = ck.quality_score(deals[deals["tier"].notna()], by="tier", start=start, end=end)
    pd.testing.assert_series_equal(
        ranking.set_index("tier")["quality_score"].sort_index(),
        alone.set_index("tier")["quality_score"].sort_index(),
        check_names=False,
        check_index_type=False,
    )
    assert "Deals without a tier (no partner, or a partner without one) are not ranked" in chart_notes(dash)
    # the best-score tile uses the same peers
    assert f"n = {len(alone)} tiers ranked" in dash.tiles.value
    # a level every deal has a value of says nothing about it
    dash.by.value = "unit"
    assert "not ranked" not in chart_notes(dash)


def chart_notes(dash) -> str:
    title = dash.charts["ranking"].chart.to_dict()["title"]
    return " ".join([title["text"], *title.get("subtitle", [])])


@pytest.mark.slow
def test_an_owner_table_level_ranks_no_none():
    import warnings

    from channelkpi.datasets import sample_path

    owners = pd.read_csv(sample_path("owners"))
    with warnings.catch_warnings():  # the deals of the owner left out of the table are listed
        warnings.simplefilter("ignore")
        result = ck.load_crm(sample_path("salesforce"), owners=owners[owners["owner"] != "Jordan Blake"])
    deals = result.deals
    assert deals["manager"].isna().sum() > 10 and deals["manager"].notna().sum() > 10
    dash = widgets.Dashboard(result)
    dash.by.value = "manager"
    ranking = dash.tables["ranking"]
    assert set(ranking["manager"].astype(str)) == set(deals["manager"].dropna().astype(str))
    assert "Deals without a manager (no owner, or an owner without one) are not ranked" in chart_notes(dash)


@pytest.mark.slow
def test_partners_with_no_deals_yet_are_listed_and_ranked(with_tables):
    deals, partners = with_tables.deals, with_tables.partners
    idle = sorted(set(partners["partner"]) - set(deals["partner"].dropna().astype(str)))
    assert len(idle) == 2  # the sample's two partners signed recently
    dash = widgets.Dashboard(with_tables)
    assert set(idle) <= {value for value, _label in dash.picker.options}
    ranking = dash.tables["ranking"].set_index("partner")
    assert set(idle) <= set(ranking.index) and (ranking.loc[idle, "n"] == 0).all()
    few = ranking.sort_values("rank").head(3).index.tolist() + idle  # all drawn (the chart shows 20)
    chart = dash.build_charts({"ranking": ranking.loc[few].reset_index()}, only={"ranking"})["ranking"]
    labels = set(pd.DataFrame(next(iter(chart.to_dict()["datasets"].values())))["label"])
    assert {f"{name} (no closed deals)" for name in idle} <= labels
    assert set(few[:3]) <= labels  # the others by their name alone


def test_the_dashboard_notebook_loads_the_partner_and_owner_tables():
    import json

    from channelkpi.datasets import sample_path  # noqa: F401  (what the notebook names)

    root = Path(__file__).resolve().parents[1]
    nb = json.loads((root / "notebooks" / "dashboard.ipynb").read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert 'partners=sample_path("partners")' in code and 'owners=sample_path("owners")' in code
    assert "Dashboard(export" in code  # the load result itself, with its tables


def test_captions_say_the_range_and_name_the_column():
    view = View(by="partner", freq="Q", start="2024-01-01", end="2024-12-31")
    tile = tile_cell("win_rate", view)
    assert tile.place == "All partners · Jan 2024 – Dec 2024"  # one number of the range: not "by partner"
    chart = chart_cell("channel_win_rates", {"channel": "unknown"}, view)
    assert chart.place.startswith("Channel: unknown · ")
    assert chart_cell("trend", {"period": "2024-Q2"}, view).place.startswith("2024-Q2 · ")


def test_amounts_show_cents_only_where_they_have_them():
    deals = ck.validate_deals(
        pd.DataFrame(
            {
                "deal_id": ["a", "b", "c"],
                "status": ["won"] * 3,
                "amount": [5000.0, -250.0, 812.5],
                "closed": pd.to_datetime(["2024-03-01"] * 3),
                "stage": ["Closed Won"] * 3,
            }
        )
    )
    html = deals_html(deals_page(deals, tile_cell("won_count", View(start="2024-01-01", end="2024-12-31"))))
    assert "$5,000<" in html and "-$250<" in html and "$812.50<" in html and "-$250.00" not in html
    assert (
        "<td class='ck-nowrap'>1 Mar 2024</td>" in html
    )  # as the page writes a day and "<td class='ck-nowrap'>Closed Won</td>" in html


@pytest.mark.slow
def test_a_partner_with_no_deals_yet_opens_no_deals(with_tables):
    dash = widgets.Dashboard(with_tables)
    dash.deals_panel.open(ranking_cell(dash.view, "Halcyon Edge Networks", deals=dash._prepared))
    value = dash.deals_panel.table.value
    assert "role='alert'" not in value and "Halcyon Edge Networks" in value and ": no deals" in value
    with pytest.raises(ck.ChannelKPIError, match="no deal has partner"):  # a value no table has: an error
        deals_page(dash._prepared, ranking_cell(dash.view, "Halcyon Edge Netwrks", deals=dash._prepared))
