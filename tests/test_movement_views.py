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
    assert tab.charts["movement_waterfall"] in tab.widget.children
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
    assert [c.split(">")[-1] for c in acme.split("</td>")[1:-1]] == [
        "$130.00",
        "$25.00",
        "$0.00",
        "$0.00",
        "$0.00",
        "$0.00",
        "$0.00",
        "-$80.00",
        "$0.00",
        "$0.00",
        "-$50.00",
        "$25.00",
    ]
    total = section[section.index("<td>Total</td>") :].split("</tr>")[0]
    assert total.endswith("$280.00</td>")
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
