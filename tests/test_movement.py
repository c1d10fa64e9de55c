"""Pipeline movement: a hand-built history with every bucket, properties over random histories,
and an independent plain-Python computation from ``History.state``."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import channelkpi as ck
from channelkpi.errors import ChannelKPIError
from channelkpi.history import History, end_of, make_intervals
from channelkpi.metrics.movement import BUCKETS, MEASURES, SIGNS
from channelkpi.schema import validate_deals

T = pd.Timestamp


def _history(states: list[tuple], as_of="2025-03-31", extra: dict | None = None) -> History:
    """States as (deal, valid_from, status, amount, partner, currency, expected_close[, removed])."""
    rows = pd.DataFrame(
        [
            {
                "deal_id": s[0],
                "valid_from": T(s[1]),
                "status": s[2],
                "stage": {"open": "Proposal", "won": "Closed Won", "lost": "Closed Lost"}[s[2]],
                "amount": s[3],
                "partner": s[4],
                "currency": s[5],
                "expected_close": T(s[6]) if s[6] else pd.NaT,
                "removed": s[7] if len(s) > 7 else False,
                "owner": "Ann",
            }
            for s in states
        ]
    )
    rows["created"] = rows.groupby("deal_id")["valid_from"].transform("min")
    rows["closed"] = rows["valid_from"].where(rows["status"].isin(["won", "lost"]))
    intervals = make_intervals(rows)
    last = intervals.groupby("deal_id").tail(1)
    deals = last[["deal_id", "status", "stage", "amount", "currency", "partner", "owner", "created", "closed"]].copy()
    for col, values in (extra or {}).items():
        deals[col] = deals["deal_id"].map(values)
    deals = validate_deals(deals.reset_index(drop=True))
    return History(
        intervals=intervals,
        deals=deals,
        ledger=pd.DataFrame(),
        source="hand-built",
        known=frozenset({"status", "stage", "amount", "expected_close", "partner"}),
        stages=None,
        as_of=T(as_of),
    )


# February 2025 is the period under test: t0 = 2025-02-01 00:00, t1 = 2025-03-01 00:00. The close
# window is the year 2025. Amounts in whole units; the table holds cents.
HAND = [
    # D01 Acme: open in the window at both ends, nothing changed -> unchanged 100
    ("D01", "2025-01-10", "open", 100.0, "Acme", "USD", "2025-05-15"),
    # D02 Acme: created on 5 Feb, open at t1 -> new 200
    ("D02", "2025-02-05", "open", 200.0, "Acme", "USD", "2025-06-01"),
    # D03 Acme: open at t0 but expected in 2026 (outside the window); on 10 Feb the close moved to
    # November and the amount to 320 -> pulled_in at its t1 amount 320 (pulled beats increased)
    ("D03", "2025-01-12", "open", 300.0, "Acme", "USD", "2026-02-01"),
    ("D03", "2025-02-10", "open", 320.0, "Acme", "USD", "2025-11-30"),
    # D04 Acme: 400 -> 450 on 12 Feb -> increased 50
    ("D04", "2025-01-15", "open", 400.0, "Acme", "USD", "2025-04-30"),
    ("D04", "2025-02-12", "open", 450.0, "Acme", "USD", "2025-04-30"),
    # D05 Birch: 500 -> 350 on 20 Feb -> decreased 150
    ("D05", "2025-01-03", "open", 500.0, "Birch", "USD", "2025-03-31"),
    ("D05", "2025-02-20", "open", 350.0, "Birch", "USD", "2025-03-31"),
    # D06 Birch: expected close moved from March 2025 to January 2026 -> pushed_out 600
    ("D06", "2025-01-08", "open", 600.0, "Birch", "USD", "2025-03-31"),
    ("D06", "2025-02-14", "open", 600.0, "Birch", "USD", "2026-01-15"),
    # D07 Acme: won on 18 Feb at 750 -> won at its t0 amount 700
    ("D07", "2025-01-20", "open", 700.0, "Acme", "USD", "2025-02-28"),
    ("D07", "2025-02-18", "won", 750.0, "Acme", "USD", None),
    # D08 Birch: lost on 25 Feb -> lost 800
    ("D08", "2025-01-22", "open", 800.0, "Birch", "USD", "2025-06-30"),
    ("D08", "2025-02-25", "lost", 800.0, "Birch", "USD", None),
    # D09 Acme: deleted on 8 Feb (a removed state carrying its last values) -> removed 900
    ("D09", "2025-01-05", "open", 900.0, "Acme", "USD", "2025-05-01"),
    ("D09", "2025-02-08", "open", 900.0, "Acme", "USD", "2025-05-01", True),
    # D10: moved from Acme to Birch on 11 Feb, and 1000 -> 1100 -> transferred_out of Acme 1000,
    # transferred_in to Birch 1100 (each side at its own end's amount)
    ("D10", "2025-01-07", "open", 1000.0, "Acme", "USD", "2025-09-30"),
    ("D10", "2025-02-11", "open", 1100.0, "Birch", "USD", "2025-09-30"),
    # D11 Birch: created 3 Feb and won 27 Feb at 120 -> memo (count 1, 120), no bucket
    ("D11", "2025-02-03", "open", 110.0, "Birch", "USD", "2025-02-28"),
    ("D11", "2025-02-27", "won", 120.0, "Birch", "USD", None),
    # D12 Acme: lost in January, reopened on 16 Feb at 140 -> new 140 (reopened)
    ("D12", "2025-01-02", "open", 130.0, "Acme", "USD", "2025-01-31"),
    ("D12", "2025-01-25", "lost", 130.0, "Acme", "USD", None),
    ("D12", "2025-02-16", "open", 140.0, "Acme", "USD", "2025-07-01"),
    # D13 Acme in EUR: 1300 -> 1500 -> increased 200 in its own EUR row, never summed with USD
    ("D13", "2025-01-09", "open", 1300.0, "Acme", "EUR", "2025-08-31"),
    ("D13", "2025-02-21", "open", 1500.0, "Acme", "EUR", "2025-08-31"),
    # D14 Birch: won on the last evening of February -> won 1400 in February
    ("D14", "2025-01-30", "open", 1400.0, "Birch", "USD", "2025-02-28"),
    ("D14", "2025-02-28 23:30", "won", 1400.0, "Birch", "USD", None),
    # D15 Birch: created and won in January -> January's memo (50); in February in no bucket
    ("D15", "2025-01-04", "open", 50.0, "Birch", "USD", "2025-01-31"),
    ("D15", "2025-01-28", "won", 50.0, "Birch", "USD", None),
]

# (partner, currency) -> February, in cents, worked out from the comments above
EXPECTED_FEB = {
    ("Acme", "EUR"): {"start": (130000, 1), "increased": (20000, 1), "end": (150000, 1)},
    ("Acme", "USD"): {
        "start": (310000, 5),  # D01 100 + D04 400 + D07 700 + D09 900 + D10 1000 (D03 outside the window)
        "new": (34000, 2),  # D02 200 + D12 140
        "pulled_in": (32000, 1),  # D03
        "increased": (5000, 1),  # D04
        "won": (70000, 1),  # D07
        "removed": (90000, 1),  # D09
        "transferred_out": (100000, 1),  # D10
        "unchanged": (10000, 1),  # D01
        "end": (121000, 5),  # D01 100 + D02 200 + D03 320 + D04 450 + D12 140
    },
    ("Birch", "USD"): {
        "start": (330000, 4),  # D05 500 + D06 600 + D08 800 + D14 1400
        "decreased": (15000, 1),  # D05
        "pushed_out": (60000, 1),  # D06
        "lost": (80000, 1),  # D08
        "won": (140000, 1),  # D14
        "transferred_in": (110000, 1),  # D10
        "end": (145000, 2),  # D05 350 + D10 1100
        "memo": (12000, 1),  # D11
    },
}


@pytest.fixture(scope="module")
def hand():
    return _history(HAND)


def test_hand_built_february_matches_the_table_worked_out_by_hand(hand):
    table = ck.pipeline_movement(hand, by="partner", close_window="2025")
    feb = table[table["period"] == "2025-02"]
    assert sorted(zip(feb["partner"], feb["currency"])) == sorted(EXPECTED_FEB)
    for (partner, currency), cells in EXPECTED_FEB.items():
        row = feb[(feb["partner"] == partner) & (feb["currency"] == currency)].iloc[0]
        for m in MEASURES:
            cents, count = cells.get(m, (0, 0))
            assert (row[f"{m}_cents"], row[f"{m}_count"]) == (cents, count), (partner, currency, m)
            assert row[m] == cents / 100
    assert list(table["period"].unique()) == ["2025-01", "2025-02", "2025-03"]


def test_hand_built_january_memo_and_march_start(hand):
    table = ck.pipeline_movement(hand, close_window="2025").set_index(["partner", "currency", "period"])
    # D15 was created and won in January; D12 created and lost in January too (reopened later)
    assert table.loc[("Birch", "USD", "2025-01"), ["memo_cents", "memo_count"]].tolist() == [5000, 1]
    assert table.loc[("Acme", "USD", "2025-01"), ["memo_cents", "memo_count"]].tolist() == [13000, 1]
    assert table.loc[("Acme", "USD", "2025-03"), "start_cents"] == 121000


def test_hand_built_without_a_window_has_no_push_or_pull(hand):
    feb = ck.pipeline_movement(hand).query("period == '2025-02'").set_index(["partner", "currency"])
    assert feb["pushed_out_cents"].sum() == 0 and feb["pulled_in_cents"].sum() == 0
    # D03 is now in the pipeline at both ends: increased 20 on top of D04's 50
    assert feb.loc[("Acme", "USD"), ["start_cents", "increased_cents", "increased_count"]].tolist() == [340000, 7000, 2]
    # D06 moved its date only: unchanged
    assert feb.loc[("Birch", "USD"), ["unchanged_cents", "unchanged_count"]].tolist() == [60000, 1]


def test_hand_built_deals_behind_each_bucket(hand):
    won = ck.movement_deals(hand, period="2025-02", group="Acme", bucket="won", close_window="2025")
    assert won[["deal_id", "amount_cents", "amount_t0", "amount_t1", "status_t1"]].values.tolist() == [
        ["D07", 70000, 700.0, 750.0, "won"]
    ]
    new = ck.movement_deals(hand, period="2025-02", group=("Acme", "USD"), bucket="new", close_window="2025")
    assert dict(zip(new["deal_id"], new["how"])) == {"D02": "created", "D12": "reopened"}
    moved = ck.movement_deals(hand, period=T("2025-02-14"), close_window="2025")
    d10 = moved[moved["deal_id"] == "D10"]
    assert sorted(zip(d10["bucket"], d10["partner"], d10["amount_cents"])) == [
        ("transferred_in", "Birch", 110000),
        ("transferred_out", "Acme", 100000),
    ]
    assert set(d10["partner_t0"]) == {"Acme"} and set(d10["partner_t1"]) == {"Birch"}
    memo = ck.movement_deals(hand, period="2025-02", bucket="memo")
    assert memo[["deal_id", "how", "amount_cents"]].values.tolist() == [["D11", "created and won", 12000]]
    removed = ck.movement_deals(hand, period="2025-02", bucket="removed")
    assert removed["deal_id"].tolist() == ["D09"] and removed["status_t1"].tolist() == ["open"]


def test_grouping_by_a_deals_column_and_by_none(hand):
    dept = {f"D{i:02d}": ("East" if i % 2 else "West") for i in range(1, 16)}
    history = _history(HAND, extra={"department": dept})
    by_dept = ck.pipeline_movement(history, by="department", close_window="2025")
    total = ck.pipeline_movement(history, by=None, close_window="2025")
    for frame in (by_dept, total):
        _assert_balanced(frame)
    usd = by_dept[(by_dept["currency"] == "USD") & (by_dept["period"] == "2025-02")]
    # departments never change: no transfers; D10 (even -> West) is increased by 100 there
    assert usd["transferred_in_cents"].sum() == 0 and usd["transferred_out_cents"].sum() == 0
    feb = total[(total["currency"] == "USD") & (total["period"] == "2025-02")].iloc[0]
    assert feb["start_cents"] == 310000 + 330000 and feb["end_cents"] == 121000 + 145000


def test_errors_are_clear(hand):
    with pytest.raises(ChannelKPIError, match="needs a History"):
        ck.pipeline_movement(pd.DataFrame())
    with pytest.raises(ChannelKPIError, match="close_window"):
        ck.pipeline_movement(hand, close_window="next quarter")
    with pytest.raises(ChannelKPIError, match="did you mean 'partner'"):
        ck.pipeline_movement(hand, by="partnr")
    with pytest.raises(ChannelKPIError, match="bucket="):
        ck.movement_deals(hand, period="2025-02", bucket="slipped")
    with pytest.raises(ChannelKPIError, match="period="):
        ck.movement_deals(hand, period="February")


def test_explain_gives_the_bucket_order():
    text = ck.explain("pipeline_movement")
    assert "removed (deleted, or gone from the export by the end), won, lost (closed by the end)" in text
    table = ck.pipeline_movement(_history(HAND), close_window="2025")
    assert "variant:   close_window=2025-01-01..2025-12-31" in ck.explain(table)


# --------------------------------------------------------------------------- properties
def _assert_balanced(table: pd.DataFrame) -> None:
    total = table["start_cents"].astype("int64").copy()
    for b in BUCKETS:
        total += SIGNS[b] * table[f"{b}_cents"].astype("int64")
    assert (total == table["end_cents"].astype("int64")).all()
    # by count, every deal of start is in one bucket that it stays in or leaves by, and every deal
    # of end in one that it stays in or arrives by
    c = {m: table[f"{m}_count"] for m in MEASURES}
    stayed = c["unchanged"] + c["increased"] + c["decreased"]
    left = c["pushed_out"] + c["won"] + c["lost"] + c["removed"] + c["transferred_out"]
    arrived = c["new"] + c["pulled_in"] + c["transferred_in"]
    assert (c["start"] == stayed + left).all()
    assert (c["end"] == stayed + arrived).all()


DAY0 = T("2025-01-01")


@st.composite
def histories(draw):
    n = draw(st.integers(0, 10))
    states = []
    for i in range(n):
        k = draw(st.integers(1, 5))
        # instants: days (some exactly at midnight of the 1st) and hours within days
        offsets = sorted(set(draw(st.lists(st.integers(0, 180 * 24), min_size=k, max_size=k))))
        for j, hours in enumerate(offsets):
            at = DAY0 + pd.Timedelta(hours=hours if draw(st.booleans()) else (hours // 24) * 24)
            status = draw(st.sampled_from(["open", "open", "won", "lost"]))
            cents = draw(st.one_of(st.none(), st.integers(0, 100_000)))
            close = draw(st.one_of(st.none(), st.integers(0, 400)))
            states.append(
                (
                    f"D{i}",
                    at,
                    status,
                    math.nan if cents is None else cents / 100,
                    draw(st.sampled_from(["A", "B", "C"])),
                    draw(st.sampled_from(["USD", "USD", "EUR"])),
                    None if close is None else DAY0 + pd.Timedelta(days=close),
                    j > 0 and draw(st.integers(0, 6)) == 0,
                )
            )
    # states at the same instant of one deal: keep one
    seen, unique = set(), []
    for s in states:
        if (s[0], s[1]) not in seen:
            seen.add((s[0], s[1]))
            unique.append(s)
    window = draw(st.one_of(st.none(), st.just(("2025-02-01", "2025-06-30"))))
    freq = draw(st.sampled_from(["M", "M", "Q", "W"]))
    return unique, window, freq


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _cents(amount) -> int:
    return 0 if pd.isna(amount) else round(float(amount) * 100)


def _independent(history: History, t0, t1, window) -> dict:
    """The buckets of one period from ``history.state`` only, deal by deal in plain Python."""
    lo, hi = (T(window[0]), T(window[1])) if window else (None, None)

    def pipeline(t):
        out = {}
        for r in history.state(t).to_dict("records"):
            ok = r["status"] == "open"
            if window:
                ok = ok and not pd.isna(r["expected_close"]) and lo <= r["expected_close"] <= hi
            if ok:
                out[r["deal_id"]] = r
        return out

    s0 = {r["deal_id"]: r for r in history.state(t0).to_dict("records")}
    s1 = {r["deal_id"]: r for r in history.state(t1).to_dict("records")}
    p0, p1 = pipeline(t0), pipeline(t1)
    first = history.intervals.groupby("deal_id")["valid_from"].min()
    totals = defaultdict(lambda: [0, 0])

    def add(r, measure, cents):
        cell = totals[(r["partner"], r["currency"], measure)]
        cell[0] += cents
        cell[1] += 1

    for r in p0.values():
        add(r, "start", _cents(r["amount"]))
    for r in p1.values():
        add(r, "end", _cents(r["amount"]))
    for d in set(p0) | set(p1):
        a, b = p0.get(d), p1.get(d)
        if a and b:
            if (a["partner"], a["currency"]) != (b["partner"], b["currency"]):
                add(a, "transferred_out", _cents(a["amount"]))
                add(b, "transferred_in", _cents(b["amount"]))
            elif _cents(b["amount"]) > _cents(a["amount"]):
                add(a, "increased", _cents(b["amount"]) - _cents(a["amount"]))
            elif _cents(b["amount"]) < _cents(a["amount"]):
                add(a, "decreased", _cents(a["amount"]) - _cents(b["amount"]))
            else:
                add(a, "unchanged", _cents(a["amount"]))
        elif a:
            now = s1.get(d)
            bucket = "removed" if now is None else now["status"] if now["status"] != "open" else "pushed_out"
            add(a, bucket, _cents(a["amount"]))
        else:
            before = s0.get(d)
            add(b, "new" if before is None or before["status"] != "open" else "pulled_in", _cents(b["amount"]))
    for d, r in s1.items():
        if t0 < first[d] <= t1 and r["status"] in ("won", "lost"):
            add(r, "memo", _cents(r["amount"]))
    return totals


@pytest.mark.slow
@SETTINGS
@given(histories())
def test_movement_balances_chains_and_matches_an_independent_computation(case):
    states, window, freq = case
    history = _history(states, as_of="2025-07-01") if states else None
    if history is None:
        return
    table = ck.pipeline_movement(history, by="partner", freq=freq, close_window=window)
    _assert_balanced(table)
    # end(P) == start(P+1) per group
    for _, g in table.groupby(["partner", "currency"], dropna=False):
        assert g["end_cents"].iloc[:-1].tolist() == g["start_cents"].iloc[1:].tolist()
        assert g["end_count"].iloc[:-1].tolist() == g["start_count"].iloc[1:].tolist()
    for period, rows in table.groupby("period", sort=False):
        t0 = rows["period_start"].iloc[0]
        t1 = rows["period_end"].iloc[0] + pd.Timedelta(days=1)
        expected = _independent(history, end_of(t0), end_of(t1), window)  # each end's last instant
        got = {}
        for r in rows.to_dict("records"):
            for m in MEASURES:
                if r[f"{m}_count"]:
                    got[(r["partner"], r["currency"], m)] = [int(r[f"{m}_cents"]), int(r[f"{m}_count"])]
        assert got == dict(expected), period
        # transfers: as many in as out over all groups
        assert rows["transferred_in_count"].sum() == rows["transferred_out_count"].sum()
        # each deal of the pipeline at either end is in exactly one bucket (twice only when
        # transferred: out of one group and into another)
        listed = ck.movement_deals(history, period=t0, freq=freq, close_window=window)
        moving = listed[listed["bucket"] != "memo"]
        per_deal = moving.groupby("deal_id")["bucket"].apply(sorted)
        for buckets in per_deal:
            assert buckets in (["transferred_in", "transferred_out"],) or len(buckets) == 1
        starts = ck.movement_deals(history, period=t0, freq=freq, close_window=window, bucket="start")
        ends = ck.movement_deals(history, period=t0, freq=freq, close_window=window, bucket="end")
        in_either = set(starts["deal_id"]) | set(ends["deal_id"])
        assert set(per_deal.index) == in_either


@pytest.mark.slow
@SETTINGS
@given(histories())
def test_the_deals_behind_every_cell_add_up_to_it(case):
    states, window, freq = case
    if not states:
        return
    history = _history(states, as_of="2025-07-01")
    table = ck.pipeline_movement(history, by="partner", freq=freq, close_window=window)
    for period, rows in table.groupby("period", sort=False):
        t0 = rows["period_start"].iloc[0]
        listed = pd.concat(
            [ck.movement_deals(history, period=t0, freq=freq, close_window=window, bucket=b) for b in ("start", "end")]
            + [ck.movement_deals(history, period=t0, freq=freq, close_window=window)]
        )
        sums = listed.groupby(["partner", "currency", "bucket"], dropna=False)["amount_cents"].agg(["sum", "size"])
        for r in rows.to_dict("records"):
            for m in MEASURES:
                key = (r["partner"], r["currency"], m)
                got = (int(sums.loc[key, "sum"]), int(sums.loc[key, "size"])) if key in sums.index else (0, 0)
                assert got == (int(r[f"{m}_cents"]), r[f"{m}_count"]), (period, key)
    # and one cell asked for by its group and bucket
    if len(table):
        r = table.iloc[len(table) // 2]
        m = MEASURES[len(table) % len(MEASURES)]
        one = ck.movement_deals(
            history, period=r["period"], group=(r["partner"], r["currency"]), bucket=m, freq=freq, close_window=window
        )
        assert (int(one["amount_cents"].sum()), len(one)) == (int(r[f"{m}_cents"]), r[f"{m}_count"])


@pytest.mark.slow
@SETTINGS
@given(histories())
def test_where_gives_the_unfiltered_rows_of_the_selection(case):
    states, window, freq = case
    if not states:
        return
    history = _history(states, as_of="2025-07-01")
    full = ck.pipeline_movement(history, freq=freq, close_window=window)
    only = ck.pipeline_movement(history, freq=freq, close_window=window, where={"partner": ["A"]})
    expected = full[full["partner"] == "A"].reset_index(drop=True)
    got = only[only["partner"] == "A"].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)
    # the other partners' rows hold only what left or entered the selection: nothing
    assert (only[only["partner"] != "A"][[f"{m}_count" for m in MEASURES]] == 0).all().all()


def test_unsorted_intervals_give_the_same_table(hand):
    shuffled = History(
        hand.intervals.sample(frac=1, random_state=3).reset_index(drop=True), hand.deals, hand.ledger,
        hand.source, hand.known, hand.stages, hand.as_of,
    )  # fmt: skip
    pd.testing.assert_frame_equal(
        ck.pipeline_movement(shuffled, close_window="2025"), ck.pipeline_movement(hand, close_window="2025")
    )


def test_fiscal_quarters_and_one_free_period(hand):
    q = ck.pipeline_movement(hand, freq="Q", fiscal_year_start=2, close_window="2025")
    assert q["period"].unique().tolist() == ["FY2025 Q4", "FY2026 Q1"]  # Nov-Jan, Feb-Apr
    _assert_balanced(q)
    # one period from 1 February to 28 February is February
    free = ck.pipeline_movement(hand, freq=None, start="2025-02-01", end="2025-02-28", close_window="2025")
    feb = ck.pipeline_movement(hand, close_window="2025").query("period == '2025-02'")
    cols = [f"{m}_cents" for m in MEASURES]
    assert free[cols].to_numpy().tolist() == feb[cols].to_numpy().tolist()


def test_empty_history_gives_an_empty_typed_table():
    empty = History(make_intervals(pd.DataFrame({"deal_id": [], "valid_from": pd.to_datetime([])})),
                    validate_deals(pd.DataFrame({"deal_id": [], "status": []})), pd.DataFrame(), "nothing",
                    frozenset(), None, T("2025-01-01"))  # fmt: skip
    table = ck.pipeline_movement(empty)
    assert table.empty and "start_cents" in table and str(table["start_cents"].dtype) == "Int64"
    assert np.array_equal(table.columns[:4], ["partner", "currency", "period", "period_start"])


@pytest.mark.slow
def test_a_change_dated_the_first_of_a_month_belongs_to_that_month():
    # won at midnight of 1 March: February ends with the deal open, March has the win -- as a
    # deal created on 1 March is March's in every KPI
    history = _history(
        [
            ("W1", "2025-02-03", "open", 100.0, "Acme", "USD", "2025-03-31"),
            ("W1", "2025-03-01", "won", 100.0, "Acme", "USD", None),
            ("W2", "2025-03-01", "open", 40.0, "Acme", "USD", "2025-04-30"),
        ]
    )
    table = ck.pipeline_movement(history, by="partner", freq="M").set_index("period")
    assert (table.loc["2025-02", "end_cents"], table.loc["2025-02", "won_count"]) == (10000, 0)
    assert (table.loc["2025-03", "won_cents"], table.loc["2025-03", "new_cents"]) == (10000, 4000)
    assert table.loc["2025-03", "end_cents"] == 4000
    # the pipeline KPI on the same history reads the same ends
    ends = ck.pipeline(history, freq="M").set_index("period")["open_amount"]
    assert (ends["2025-02"], ends["2025-03"]) == (100.0, 40.0)


def test_history_analyses_type_their_options_with_the_shared_aliases():
    import inspect
    import typing

    from channelkpi import types
    from channelkpi.metrics.visits import HISTORY_PARAMETERS, Group, Stages

    shared = {
        "by": types.By,
        "start": types.DateLike,
        "end": types.DateLike,
        "where": types.Where,
        "stages": Stages,
    }
    analyses = (ck.stage_funnel, ck.funnel_deals, ck.time_in_stage, ck.stage_visits, ck.slipped_deals, ck.slip_deals)
    for func in (ck.pipeline_movement, ck.movement_deals, *analyses):
        hints, params = typing.get_type_hints(func), inspect.signature(func).parameters
        for option, alias in shared.items():
            if option in params:
                assert hints[option] == alias, (func.__name__, option)
    for func in analyses:
        if "group" in inspect.signature(func).parameters:
            assert typing.get_type_hints(func)["group"] == Group, func.__name__
    # the texts are written once and read the same in every function that takes the option
    for func in (ck.stage_funnel, ck.time_in_stage, ck.slipped_deals):
        doc = inspect.getdoc(func)
        for option in ("by", "where"):
            assert HISTORY_PARAMETERS[option] in doc, (func.__name__, option)
        assert "{" + "by}" not in doc
    assert HISTORY_PARAMETERS["stages"] in inspect.getdoc(ck.stage_funnel)
    assert HISTORY_PARAMETERS["stages"] in inspect.getdoc(ck.time_in_stage)
