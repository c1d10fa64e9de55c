"""The Movement views of a history: the waterfall's bars, the view tables, the dashboard tab.

The history is three monthly snapshots written here; the expected numbers are worked out by
hand from the rows below (and, for the waterfall, from ``history.state`` at the period ends).
"""

from __future__ import annotations

import pandas as pd
import pytest

import channelkpi as ck
from channelkpi import charts
from channelkpi.views import HISTORY_TABLES, View, view_tables

# every test here takes a quarter second or more: none belongs in the quick run
pytestmark = pytest.mark.slow

HEAD = "Deal ID,Deal Name,Partner,Stage,Status,Amount,Close Date,Created\n"
SNAPSHOTS = {
    "2025-09-30": [
        ("A", "Alpha", "Acme", "Prospecting", "Open", "100", "2025-10-31", "2025-09-01"),
        ("B", "Beta", "Acme", "Proposal", "Open", "50", "2025-12-31", "2025-09-02"),
        ("C", "Gamma", "Globex", "Prospecting", "Open", "70", "2025-11-15", "2025-09-03"),
        ("E", "=cmd()", "<b>Bad</b>", "Proposal", "Open", "30", "2025-11-15", "2025-09-03"),
    ],
    "2025-10-31": [
        ("A", "Alpha", "Acme", "Proposal", "Open", "80", "2025-12-15", "2025-09-01"),
        ("B", "Beta", "Acme", "Negotiation", "Open", "50", "2025-12-31", "2025-09-02"),
        ("C", "Gamma", "Globex", "Closed Won", "Won", "70", "2025-10-20", "2025-09-03"),
        ("D", "Delta", "Globex", "Prospecting", "Open", "200", "2025-12-01", "2025-10-05"),
        ("E", "=cmd()", "<b>Bad</b>", "Proposal", "Open", "45", "2025-11-15", "2025-09-03"),
    ],
    "2025-11-30": [
        ("A", "Alpha", "Acme", "Closed Lost", "Lost", "80", "2025-11-20", "2025-09-01"),
        ("B", "Beta", "Globex", "Negotiation", "Open", "60", "2025-12-31", "2025-09-02"),
        ("D", "Delta", "Globex", "Proposal", "Open", "150", "2025-12-01", "2025-10-05"),
        ("E", "=cmd()", "<b>Bad</b>", "Proposal", "Open", "45", "2025-11-15", "2025-09-03"),
        ("F", "Foxtrot", "Acme", "Prospecting", "Open", "25", "2026-01-31", "2025-11-10"),
    ],
}
RANGE = {"freq": "M", "start": "2025-09-01", "end": "2025-11-30"}


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    folder = tmp_path_factory.mktemp("snapshots")
    for date, rows in SNAPSHOTS.items():
        (folder / f"deals_{date}.csv").write_text(HEAD + "".join(",".join(r) + "\n" for r in rows))
    return ck.load_history(folder)


def _open_cents(history, t) -> int:
    state = history.state(t)
    return int(round(state.loc[state["status"] == "open", "amount"].sum() * 100))


def test_waterfall_bars_balance_and_match_the_states(history):
    movement = ck.pipeline_movement(history, by=None, freq="M")
    bars = charts.movement_bars(movement, period="2025-11")
    # by hand: October's end A 80 + B 50 + D 200 + E 45 = 375; November: F new 25, A lost 80,
    # B up 10, D down 50 -> 280
    assert bars.set_index("bucket")["cents"].to_dict() == {
        "start": 37500,
        "new": 2500,
        "increased": 1000,
        "decreased": 5000,
        "lost": 8000,
        "end": 28000,
    }
    assert bars["cents"].iloc[0] == _open_cents(history, "2025-10-31 23:59")
    assert bars["cents"].iloc[-1] == _open_cents(history, "2025-11-30")
    sign = bars["direction"].map({"up": 1, "down": -1}).fillna(0)
    assert bars["cents"].iloc[0] + int((sign * bars["cents"]).sum()) == bars["cents"].iloc[-1]
    # every bar floats from where the one before it ends
    for before, after in zip(bars.iloc[:-2].itertuples(), bars.iloc[1:-1].itertuples(), strict=True):
        level = before.high_cents if before.direction != "down" else before.low_cents
        assert level == (after.low_cents if after.direction == "up" else after.high_cents)


def test_waterfall_spec_draws_its_bars_and_says_when_nothing_is_there(history):
    movement = ck.pipeline_movement(history, by=None, freq="M")
    spec = charts.movement_waterfall(movement, currency="EUR").to_dict()
    data = next(iter(spec["datasets"].values()))
    assert [d["bucket"] for d in data] == ["start", "new", "increased", "decreased", "lost", "end"]
    assert data[-1]["amount_text"] == "€280.00"
    empty = charts.movement_waterfall(movement.iloc[:0]).to_dict()
    assert "nothing moved" in str(empty["description"]).lower() or "No periods" in str(empty["description"])
    assert empty["mark"]["type"] == "text"
    same = movement[movement["period"] == "2025-09"].copy()
    for col in [c for c in same if c.endswith(("_cents", "_count")) and not c.startswith(("start", "end"))]:
        same[col] = 0
    same["start_cents"], same["start_count"] = same["end_cents"], same["end_count"]
    quiet = charts.movement_waterfall(same).to_dict()
    assert "No deal moved" in " ".join(quiet["title"]["subtitle"])


def test_waterfall_refuses_a_table_that_does_not_balance(history):
    movement = ck.pipeline_movement(history, by=None, freq="M")
    broken = movement.assign(end_cents=movement["end_cents"] + 1)
    with pytest.raises(ck.ChannelKPIError, match="does not balance"):
        charts.movement_bars(broken)


def test_funnel_and_stage_time_charts_carry_their_counts(history):
    funnel = charts.stage_funnel_chart(ck.stage_funnel(history)).to_dict()
    rows = next(iter(funnel["datasets"].values()))
    # deals entering Proposal: B, E (first snapshot), A (October), D (November)
    assert {r["stage"]: r["entered"] for r in rows}["Proposal"] == 4
    stage_time = charts.time_in_stage_chart(ck.time_in_stage(history)).to_dict()
    rows = next(iter(stage_time["datasets"].values()))
    negotiation = next(r for r in rows if r["stage"] == "Negotiation")
    # B is still in Negotiation: censored, and no median yet
    assert negotiation["censored"] == 1 and negotiation["median_text"] == "not reached yet"
    tips = [t["title"] for layer in stage_time["layer"] for t in layer["encoding"]["tooltip"]]
    assert "Still there (censored)" in tips


def test_view_tables_of_a_history(history):
    deals = history.state(history.as_of)
    tables = view_tables(deals, View(**RANGE), history=history)
    assert set(HISTORY_TABLES) <= set(tables)
    movement = tables["movement"].set_index("period")
    assert movement.loc["2025-11", "end_cents"] == _open_cents(history, "2025-11-30")
    movers = tables["movers"]
    # by the size of the move: A lost 80, D down 50, F new 25, B up 10
    assert movers[["deal_id", "bucket"]].values.tolist() == [
        ["A", "lost"],
        ["D", "decreased"],
        ["F", "new"],
        ["B", "increased"],
    ]
    # the partner chosen: B leaves Acme for Globex in November
    acme = view_tables(deals, View(**RANGE, selection=["Acme"]), only=["movement"], history=history)["movement"]
    assert acme.set_index("period").loc["2025-11", ["start_cents", "transferred_out_cents", "end_cents"]].tolist() == [
        13000,
        5000,
        2500,
    ]
    assert not set(HISTORY_TABLES) & set(view_tables(deals, View(**RANGE)))


def test_dashboard_movement_tab(history):
    from channelkpi.widgets import Dashboard

    deals = history.state(history.as_of)
    dash = Dashboard(deals, history=history)
    dash.period.value = (pd.Timestamp("2025-09-01"), pd.Timestamp("2025-11-01"))
    dash.freq.value = "M"
    dash.tabs.selected_index = dash._tab_names.index("Movement")
    assert dash.message.value == ""
    tab = dash.movement
    # the waterfall's part is shown first; the funnel and time in stage are not made until shown
    assert tab.widget.children == (tab.parts,) and tab.parts.selected_index == 0
    assert tab.charts["movement_waterfall"] in tab.boxes[0].children
    assert set(tab.charts) == {"movement_waterfall"} and not {"funnel", "stage_time"} & set(dash._tables)
    assert "Top movers, 2025-11" in tab.movers.value and "&lt;b&gt;" not in tab.movers.value
    tab.bucket.value = "lost"
    assert "Lost: 1 deal, $80.00" in tab.bucket_deals.value and "Alpha" in tab.bucket_deals.value
    # a click on a bar chooses it in the list (as the page reports a click)
    chart = tab.charts["movement_waterfall"]
    chart._vl_selections = {"cell": {"value": {"vlPoint": {"or": [{"bucket": "decreased"}]}}, "store": []}}
    assert tab.bucket.value == "decreased" and "Decreased: 1 deal, $50.00" in tab.bucket_deals.value
    assert "Delta" in tab.bucket_deals.value
    without = Dashboard(deals)
    without.tabs.selected_index = without._tab_names.index("Movement")
    assert "load_history" in without.movement.widget.children[0].value
    assert len(without.movement.widget.children) == 1


def test_movement_parts_are_made_when_shown_and_drawn_once_per_state(history):
    from channelkpi.widgets import Dashboard

    dash = Dashboard(history.state(history.as_of), history=history)
    dash.freq.value = "M"
    dash.tabs.selected_index = dash._tab_names.index("Movement")
    tab = dash.movement
    assert "funnel" not in dash._tables and "stage_funnel" not in tab.charts
    tab.parts.selected_index = 1  # the funnel: made and drawn now, for the dashboard's view
    assert tab.boxes[1].children == (tab.charts["stage_funnel"],)
    expected = view_tables(deals_of(history), dash.view, history=history, only=["funnel"])["funnel"]
    pd.testing.assert_frame_equal(dash._tables["funnel"], expected)
    funnel, waterfall = tab.charts["stage_funnel"].chart, tab.charts["movement_waterfall"].chart
    # back and forth with nothing changed: neither chart is made or sent again
    tab.parts.selected_index = 0
    tab.parts.selected_index = 1
    assert tab.charts["stage_funnel"].chart is funnel and tab.charts["movement_waterfall"].chart is waterfall
    # another partner: the part shown is drawn again at once, the waterfall when it is shown
    dash.picker.value = ["Acme"]
    assert tab.charts["stage_funnel"].chart is not funnel and tab.charts["movement_waterfall"].chart is waterfall
    tab.parts.selected_index = 0
    assert tab.charts["movement_waterfall"].chart is not waterfall and "Acme" in str(
        tab.charts["movement_waterfall"].chart.to_dict()
    )
    assert dash.message.value == ""


def deals_of(history):
    return history.state(history.as_of)


def _by_partner_at(history, t) -> dict[str, int]:
    """Open cents per partner at ``t``, from the state then (plain Python)."""
    out: dict[str, int] = {}
    for row in history.state(t).to_dict("records"):
        if row["status"] == "open":
            out[row["partner"]] = out.get(row["partner"], 0) + round(row["amount"] * 100)
    return out


def test_report_movement_section_and_sheet(history, tmp_path):
    import openpyxl

    html, xlsx = tmp_path / "r.html", tmp_path / "r.xlsx"
    ck.report(
        history.state(history.as_of),
        path=[html, xlsx],
        freq="M",
        **{k: RANGE[k] for k in ("start", "end")},
        history=history,
        currency="USD",  # the snapshots name no currency: without it, amounts carry no symbol
    )
    book = openpyxl.load_workbook(xlsx)
    sheet = book["Movement"]
    head = [c.value for c in sheet[1]]
    rows = [dict(zip(head, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    ends = {"2025-09": "2025-09-30", "2025-10": "2025-10-31", "2025-11": "2025-11-30"}
    for period, day in ends.items():
        expected = _by_partner_at(history, pd.Timestamp(day) + pd.Timedelta(days=1) - pd.Timedelta(1))
        got = {r["partner"]: round(r["end"] * 100) for r in rows if r["period"] == period}
        assert {p: c for p, c in got.items() if c} == expected, period
    for r in rows:  # every row balances; the outgoing buckets are positive amounts
        moved = r["new"] + r["pulled_in"] + r["increased"] + r["transferred_in"]
        moved -= r["decreased"] + r["pushed_out"] + r["won"] + r["lost"] + r["removed"] + r["transferred_out"]
        assert round((r["start"] + moved) * 100) == round(r["end"] * 100)
    cell = sheet.cell(row=2, column=head.index("end") + 1)
    assert isinstance(cell.value, (int, float)) and "$" in cell.number_format
    # a name from the data cannot run as a formula, and is text in the HTML
    assert all(not str(c.value).startswith("=") for row in sheet.iter_rows() for c in row if c.value is not None)
    page = html.read_text()
    section = page[page.index("<h2>Pipeline movement</h2>") :]
    assert "<svg" in section.split("<table")[0] and "&lt;b&gt;Bad&lt;/b&gt;" in section and "<b>Bad</b>" not in section
    # Acme in November, by hand: 130 - 80 lost - 50 transferred out + 25 new = 25
    acme = section[section.index("<td>Acme</td>") :].split("</tr>")[0]
    # (the columns of November's buckets: nobody was pulled in, increased, pushed out, won or
    # removed; whole dollars, so no cents)
    assert [c.split(">")[-1] for c in acme.split("</td>")[1:-1]] == [
        "$130",
        "$25",
        "$0",
        "-$80",
        "$0",
        "-$50",
        "$25",
    ]
    total = section[section.index("<td>Total</td>") :].split("</tr>")[0]
    assert total.endswith("$280</td>")
    # the table takes the page's width and no more (checked in a browser in test_browser_movement)
    assert "table.ck-movement {width: 100%; table-layout: fixed;" in section
    without = tmp_path / "plain.html"
    ck.report(history.state(history.as_of), path=without, freq="M")
    assert "<h2>Pipeline movement</h2>" not in without.read_text()


def test_cli_report_with_history(history, tmp_path):
    from channelkpi.cli import main

    folder = tmp_path / "exports"
    folder.mkdir()
    for date, rows in SNAPSHOTS.items():
        (folder / f"deals_{date}.csv").write_text(HEAD + "".join(",".join(r) + "\n" for r in rows))
    out = tmp_path / "r.xlsx"
    files = sorted(str(p) for p in folder.iterdir())
    code = main(["report", files[-1], "--history", *files, "-o", str(out), "--freq", "M", "--to", "2025-11", "--quiet"])
    assert code == 0
    import openpyxl

    sheet = openpyxl.load_workbook(out)["Movement"]
    head = [c.value for c in sheet[1]]
    nov = [dict(zip(head, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True) if r[2] == "2025-11"]
    assert {r["partner"]: r["end"] for r in nov} == {"<b>Bad</b>": 45, "Acme": 25, "Globex": 210}


# --------------------------------------------------------------------------- what the pages say
def _cells(html: str) -> list[list[str]]:
    """The rows of an HTML table as lists of cell texts (tags dropped, entities kept)."""
    import re

    return [[re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)] for row in html.split("</tr>")]


def test_a_missing_currency_is_named_in_words_and_prints_no_zero_row(history):
    from channelkpi.movementtab import MovementTab
    from channelkpi.movementview import movement_html

    deals = history.state(history.as_of)
    tables = view_tables(deals, View(**RANGE), history=history)
    movement = tables["movement"].assign(currency="USD")  # the snapshots name no currency
    # the rows of deals with neither a currency nor an amount: counted, every amount zero
    blank = movement.assign(currency=pd.NA)
    for col in [c for c in movement if c.endswith("_cents")]:
        blank[col] = 0
    tab = MovementTab()
    tab.show({**tables, "movement": pd.concat([movement, blank])}, currency="USD", subtitle=None)
    assert "deals without a currency are not shown" in tab.note.value and "nan" not in tab.note.value.lower()
    by_partner = ck.pipeline_movement(history, by="partner", freq="M").assign(currency="USD")
    blank = by_partner.assign(currency=pd.NA)
    for col in [c for c in by_partner if c.endswith("_cents")]:
        blank[col] = 0
    html = movement_html(pd.concat([by_partner, blank]), by="partner", currency="USD")
    rows = [r for r in _cells(html) if r]
    # November by hand: Acme, Globex, <b>Bad</b> and one total, nothing for the blank rows
    assert len(rows) == 4 and "Currency" not in html and "nan" not in html.lower()
    assert "without a currency or an amount" in html
    # a group without a currency that has amounts is a row of its own, named in words
    named = by_partner.assign(currency=pd.NA)
    html = movement_html(pd.concat([by_partner, named]), by="partner", currency="USD")
    rows = [r for r in _cells(html) if r]
    assert {r[1] for r in rows} == {"USD", "no currency"} and len(rows) == 8


def test_movement_table_leaves_out_the_buckets_nothing_moved_in(history):
    from channelkpi.movementview import movement_html

    html = movement_html(ck.pipeline_movement(history, by="partner", freq="M"), by="partner", currency="USD")
    heads = [h.split(">")[-1] for h in html.split("</th>")[:-1]]
    # November: F new, B from Acme to Globex (a transfer: its rise is in what Globex receives),
    # D down, A lost; nobody pulled in, increased, pushed out, won or removed
    assert heads == [
        "Partner",
        "Open at the start",
        "New",
        "Decreased",
        "Lost",
        "Transferred in",
        "Transferred out",
        "Open at the end",
    ]
    assert "pulled in, increased, pushed out, won, removed: those columns are left out" in html


def test_movers_show_the_outcome_and_no_internal_names(history):
    from channelkpi.movementview import movers_html

    deals = history.state(history.as_of)
    movers = view_tables(deals, View(**RANGE), history=history)["movers"]
    rows = {r[0]: r for r in _cells(movers_html(movers, currency="USD")) if r}
    # A was lost at 80 in November: its "after" is the outcome, not an amount that reads open
    assert rows["Alpha"][2] == "Lost" and rows["Alpha"][5] == "Lost, $80.00"
    assert rows["Delta"][5] == "$150.00"  # still open
    # a deal created and closed in the period (the memo line) is no bar and no mover; listed, it
    # is named in words
    memo = movers.iloc[:1].assign(bucket="memo", how="created and won", status_t1="won")
    text = movers_html(memo, currency="USD")
    assert "memo" not in text and "Opened and closed in the period" in text and "Won, $80.00" in text


@pytest.fixture(scope="module")
def sample():
    from channelkpi.datasets import sample_path

    export = ck.load_crm(sample_path("salesforce"), partners=sample_path("partners"), owners=sample_path("owners"))
    return export, ck.load_history(sample_path("history"), current=export)


def test_sample_movers_name_every_bucket_in_words(sample):
    from channelkpi.movementview import MOVER_TITLES

    export, history = sample
    tables = view_tables(export.deals, View(freq="Q", start="2023-01-01", end="2025-12-31"), history=history)
    assert "memo" in set(tables["movement_deals"]["bucket"])  # the sample has deals opened and closed in Q4
    assert not {"memo", "unchanged"} & set(tables["movers"]["bucket"])
    from channelkpi.movementview import movers_html

    cells = [r for r in _cells(movers_html(tables["movers"], currency="USD")) if r]
    assert {r[2] for r in cells} <= set(MOVER_TITLES.values())
    for row, mover in zip(cells, tables["movers"].to_dict("records"), strict=True):
        if mover["status_t1"] in ("won", "lost"):
            assert row[5].startswith(mover["status_t1"].capitalize() + ", $")


def _open_on(deals: pd.DataFrame, day: str) -> int:
    """Open cents on ``day`` rebuilt from created and closed dates (plain Python, as the tile)."""
    t = pd.Timestamp(day)
    total = 0
    for r in deals.to_dict("records"):
        closed = r["closed"]
        if r["created"] <= t and (pd.isna(closed) or closed > t) and r["currency"] == "USD":
            total += round(r["amount"] * 100) if not pd.isna(r["amount"]) else 0
    return total


def test_sample_waterfall_end_and_pipeline_tile_are_explained(sample):
    from channelkpi.movementview import pipeline_gap_caption
    from channelkpi.widgets import Dashboard

    export, history = sample
    dash = Dashboard(export, history=history)
    dash.tabs.selected_index = dash._tab_names.index("Movement")
    assert (dash.view.freq, dash.view.end) == ("Q", pd.Timestamp("2025-12-31"))  # the sample's opening view
    tile = _open_on(export.deals, "2025-12-31")  # the tile: each deal as it is in the export now
    end = _open_cents(history, pd.Timestamp("2026-01-01") - pd.Timedelta(1))  # as recorded then
    assert dash._tables["now"]["open_amount"].iloc[0] * 100 == tile and tile != end
    gap = dash.movement.gap.value
    assert f"${tile / 100:,.0f}" in gap and f"${end / 100:,.0f}" in gap
    assert f"+${(end - tile) / 100:,.0f} changed after that day" in gap
    box = dash.movement.boxes[0]
    assert box.children.index(dash.movement.gap) == box.children.index(dash.movement.charts["movement_waterfall"]) + 1
    # a range ending inside the quarter: the two days' part and the later changes' part
    view = View(freq="Q", start="2025-07-01", end="2025-11-15")
    tables = view_tables(export.deals, view, history=history, only=["movement", "movement_check"])
    text = pipeline_gap_caption(tables["movement_check"], tables["movement"], currency="USD")
    mid = _open_on(export.deals, "2025-11-15")
    day = _open_on(export.deals, "2025-12-31")
    assert f"${mid / 100:,.0f} (open on 15 Nov 2025)" in text
    assert f"-${(mid - day) / 100:,.0f} from the later day" in text
    assert f"+${(end - day) / 100:,.0f} changed after 31 Dec 2025" in text
    # when they agree there is nothing to explain
    same = tables["movement_check"].assign(tile_amount=end / 100, export_amount=end / 100)
    assert pipeline_gap_caption(same, tables["movement"], currency="USD") == ""


def test_time_in_stage_follows_the_dashboards_range(history):
    from channelkpi.widgets import Dashboard

    deals = history.state(history.as_of)
    november = view_tables(deals, View(freq="M", start="2025-11-01", end="2025-11-30"), history=history)
    visits = november["stage_time"].set_index("stage")["visits"].to_dict()
    # the visits that overlap November, by hand: Prospecting D (from 31 Oct) and F; Proposal A
    # (31 Oct to its loss on 30 Nov), D (from 30 Nov) and E; Negotiation B (from 31 Oct)
    assert visits == {"Prospecting": 2, "Proposal": 3, "Negotiation": 1}
    every = view_tables(deals, View(**RANGE), history=history)["stage_time"].set_index("stage")["visits"]
    assert every.to_dict() == {"Prospecting": 4, "Proposal": 4, "Negotiation": 1}
    dash = Dashboard(deals, history=history)
    dash.freq.value = "M"
    dash.period.value = (pd.Timestamp("2025-11-01"), pd.Timestamp("2025-11-01"))
    dash.tabs.selected_index = dash._tab_names.index("Movement")
    dash.movement.parts.selected_index = 2  # time in stage
    spec = dash.movement.charts["time_in_stage"].chart.to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert {r["stage"]: r["visits"] for r in rows} == visits
    with pytest.raises(ck.ChannelKPIError, match="visits="):
        ck.time_in_stage(history, visits="begun")
