"""The views behind the dashboard and the report: the range they show, incomplete periods,
equal-span comparisons, the peers of a quality score, the stage chart of a past day, the tiles
and what every chart says about the selection.

Expected numbers are read from the sample export with the csv module, not with channelkpi.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections import Counter

import pandas as pd
import pytest

import channelkpi as ck
from channelkpi import charts, views
from channelkpi.datasets import sample_path
from channelkpi.tiles import tile_values, tiles_html


def day(text: str) -> dt.date:
    month, d, year = map(int, text.split("/"))
    return dt.date(year, month, d)


@pytest.fixture(scope="module")
def rows():
    """The sample's deals as the export writes them: status from the stage, dates as dates,
    the close date only for closed deals (an open deal's is its expected close)."""
    out = []
    with open(sample_path("salesforce"), newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if not row.get("Opportunity ID") or not row.get("Created Date"):
                continue
            status = {"Closed Won": "won", "Closed Lost": "lost"}.get(row["Stage"], "open")
            out.append(
                {
                    "partner": row["Partner Account"] or "(direct)",
                    "stage": row["Stage"],
                    "status": status,
                    "amount": float(row["Amount"].replace(",", "")) if row["Amount"] else 0.0,
                    "created": day(row["Created Date"]),
                    "closed": day(row["Close Date"]) if status != "open" else None,
                }
            )
    return out


@pytest.fixture(scope="module")
def deals():
    return ck.read_crm(sample_path("salesforce"))


@pytest.fixture(scope="module")
def prepared(deals):
    return ck.prepare(deals)


def won_between(rows, first: dt.date, last: dt.date, partner=None) -> tuple[int, float]:
    won = [
        r
        for r in rows
        if r["status"] == "won" and first <= r["closed"] <= last and (partner is None or r["partner"] == partner)
    ]
    return len(won), sum(r["amount"] for r in won)


# --------------------------------------------------------------------------- the range shown
def test_coverage_and_the_default_range_end_with_the_last_whole_period(rows, deals, prepared):
    dates = [r["created"] for r in rows] + [r["closed"] for r in rows if r["closed"]]
    first, last = min(dates), max(dates)
    assert (first, last) == (dt.date(2023, 1, 1), dt.date(2026, 1, 5))  # the sample's export date
    for source in (deals, prepared):
        start, end = views.data_coverage(source)
        assert (start.date(), end.date()) == (first.replace(day=1), last)
        # the last quarter, month and year the data covers completely all end on 31 Dec 2025
        for freq in ("Q", "M", "Y"):
            assert [d.date() for d in views.default_range(source, freq=freq)] == [
                dt.date(2023, 1, 1),
                dt.date(2025, 12, 31),
            ]
    # a fiscal year from April: FY2026 (Apr 2025 - Mar 2026) has begun, FY2025 ended 31 Mar 2025
    assert views.default_range(deals, freq="Y", fiscal_year_start=4)[1].date() == dt.date(2025, 3, 31)
    # a slider over Jan 2023 ... Jan 2026 starts on Jan 2023 and Dec 2025
    assert views.default_months(deals) == (0, 35)


def test_data_shorter_than_a_period_is_shown_whole():
    deals = ck.validate_deals(
        pd.DataFrame(
            {
                "deal_id": ["a", "b"],
                "status": ["won", "open"],
                "created": ["2025-02-03", "2025-02-10"],
                "closed": ["2025-02-20", None],
                "amount": [10.0, 20.0],
            }
        )
    )
    assert [d.date() for d in views.default_range(deals, freq="Q")] == [dt.date(2025, 2, 1), dt.date(2025, 2, 28)]


@pytest.mark.slow
def test_the_default_view_has_no_incomplete_period(prepared):
    tables = views.view_tables(prepared, views.View(by="partner", freq="Q"))
    for name in ("kpis", "trend", "waterfall", "channel_mix", "cohorts"):
        table = tables[name]
        assert "partial" in table and not table["partial"].any(), name
        assert table["period"].max() == "2025-Q4", name


# --------------------------------------------------------------------------- incomplete periods
@pytest.mark.slow
def test_a_period_the_data_covers_in_part_is_marked_everywhere(prepared):
    view = views.View(by="partner", freq="Q", start="2025-01-01", end="2026-03-31")
    tables = views.view_tables(prepared, view)
    for name in ("kpis", "trend", "waterfall", "channel_mix", "cohorts"):
        table = tables[name]
        marked = table.loc[table["partial"], ["period", "period_label"]].drop_duplicates()
        assert marked.values.tolist() == [["2026-Q1", "2026-Q1 (to 5 Jan)"]], name
    # a range cut inside a quarter marks that quarter too, from where it starts
    cut = views.view_tables(prepared, views.View(freq="Q", start="2025-02-01", end="2025-12-31"), only=["trend"])
    first = cut["trend"].iloc[0]
    assert first["partial"] and first["period_label"] == "2025-Q1 (from 1 Feb)"


def test_the_trend_compares_equal_spans(rows, prepared):
    view = views.View(by="partner", freq="Q", start="2023-01-01", end="2026-03-31")
    trend = views.view_tables(prepared, view, only=["trend"])["trend"].set_index("period")
    # 2026-Q1 holds 1-5 Jan: it is compared with 1-5 Oct 2025, not with all of 2025-Q4
    now = won_between(rows, dt.date(2026, 1, 1), dt.date(2026, 1, 5))
    before = won_between(rows, dt.date(2025, 10, 1), dt.date(2025, 10, 5))
    whole_q4 = won_between(rows, dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    assert trend.loc["2026-Q1", "won_amount"] == pytest.approx(now[1])
    assert trend.loc["2026-Q1", "won_amount_prev"] == pytest.approx(before[1])
    assert trend.loc["2026-Q1", "won_count_prev"] == before[0] != whole_q4[0]
    assert trend.loc["2026-Q1", "won_amount_change"] == pytest.approx(now[1] - before[1])
    # a whole quarter compares with the whole quarter before
    q3 = won_between(rows, dt.date(2025, 7, 1), dt.date(2025, 9, 30))
    assert trend.loc["2025-Q4", "won_amount_prev"] == pytest.approx(q3[1])
    # before the data there is no previous period: missing, not $0
    assert math.isnan(trend.loc["2023-Q1", "won_amount_prev"])
    assert math.isnan(trend.loc["2023-Q1", "won_amount_change"])


def test_the_tiles_compare_the_covered_span_with_as_many_days_before(rows, prepared):
    # Jan 2025 - Mar 2026 holds data to 5 Jan 2026 only: 370 days, compared with the 370 before
    tables = views.view_tables(prepared, views.View(start="2025-01-01", end="2026-03-31"), only=["before"])
    first, last = dt.date(2025, 1, 1), dt.date(2026, 1, 5)
    days = (last - first).days + 1
    prev_last = first - dt.timedelta(days=1)
    prev_first = prev_last - dt.timedelta(days=days - 1)
    assert tables["before"]["won_count"].iloc[0] == won_between(rows, prev_first, prev_last)[0]


# --------------------------------------------------------------------------- the same peers
@pytest.mark.slow
def test_the_kpi_table_scores_a_chosen_partner_among_all_partners(rows, prepared, deals):
    view = views.View(
        by="partner", freq="Q", start="2025-01-01", end="2025-12-31", where={"partner": ["Lumen Reseller Co."]}
    )
    kpis = views.view_tables(prepared, view, only=["kpis"])["kpis"]
    assert set(kpis["partner"]) == {"Lumen Reseller Co."}
    partners = deals[deals["partner"] != "(direct)"]
    everyone = ck.quality_score(partners, freq="Q", start="2025-01-01", end="2025-12-31").set_index(
        ["partner", "period"]
    )
    got = kpis.set_index(["partner", "period"])
    for key in got.index:
        assert got.loc[key, "quality_score"] == pytest.approx(everyone.loc[key, "quality_score"])
        assert got.loc[key, "rank"] == everyone.loc[key, "rank"]
    # not scored against itself: the lone partner would be 50 and rank 1 every quarter
    assert set(got["rank"]) != {1}
    # the other columns are the partner's own numbers
    mine = won_between(rows, dt.date(2025, 1, 1), dt.date(2025, 12, 31), partner="Lumen Reseller Co.")
    assert got["won_count"].sum() == mine[0] and got["won_amount"].sum() == pytest.approx(mine[1])


def test_deals_without_a_partner_have_no_score_in_the_kpi_table(prepared):
    kpis = views.view_tables(prepared, views.View(by="partner", freq="Y"), only=["kpis"])["kpis"]
    direct = kpis[kpis["partner"] == "(direct)"]
    assert len(direct) and direct["quality_score"].isna().all() and direct["won_count"].sum() > 0


# --------------------------------------------------------------------------- a past day's pipeline
@pytest.mark.slow
def test_the_stage_chart_of_a_past_day_keeps_closed_stages_apart(rows, prepared):
    as_of = dt.date(2024, 12, 31)
    table = views.view_tables(prepared, views.View(end="2024-12-31"), only=["pipeline_stage"])["pipeline_stage"]
    held = [r for r in rows if r["created"] <= as_of and (r["closed"] is None or r["closed"] > as_of)]
    stages = Counter(r["stage"] for r in held if r["status"] == "open")
    opened = table[table["status"] == "open"]
    assert dict(zip(opened["stage"], opened["open_count"])) == {s: stages[s] for s in opened["stage"]}
    assert not {"Closed Won", "Closed Lost"} & set(opened.loc[opened["open_count"] > 0, "stage"])
    for status, label in (("won", "Won since"), ("lost", "Lost since")):
        row = table[table["status"] == status].iloc[0]
        mine = [r for r in held if r["status"] == status]
        assert row["stage"] == label and row["open_count"] == len(mine) > 0
        assert row["open_amount"] == pytest.approx(sum(r["amount"] for r in mine))
    assert (table["as_of"] == pd.Timestamp("2024-12-31")).all()
    spec = charts.pipeline_by_stage(table).to_dict()
    labels = {r["label"] for r in spec["datasets"][spec["data"]["name"]]}
    assert {"Won from 1 Jan 2025", "Lost from 1 Jan 2025"} <= labels and "Closed Won" not in labels


# --------------------------------------------------------------------------- tiles
@pytest.mark.slow
def test_tiles_say_what_n_counts_and_define_the_kpi_in_plain_words(rows, prepared):
    tables = views.view_tables(prepared, views.View(start="2025-01-01", end="2025-12-31"))
    tiles = {t["title"]: t for t in tile_values(tables)}
    won, _ = won_between(rows, dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    closed = sum(1 for r in rows if r["closed"] and dt.date(2025, 1, 1) <= r["closed"] <= dt.date(2025, 12, 31))
    assert tiles["Deals won"]["value"] == won and tiles["Deals won"]["n"] == closed
    assert tiles["Deals won"]["counts"] == "closed deals (won or lost)"
    assert tiles["Best quality score"]["counts"] == "partners ranked"
    for tile in tiles.values():
        text = tile["definition"]
        assert len(text) > 40, tile["title"]
        # no argument names or column names: words a manager reads
        assert not re.search(r"=|freq|start/end|\bNone\b|_\w", text), (tile["title"], text)
    html = tiles_html(list(tiles.values()))
    assert html.count("<details><summary>What is this?</summary>") == 8
    assert f"n = {closed:,} closed deals (won or lost)" in html


@pytest.mark.slow
def test_a_change_is_coloured_by_whether_it_is_good_for_the_kpi(prepared):
    tables = views.view_tables(prepared, views.View(start="2025-01-01", end="2025-12-31"))
    now, before = tables["now"].iloc[0], tables["before"].iloc[0]
    tiles = {t["column"]: t for t in tile_values(tables)}
    shorter = now["cycle_days_median"] < before["cycle_days_median"]
    assert now["cycle_days_median"] != before["cycle_days_median"]
    assert tiles["cycle_days_median"]["good"] == ("good" if shorter else "bad")
    more_won = now["won_count"] > before["won_count"]
    assert tiles["won_count"]["good"] == ("good" if more_won else "bad")
    # a cycle half a day shorter is good and says so in words
    fake = dict(tables)
    fake["before"] = tables["before"].assign(cycle_days_median=now["cycle_days_median"] + 0.5)
    cycle = {t["column"]: t for t in tile_values(fake)}["cycle_days_median"]
    assert (cycle["change"], cycle["good"]) == ("-0.5 days", "good")
    assert "<span class='ck-good'>-0.5 days (better)</span>" in tiles_html([cycle])


def test_tile_text_is_escaped():
    tile = {
        "title": "<b>x</b>",
        "text": "1",
        "change": "",
        "direction": "",
        "good": "",
        "n": 3,
        "counts": "<i>deals</i>",
        "definition": "'><script>alert(1)</script>",
        "note": "",
    }
    html = tiles_html([tile])
    assert "<script>" not in html and "<i>" not in html and "<b>x" not in html


# --------------------------------------------------------------------------- what every chart says
@pytest.mark.slow
def test_every_chart_carries_the_selection_its_theme_and_a_description(prepared):
    view = views.View(
        by="partner",
        freq="Q",
        start="2025-01-01",
        end="2025-12-31",
        where={"partner": ["(direct)", "Brightline IT"]},
    )
    tables = views.view_tables(prepared, view)
    text = views.selection_text(view)
    assert text == "Direct (no partner), Brightline IT · by partner, quarterly · Jan 2025 – Dec 2025"
    made = views.view_charts(tables, by="partner", subtitle=text)
    assert set(made) == set(views.CHART_TITLES)
    for name, chart in made.items():
        spec = chart.to_dict()
        assert text in " · ".join(spec["title"]["subtitle"]), name
        assert "Brightline IT" in spec["description"] and "Jan 2025" in spec["description"], name
        assert spec["config"]["font"] == charts.FONT, name  # themed without use_theme()
        assert spec.get("width") == "container", name


@pytest.mark.slow
def test_the_ranking_says_top_n_of_m_and_leaves_direct_deals_out(prepared):
    tables = views.view_tables(prepared, views.View(by="partner"), only=["ranking"])
    spec = views.view_charts(tables, only=["ranking"], subtitle="All partners")["ranking"].to_dict()
    subtitle = " ".join(spec["title"]["subtitle"])
    partners = len(tables["ranking"])
    assert f"Top 20 of {partners} partners" in subtitle and "Deals without a partner are not ranked" in subtitle


@pytest.mark.slow
def test_a_count_of_one_reads_in_the_singular(prepared):
    tables = views.view_tables(prepared, views.View(start="2025-01-01", end="2025-12-31"))
    one = {**tables, "ranking": tables["ranking"].head(1)}
    tiles = {t["title"]: t for t in tile_values(one)}
    assert tiles["Best quality score"]["n"] == 1
    assert tiles["Best quality score"]["counts"] == "partner ranked"
    html = tiles_html(list(tiles.values()))
    assert "n = 1 partner ranked" in html and "1 partners" not in html
