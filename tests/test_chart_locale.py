"""Charts, the Movement tab and the deals panel in Dutch: no English legend value or bar label,
counts written as counts, short amounts with one decimal, dates and periods as the page writes
them. Expected texts are written out by hand from the CLDR's Dutch forms."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import channelkpi as ck
from channelkpi import charts
from channelkpi.datasets import make_sample_deals
from channelkpi.drill import deals_html, deals_page, tile_cell
from channelkpi.formats import format_value, money_short
from channelkpi.i18n import using
from channelkpi.movementview import movers_html
from channelkpi.views import View


@pytest.fixture(scope="module")
def deals():
    return make_sample_deals()


def _legends(spec) -> list[str]:
    """Every legend label expression of a (layered) spec."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "legend" in node and isinstance(node["legend"], dict) and "labelExpr" in node["legend"]:
                found.append(node["legend"]["labelExpr"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return found


def _rows(spec) -> list[dict]:
    return [row for rows in spec["datasets"].values() for row in rows]


def _tooltip_fields(spec) -> set[str]:
    return set(re.findall(r'"field": "([^"]+)", "title"', json.dumps(spec)))


@pytest.mark.slow
def test_the_waterfall_legend_speaks_dutch(deals):
    with using("nl-NL"):
        spec = charts.pipeline_waterfall(ck.pipeline_waterfall(deals, freq="Q")).to_dict()
    (expr,) = _legends(spec)
    names = json.loads(re.match(r"\((\{.*\})\)", expr).group(1))
    assert names == {
        "start": "Begin",
        "created": "+ aangemaakt",
        "won": "− gewonnen",
        "lost": "− verloren",
        "end": "Eind",
    }
    with using("en-US"):
        english = charts.pipeline_waterfall(ck.pipeline_waterfall(deals, freq="Q")).to_dict()
    assert "Start" in _legends(english)[0] and "+ created" in _legends(english)[0]


@pytest.mark.parametrize("chart", ["cycle", "success"])
@pytest.mark.slow
def test_outcome_legends_and_tooltips_speak_dutch(deals, chart):
    with using("nl-NL"):
        if chart == "cycle":
            spec = charts.cycle_distribution(ck.cycle_distribution(deals)).to_dict()
            field, codes = "status", {"won", "lost"}
        else:
            spec = charts.deal_success_cohorts(ck.deal_success(deals, freq="Q")).to_dict()
            field, codes = "part", {"won", "pending", "lost"}
    (expr,) = _legends(spec)
    wanted = {"won": "gewonnen", "pending": "lopend", "lost": "verloren"}
    assert json.loads(re.match(r"\((\{.*\})\)", expr).group(1)) == {c: wanted[c] for c in wanted}
    assert f"{field}_name" in _tooltip_fields(spec) and field not in _tooltip_fields(spec)
    shown = {row[f"{field}_name"] for row in _rows(spec)}
    assert shown == {wanted[c] for c in codes}


def _funnel_table():
    # 1,735 deals entered the first step; 1,400 advanced and 58 were won from it (went on: 1,458)
    return pd.DataFrame(
        {
            "step": [1, 2],
            "stage": ["Prospecting", "Negotiation"],
            "entered": [1735, 1400],
            "advanced": [1400, 0],
            "moved_back": [0, 0],
            "won": [58, 900],
            "lost": [236, 400],
            "removed": [0, 0],
            "still_there": [41, 100],
        }
    )


def test_the_funnel_writes_counts_and_shares_the_dutch_way():
    with using("nl-NL"):
        spec = charts.stage_funnel_chart(_funnel_table()).to_dict()
    first = next(row for row in _rows(spec) if row["stage"] == "Prospecting")
    assert first["entered_text"] == "1.735"
    assert first["won_text"] == "58" and first["lost_text"] == "236"  # counts, not money
    assert first["step_conversion_text"] == "84,0%"  # 1458 / 1735 = 0.8403...
    assert first["cumulative_conversion_text"] == "100,0%"
    assert first["label_text"] == "1.735 · 84,0% ging verder"
    assert "went on" not in json.dumps(spec)


def test_time_in_stage_writes_counts_with_separators():
    table = pd.DataFrame(
        {
            "step": [1],
            "stage": ["Prospecting"],
            "visits": [1769],
            "finished": [1500],
            "censored": [269],
            "median_days": [12.0],
            "p75_days": [30.0],
        }
    )
    with using("nl-NL"):
        spec = charts.time_in_stage_chart(table).to_dict()
    (row,) = _rows(spec)
    assert (row["visits_text"], row["finished_text"], row["censored_text"]) == ("1.769", "1.500", "269")


def test_short_amounts_keep_one_decimal_in_tiles_and_chart_labels():
    with using("nl-NL"):
        assert money_short(7_014_400.0, "$") == "$\xa07,0\xa0mln."
        assert format_value(7_014_400.0, "money", "$") == "$\xa07,0\xa0mln."
        assert money_short(30_860.0, "$") == "$\xa030,9K"
        assert money_short(-223_800.0, "$") == "$\xa0-223,8K"  # nl: ¤ -#,##0.00
        assert money_short(1_234.0, "") == "1,2K"  # no symbol: no space left for it
        movement = pd.DataFrame(
            {
                "period": ["2025-Q4"],
                "period_start": [pd.Timestamp("2025-10-01")],
                "start_cents": [300_000_000],
                "new_cents": [470_000_000],
                "lost_cents": [300_000_000],
                "end_cents": [470_000_000],
                "start_count": [10],
                "new_count": [5],
                "lost_count": [4],
                "end_count": [11],
            }
        )
        spec = charts.movement_waterfall(movement, currency="USD").to_dict()
    labels = {row["bucket"]: row["label_text"] for row in _rows(spec) if "label_text" in row}
    assert labels == {
        "start": "$\xa03,0\xa0mln.",
        "new": "$\xa0+4,7\xa0mln.",
        "lost": "$\xa0-3,0\xa0mln.",
        "end": "$\xa04,7\xa0mln.",
    }
    assert "K4 2025: open aan het begin" in json.dumps(spec, ensure_ascii=False)
    assert "2025-Q4:" not in json.dumps(spec)
    with using("de-DE"):
        assert money_short(7_014_400.0, "$") == "7,0\xa0Mio.\xa0$"


@pytest.mark.slow
def test_a_rate_tooltip_writes_every_percentage_alike(deals):
    with using("nl-NL"):
        spec = charts.win_rate_by_group(ck.win_rate(deals, by="channel"), by="channel").to_dict()
    texts = [row["win_rate_text"] for row in _rows(spec)]
    assert texts and all("95%" in t and "95 %" not in t for t in texts), texts[:2]


@pytest.mark.slow
def test_axes_carry_the_symbol_once_and_a_tick_hint(deals):
    spec = charts.themed(charts.pipeline_by_stage(ck.pipeline(deals, by="stage"))).to_dict()
    assert "Open pipeline ($)" not in json.dumps(spec)
    assert "tickCount" in json.dumps(spec["config"])


@pytest.mark.slow
def test_the_deals_panel_says_how_a_deal_counts_and_its_dates_in_dutch(deals):
    view = View(start="2025-01-01", end="2025-12-31")
    with using("nl-NL"):
        html = deals_html(deals_page(deals, tile_cell("open_amount", view)))
    assert "open aan het eind van de periode" in html
    assert "open at the period end" not in html
    assert not re.search(r"\d{4}-\d{2}-\d{2}", html), re.search(r".{40}\d{4}-\d{2}-\d{2}.{10}", html)
    assert re.search(r"\d{1,2} (jan|feb|mrt|apr|mei|jun|jul|aug|sep|okt|nov|dec) 20\d\d", html)


def test_the_movement_table_says_how_in_dutch():
    rows = pd.DataFrame(
        {"deal_id": ["A"], "bucket": ["new"], "amount": [80.0], "how": ["created"], "status_t1": ["open"]}
    )
    with using("nl-NL"):
        html = movers_html(rows, currency="USD")
    assert "<td>aangemaakt</td>" in html and ">created<" not in html


def test_a_partner_tables_region_is_named_in_dutch():
    from channelkpi.formats import level_title

    with using("nl-NL"):
        assert level_title("Region") == "Regio" and level_title("region") == "Regio"
    assert level_title("Region") == "Region"
