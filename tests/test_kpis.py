"""The eight KPIs against values computed by hand or by an independent method.

Independent methods used here: plain Python loops over the rows (``Reference``) and DuckDB SQL.
Nothing is copied from channelkpi's own output.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

import duckdb
import numpy as np
import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.datasets import make_deals

T = pd.Timestamp


def deals_from(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for col in ("created", "closed", "expected_close"):
        if col in frame:
            frame[col] = pd.to_datetime(frame[col])
    return ck.validate_deals(frame)


def row(d: pd.DataFrame, **where) -> pd.Series:
    mask = np.ones(len(d), bool)
    for k, v in where.items():
        mask &= (d[k] == v).to_numpy()
    assert mask.sum() == 1, f"{mask.sum()} rows for {where}"
    return d[mask].iloc[0]


# --------------------------------------------------------------------------- hand-made cases
@pytest.mark.slow
def test_the_seed_example_average_deal_size():
    deals = deals_from(
        [
            {"deal_id": "1", "status": "won", "amount": 200.0, "closed": "2024-03-01"},
            {"deal_id": "2", "status": "won", "amount": 400.0, "closed": "2024-03-02"},
            {"deal_id": "3", "status": "lost", "amount": 9999.0, "closed": "2024-03-03"},
            {"deal_id": "4", "status": "open", "amount": 5000.0},
        ]
    )
    r = ck.average_deal_size(deals)
    assert r["avg_deal_size"].tolist() == [300.0]
    assert r["median_deal_size"].tolist() == [300.0]
    assert r["won_count"].tolist() == [2] and r["won_amount"].tolist() == [600.0]
    meta = r.attrs["channelkpi"]
    assert meta["used"] == 2 and meta["excluded"] == {"not_closed": 1, "not_won": 1}


@pytest.mark.slow
def test_average_deal_size_open_basis():
    deals = deals_from(
        [
            {"deal_id": "1", "status": "open", "amount": 100.0, "expected_close": "2024-04-10"},
            {"deal_id": "2", "status": "open", "amount": 300.0, "expected_close": "2024-04-20"},
            {"deal_id": "3", "status": "open", "amount": 1000.0, "expected_close": "2024-05-01"},
            {"deal_id": "4", "status": "won", "amount": 7.0, "closed": "2024-04-02"},
        ]
    )
    r = ck.average_deal_size(deals, basis="open", freq="M")
    april = row(r, period="2024-04")
    assert (april["avg_deal_size"], april["median_deal_size"], april["open_count"]) == (200.0, 200.0, 2)
    assert row(r, period="2024-05")["avg_deal_size"] == 1000.0
    assert r.attrs["channelkpi"]["used"] == 3 and r.attrs["channelkpi"]["excluded"] == {"not_open": 1}


HAND = [  # partner A: 3 won, 1 lost in March; B: 1 lost; Zed: only an open deal
    {
        "deal_id": "a1",
        "partner": "A",
        "status": "won",
        "amount": 100.0,
        "created": "2024-01-15",
        "closed": "2024-03-01",
    },
    {
        "deal_id": "a2",
        "partner": "A",
        "status": "won",
        "amount": 300.0,
        "created": "2024-02-01",
        "closed": "2024-03-11",
    },
    {"deal_id": "a3", "partner": "A", "status": "won", "amount": None, "created": "2024-03-01", "closed": "2024-03-21"},
    {
        "deal_id": "a4",
        "partner": "A",
        "status": "lost",
        "amount": 50.0,
        "created": "2024-02-10",
        "closed": "2024-03-30",
    },
    {
        "deal_id": "b1",
        "partner": "B",
        "status": "lost",
        "amount": 80.0,
        "created": "2024-01-05",
        "closed": "2024-02-05",
    },
    {
        "deal_id": "z1",
        "partner": "Zed",
        "status": "open",
        "amount": 40.0,
        "created": "2024-03-05",
        "expected_close": "2024-05-31",
    },
]


@pytest.mark.slow
def test_groups_without_deals_appear_with_zero_counts_and_missing_rates():
    deals = deals_from(HAND)
    r = ck.win_rate(deals, by="partner", freq="M", start="2024-02-01", end="2024-03-31")
    assert len(r) == 3 * 2  # every partner in every month
    zed = row(r, partner="Zed", period="2024-03")
    assert zed["won_count"] == 0 and zed["n"] == 0
    assert math.isnan(zed["win_rate"]) and math.isnan(zed["win_rate_low"])
    a = row(r, partner="A", period="2024-03")
    assert (a["won_count"], a["lost_count"], a["n"]) == (3, 1, 4) and a["win_rate"] == 0.75
    b = row(r, partner="B", period="2024-02")
    assert b["win_rate"] == 0.0  # 0 of 1 is a real zero, not missing


@pytest.mark.slow
def test_average_deal_size_excludes_won_deals_without_amount():
    r = ck.average_deal_size(deals_from(HAND), by="partner")
    a = row(r, partner="A")
    assert a["avg_deal_size"] == 200.0  # (100 + 300) / 2; a3 has no amount
    assert a["won_count"] == 3 and a["amount_count"] == 2
    assert r.attrs["channelkpi"]["excluded"]["no_amount"] == 1


@pytest.mark.slow
def test_win_rate_variants():
    deals = deals_from(HAND)
    value = ck.win_rate(deals, by="partner", weight="value")
    a = row(value, partner="A")
    assert a["win_rate"] == pytest.approx(400 / 450)  # won amount / (won + lost amount)
    assert math.isnan(a["win_rate_low"])
    created = ck.win_rate(deals, freq="Q", denominator="created")
    q1 = row(created, period="2024-Q1")
    # won deals closed in Q1 (3) / deals created in Q1 (6)
    assert q1["win_rate"] == 0.5 and q1["n"] == 6


@pytest.mark.slow
def test_deal_count():
    r = ck.deal_count(deals_from(HAND), freq="M")
    march = row(r, period="2024-03")
    assert (march["won_count"], march["created_count"], march["closed_count"], march["open_count"]) == (3, 2, 4, 1)
    feb = row(r, period="2024-02")
    # open at the end of February: a1, a2, a4 (b1 closed on Feb 5)
    assert (feb["won_count"], feb["created_count"], feb["closed_count"], feb["open_count"]) == (0, 2, 1, 3)


@pytest.mark.slow
def test_deal_velocity_by_hand():
    r = ck.deal_velocity(deals_from(HAND), freq="M", start="2024-03-01", end="2024-03-31", by="partner")
    a = row(r, partner="A")
    cycles = [
        (T("2024-03-01") - T("2024-01-15")).days,
        (T("2024-03-11") - T("2024-02-01")).days,
        (T("2024-03-21") - T("2024-03-01")).days,
    ]
    assert a["cycle_days_median"] == statistics.median(cycles)
    assert a["cycle_days_mean"] == pytest.approx(statistics.mean(cycles))
    assert a["lost_cycle_days_median"] == (T("2024-03-30") - T("2024-02-10")).days
    # open at the start of March (end of February): a1, a2, a4
    assert a["open_start_count"] == 3
    expected = 3 * 0.75 * 200.0 / statistics.mean(cycles)
    assert a["sales_velocity"] == pytest.approx(expected)


@pytest.mark.slow
def test_velocity_levers_add_up_to_the_change():
    deals = make_deals(3000, partners=5, seed=5)
    r = ck.deal_velocity(deals, freq="Q", by="partner")
    ok = r["velocity_change"].notna() & r["velocity_change_open"].notna()
    assert ok.sum() > 10
    parts = r.loc[
        ok, ["velocity_change_open", "velocity_change_win_rate", "velocity_change_deal_size", "velocity_change_cycle"]
    ].sum(axis=1)
    np.testing.assert_allclose(parts, r.loc[ok, "velocity_change"], rtol=1e-9)


def test_deal_success_cohorts():
    r = ck.deal_success(deals_from(HAND), freq="Q")
    q1 = row(r, period="2024-Q1")
    # created in Q1: all six; won 3, open 1, lost 2
    assert (q1["created_count"], q1["won_count"], q1["open_count"], q1["lost_count"]) == (6, 3, 1, 2)
    assert q1["success_rate"] == 0.5 and q1["pending_share"] == pytest.approx(1 / 6)
    assert q1["success_rate_value"] == pytest.approx(400 / (100 + 300 + 50 + 80 + 40))


@pytest.mark.slow
def test_channel_performance_shares_and_defaults():
    deals = make_deals(4000, partners=20, seed=8)
    r = ck.channel_performance(deals, freq="Y")
    assert "channel" in r.columns
    shares = r.groupby("period")["won_share"].sum()
    np.testing.assert_allclose(shares, 1.0)
    for period, part in r.groupby("period"):
        sub = deals[(deals["status"] == "won") & (deals["closed"].dt.year == int(period))]
        expected = sub.groupby("channel")["amount"].sum()
        got = part.set_index("channel")["won_amount"]
        np.testing.assert_allclose(got[expected.index], expected, rtol=1e-12)


# --------------------------------------------------------------------------- pipeline
TIMELINE = [
    {
        "deal_id": "A",
        "status": "won",
        "amount": 100.0,
        "probability": 1.0,
        "created": "2024-01-10",
        "closed": "2024-03-05",
    },
    {
        "deal_id": "B",
        "status": "open",
        "amount": 200.0,
        "probability": 0.5,
        "created": "2024-02-01",
        "expected_close": "2024-04-15",
    },
    {
        "deal_id": "C",
        "status": "lost",
        "amount": 300.0,
        "probability": 0.0,
        "created": "2024-02-20",
        "closed": "2024-02-25",
    },
    {
        "deal_id": "D",
        "status": "open",
        "amount": 400.0,
        "probability": 0.25,
        "created": "2024-03-31",
        "expected_close": "2024-05-01",
    },
]


@pytest.mark.slow
def test_pipeline_as_of_on_a_hand_made_timeline():
    r = ck.pipeline(deals_from(TIMELINE), freq="M")
    got = r.set_index("period")[["open_count", "open_amount", "weighted_amount", "change_count", "change_amount"]]
    assert got.loc["2024-01"].tolist() == [1, 100.0, 100.0, 1, 100.0]
    assert got.loc["2024-02"].tolist() == [2, 300.0, 200.0, 1, 200.0]  # A, B; C opened and closed in Feb
    assert got.loc["2024-03"].tolist() == [2, 600.0, 200.0, 0, 300.0]  # B, D
    snap = ck.pipeline(deals_from(TIMELINE), as_of="2024-02-22")
    assert snap[["open_count", "open_amount"]].iloc[0].tolist() == [3, 600.0]  # A, B, C
    assert snap.attrs["channelkpi"]["as_of"] == "2024-02-22"


@pytest.mark.slow
def test_pipeline_waterfall_on_a_hand_made_timeline():
    r = ck.pipeline_waterfall(deals_from(TIMELINE), freq="M").set_index("period")
    cols = ["start", "created", "won", "lost", "end"]
    assert r.loc["2024-02", cols].tolist() == [100.0, 200.0, 0.0, 0.0, 300.0]
    assert r.loc["2024-03", cols].tolist() == [300.0, 400.0, 100.0, 0.0, 600.0]
    assert r.loc["2024-03", ["start_count", "created_count", "won_count", "lost_count", "end_count"]].tolist() == [
        2,
        1,
        1,
        0,
        2,
    ]


@pytest.mark.slow
def test_waterfall_balances_on_random_data():
    r = ck.pipeline_waterfall(make_deals(5000, partners=50, seed=4), by="partner", freq="M")
    np.testing.assert_allclose(r["start"] + r["created"] - r["won"] - r["lost"], r["end"], atol=1e-6)
    assert (r["start_count"] + r["created_count"] - r["won_count"] - r["lost_count"] == r["end_count"]).all()


@pytest.mark.slow
def test_pipeline_targets_attainment_and_coverage(tmp_path):
    deals = deals_from(
        [
            {
                "deal_id": "1",
                "partner": "Acme",
                "status": "won",
                "amount": 600.0,
                "created": "2024-01-02",
                "closed": "2024-02-01",
            },
            {
                "deal_id": "2",
                "partner": "Acme",
                "status": "open",
                "amount": 500.0,
                "created": "2024-02-01",
                "expected_close": "2024-05-15",
            },
            {
                "deal_id": "3",
                "partner": "Acme",
                "status": "open",
                "amount": 250.0,
                "created": "2024-03-01",
                "expected_close": "2024-08-01",
            },
        ]
    )
    path = tmp_path / "targets.csv"
    path.write_text('partner,quarter,target\nAcme,2024-Q1,1000\nAcme,2024-Q2,"$2,000.00 "\n')
    targets = ck.read_targets(path)
    r = ck.pipeline(deals, by="partner", freq="Q", targets=targets).set_index("period")
    assert r.loc["2024-Q1", "target"] == 1000.0 and r.loc["2024-Q1", "won_amount"] == 600.0
    assert r.loc["2024-Q1", "attainment"] == 0.6
    # coverage: open at the end of Q1 and expected in Q2 (deal 2: 500) / Q2 target (2000)
    assert r.loc["2024-Q1", "next_pipeline"] == 500.0 and r.loc["2024-Q1", "coverage"] == 0.25
    with pytest.raises(ck.ChannelKPIError, match="per \\['partner'\\], not per \\['unit'\\]"):
        ck.pipeline(deals, by="unit", freq="Q", targets=targets)
    with pytest.raises(ck.ChannelKPIError, match="spans more than one month"):
        ck.pipeline(deals, by="partner", freq="M", targets=targets)


def test_sample_targets_file_reads():
    from channelkpi.datasets import sample_path

    t = ck.read_targets(sample_path("targets"))
    assert {"partner", "period", "period_start", "period_end", "target"} <= set(t.columns)
    assert t["period_start"].min() == T("2024-01-01")


def test_read_targets_fiscal_labels_and_from_to():
    t = ck.read_targets(b"partner,period,target\nA,FY2027 Q1,10\nA,2025,20\nA,2025-03,30\n", fiscal_year_start=2)
    assert t["period_start"].tolist() == [T("2026-02-01"), T("2025-01-01"), T("2025-03-01")]
    assert t["period_end"].tolist() == [T("2026-04-30"), T("2025-12-31"), T("2025-03-31")]
    t = ck.read_targets(b'Goal Owner,Target,From,To\nEric,"$1,500,000.00 ",1/1/2025,3/31/2025\n')
    assert t[["owner", "target"]].values.tolist() == [["Eric", 1_500_000.0]]
    with pytest.raises(ck.ValueParseError, match="not a month, quarter or year") as info:
        ck.read_targets(b"partner,quarter,target\nA,soon,1\n")
    assert info.value.row == 2


def test_read_targets_names_the_row_of_a_bad_amount_or_date():
    with pytest.raises(ck.ValueParseError, match="a target is not an amount") as info:
        ck.read_targets(b"partner,quarter,target\nA,2025-Q1,10\nB,2025-Q1,ten\n")
    assert (info.value.row, info.value.column, info.value.value) == (3, "target", "ten")
    with pytest.raises(ck.ValueParseError, match="no readable From/To date") as info:
        ck.read_targets(b"partner,From,To,target\nA,1/1/2025,3/31/2025,1\nB,someday,3/31/2025,2\n")
    assert (info.value.row, info.value.column, info.value.value) == (3, "From", "someday")


# --------------------------------------------------------------------------- periods
@pytest.mark.slow
def test_fiscal_boundaries_february_start():
    deals = deals_from(
        [
            {"deal_id": "1", "status": "won", "amount": 1.0, "closed": "2026-01-31"},
            {"deal_id": "2", "status": "won", "amount": 1.0, "closed": "2026-02-01"},
            {"deal_id": "3", "status": "won", "amount": 1.0, "closed": "2026-04-30"},
            {"deal_id": "4", "status": "won", "amount": 1.0, "closed": "2026-05-01"},
            {"deal_id": "5", "status": "won", "amount": 1.0, "closed": "2027-01-31"},
        ]
    )
    q = ck.deal_count(deals, freq="Q", fiscal_year_start=2).set_index("period")
    assert q.loc["FY2026 Q4", "won_count"] == 1
    assert q.loc["FY2027 Q1", "won_count"] == 2
    assert (q.loc["FY2027 Q1", "period_start"], q.loc["FY2027 Q1", "period_end"]) == (T("2026-02-01"), T("2026-04-30"))
    assert q.loc["FY2027 Q2", "won_count"] == 1 and q.loc["FY2027 Q4", "won_count"] == 1
    y = ck.deal_count(deals, freq="Y", fiscal_year_start=2).set_index("period")
    assert y["won_count"].to_dict() == {"FY2026": 1, "FY2027": 4}


@pytest.mark.slow
def test_iso_weeks_and_calendar_labels():
    deals = deals_from(
        [
            {"deal_id": "1", "status": "won", "amount": 1.0, "closed": "2024-12-29"},  # Sunday, 2024-W52
            {"deal_id": "2", "status": "won", "amount": 1.0, "closed": "2024-12-30"},  # Monday, 2025-W01
        ]
    )
    w = ck.deal_count(deals, freq="W")
    assert w["period"].tolist() == ["2024-W52", "2025-W01"] and w["won_count"].tolist() == [1, 1]
    assert w["period_start"].tolist() == [T("2024-12-23"), T("2024-12-30")]


@pytest.mark.slow
def test_outcome_kpis_exclude_closed_deals_without_close_date_only_when_periods_apply():
    deals = deals_from(
        [
            {"deal_id": "1", "status": "won", "amount": 10.0, "closed": "2024-03-01"},
            {"deal_id": "2", "status": "lost", "amount": 10.0},
        ]
    )
    everything = ck.win_rate(deals)
    assert everything["n"].tolist() == [2]
    monthly = ck.win_rate(deals, freq="M")
    assert monthly["n"].tolist() == [1]
    assert monthly.attrs["channelkpi"]["excluded"] == {"no_close_date": 1}
    ranged = ck.win_rate(deals, start="2024-04-01")
    assert ranged["n"].tolist() == [0]
    assert ranged.attrs["channelkpi"]["excluded"] == {"no_close_date": 1, "outside_period": 1}


@pytest.mark.slow
def test_compare_previous_and_year():
    deals = deals_from(
        [
            {"deal_id": str(i), "status": "won", "amount": 10.0 * (i + 1), "closed": f"2024-{m:02d}-10"}
            for i, m in enumerate([1, 2, 2, 3, 3, 3])
        ]
    )
    r = ck.deal_count(deals, freq="M", compare="previous", start="2024-02-01", end="2024-03-31").set_index("period")
    assert r.index.tolist() == ["2024-02", "2024-03"]  # the lookback month is not shown
    assert r.loc["2024-02", ["won_count", "won_count_prev", "won_count_change"]].tolist() == [2, 1, 1]
    assert r.loc["2024-03", ["won_count", "won_count_prev", "won_count_change"]].tolist() == [3, 2, 1]
    y = ck.average_deal_size(deals, freq="Q", compare="year")
    assert y["avg_deal_size_prev"].isna().all()
    with pytest.raises(ck.ChannelKPIError, match="compare= needs periods"):
        ck.win_rate(deals, compare="previous")


# --------------------------------------------------------------------------- statistics
@pytest.mark.parametrize(
    ("won", "n", "low", "high"),
    [(12, 20, 0.3866, 0.7812), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (1, 2, 0.0945, 0.9055)],
)
@pytest.mark.slow
def test_wilson_bounds_against_known_values(won, n, low, high):
    deals = deals_from(
        [{"deal_id": f"w{i}", "status": "won", "closed": "2024-01-01"} for i in range(won)]
        + [{"deal_id": f"l{i}", "status": "lost", "closed": "2024-01-01"} for i in range(n - won)]
    )
    r = ck.win_rate(deals).iloc[0]
    assert (round(r["win_rate_low"], 4), round(r["win_rate_high"], 4)) == (low, high)
    assert r["win_rate_low"] <= r["win_rate"] <= r["win_rate_high"]


@pytest.mark.slow
def test_shrinkage_keeps_two_of_two_below_thirty_eight_of_fifty():
    rows = []

    def add(partner, won, lost):
        for i in range(won):
            rows.append(
                {
                    "deal_id": f"{partner}w{i}",
                    "partner": partner,
                    "status": "won",
                    "amount": 1000.0,
                    "closed": "2024-06-01",
                }
            )
        for i in range(lost):
            rows.append(
                {
                    "deal_id": f"{partner}l{i}",
                    "partner": partner,
                    "status": "lost",
                    "amount": 1000.0,
                    "closed": "2024-06-01",
                }
            )

    add("Tiny", 2, 0)
    add("Proven", 38, 12)
    for k, (w, lost) in enumerate([(20, 20), (15, 25), (22, 18), (10, 20), (30, 30), (12, 12), (8, 16), (25, 20)]):
        add(f"Peer{k}", w, lost)
    r = ck.quality_score(deals_from(rows)).set_index("partner")
    assert r.loc["Tiny", "win_rate"] == 1.0 and r.loc["Proven", "win_rate"] == 0.76
    assert r.loc["Tiny", "win_rate_shrunk"] < r.loc["Proven", "win_rate_shrunk"]
    assert r.loc["Proven", "rank"] == 1
    assert r["quality_score"].between(0, 100).all()
    assert r.attrs["channelkpi"]["weights"] == ck.DEFAULT_QUALITY_WEIGHTS
    assert "Beta(" in r.attrs["channelkpi"]["prior"]


@pytest.mark.slow
def test_quality_weights_are_an_argument():
    deals = make_deals(3000, partners=30, seed=2)
    only_count = ck.quality_score(deals, weights={"won_count": 1})
    best = only_count.sort_values("rank").iloc[0]
    assert best["won_count"] == only_count["won_count"].max()
    with pytest.raises(ck.ChannelKPIError, match="weights="):
        ck.quality_score(deals, weights={"charisma": 1})


@pytest.mark.slow
def test_seasonality_by_hand():
    deals = deals_from(
        [
            {"deal_id": "1", "unit": "EMEA", "status": "won", "closed": "2023-07-01"},
            {"deal_id": "2", "unit": "EMEA", "status": "won", "closed": "2024-07-09"},
            {"deal_id": "3", "unit": "EMEA", "status": "lost", "closed": "2024-01-09"},
            {"deal_id": "4", "unit": "APAC", "status": "lost", "closed": "2024-07-19"},
        ]
    )
    r = ck.seasonality(deals, by="unit")
    assert len(r) == 2 * 12
    emea_jul = row(r, unit="EMEA", month=7)
    assert (emea_jul["won_count"], emea_jul["n"], emea_jul["win_rate"]) == (2, 2, 1.0)
    assert emea_jul["expected_rate"] == pytest.approx(2 / 3)  # July across units: 2 won of 3
    assert emea_jul["group_rate"] == pytest.approx(2 / 3)  # EMEA over all months
    assert math.isnan(row(r, unit="APAC", month=3)["win_rate"])


# --------------------------------------------------------------------------- contract details
@pytest.mark.slow
def test_inputs_are_never_mutated():
    deals = make_deals(500, seed=1)
    before = deals.copy(deep=True)
    for fn in (
        ck.deal_count,
        ck.average_deal_size,
        ck.pipeline,
        ck.channel_performance,
        ck.win_rate,
        ck.deal_velocity,
        ck.quality_score,
        ck.deal_success,
        ck.kpi_table,
    ):
        fn(deals, freq="M")
    ck.seasonality(deals, by="unit")
    ck.pipeline_waterfall(deals)
    pd.testing.assert_frame_equal(deals, before)


@pytest.mark.slow
def test_empty_selection_gives_an_empty_typed_table():
    deals = make_deals(300, seed=1)
    r = ck.kpi_table(deals, by="partner", freq="M", where={"partner": ["nobody"]})
    assert len(r) == 0 and "win_rate" in r.columns and "period" in r.columns
    assert r.attrs["channelkpi"]["excluded"]["filtered_out"] == 300
    empty = ck.win_rate(ck.empty_deals(), by="partner", freq="Q")
    assert len(empty) == 0 and list(empty.columns[:2]) == ["partner", "period"]
    assert len(ck.win_rate(ck.empty_deals())) == 1  # the whole range: one row of zeros and NaN
    for fn in (ck.kpi_table, ck.pipeline, ck.deal_success, ck.quality_score):
        typed = fn(ck.empty_deals(), by="partner", freq="M")
        full = fn(deals, by="partner", freq="M")
        assert typed.dtypes.to_dict() == full.dtypes.to_dict(), fn.__name__


@pytest.mark.slow
def test_filtering_to_one_partner_equals_its_row_of_the_grouped_result():
    deals = make_deals(4000, partners=40, seed=9)
    grouped = ck.kpi_table(deals, by="partner", freq="Q")
    partner = deals["partner"].iloc[0]
    alone = ck.kpi_table(deals, freq="Q", where={"partner": partner})
    mine = grouped[grouped["partner"] == partner].drop(columns=["partner"])
    both = mine.merge(alone, on="period", how="left", suffixes=("", "_alone"))
    # the grouped table spans every partner's periods; where this partner has none, it shows zeros
    extra = both["won_count_alone"].isna()
    assert (both.loc[extra, ["won_count", "created_count", "lost_count"]] == 0).all().all()
    both = both[~extra]
    assert len(both) == len(alone)
    for col in [
        "won_count",
        "won_amount",
        "open_count",
        "open_amount",
        "win_rate",
        "avg_deal_size",
        "cycle_days_median",
        "success_rate",
    ]:
        np.testing.assert_allclose(
            both[f"{col}_alone"].to_numpy(float), both[col].to_numpy(float), rtol=1e-12, err_msg=col
        )


@pytest.mark.slow
def test_explain_every_kpi():
    for name in (
        "average_deal_size",
        "deal_count",
        "pipeline",
        "pipeline_waterfall",
        "channel_performance",
        "win_rate",
        "seasonality",
        "deal_velocity",
        "quality_score",
        "deal_success",
        "kpi_table",
    ):
        text = ck.explain(name)
        assert f"channelkpi.{name}" in text and "formula:" in text and "date:" in text and "window:" in text
    r = ck.win_rate(deals_from(HAND), freq="M")
    text = ck.explain(r)
    assert text.endswith("rows:      6 in the table, 5 used; excluded: not_closed 1")
    with pytest.raises(ck.ChannelKPIError, match="no KPI called"):
        ck.explain("happiness")


@pytest.mark.slow
def test_bad_options_are_clear_errors():
    deals = make_deals(100, seed=1)
    for kwargs, message in [
        ({"by": "region"}, "not a level"),
        ({"freq": "D"}, "not a period"),
        ({"fiscal_year_start": 13}, "not a month"),
        ({"start": "2024-05-01", "end": "2024-01-01"}, "is after"),
        ({"start": "someday"}, "not a date"),
        ({"where": {"planet": ["x"]}}, "not a deals column"),
    ]:
        with pytest.raises(ck.ChannelKPIError, match=message):
            ck.win_rate(deals, **kwargs)
    with pytest.raises(ck.SchemaError, match=r"missing required column\(s\) \['status'\]"):
        ck.win_rate(pd.DataFrame({"deal_id": ["a"], "stage": ["Closed Won"]}))
    with pytest.raises(ck.SchemaError, match=r"also has 'Closed Won' \(1 rows\)"):
        ck.win_rate(pd.DataFrame({"deal_id": ["a", "b"], "status": ["Closed Won", "won"]}))
    # a minimal table is enough: absent optional columns count as empty
    minimal = ck.win_rate(pd.DataFrame({"deal_id": ["a", "b"], "status": ["won", "lost"]}))
    assert minimal[["won_count", "lost_count", "win_rate"]].iloc[0].tolist() == [1, 1, 0.5]


# --------------------------------------------------------------------------- independent references
class Reference:
    """Plain-Python KPIs per (partner, month), straight from the contract's wording."""

    def __init__(self, deals: pd.DataFrame):
        self.rows = deals.to_dict("records")

    @staticmethod
    def month(ts):
        return None if pd.isna(ts) else (ts.year, ts.month)

    def table(self) -> dict:
        out = defaultdict(lambda: defaultdict(float))
        won_amounts, cycles = defaultdict(list), defaultdict(list)
        for r in self.rows:
            p = r["partner"]
            if r["status"] in ("won", "lost") and not pd.isna(r["closed"]):
                k = (p, self.month(r["closed"]))
                out[k][f"{r['status']}_count"] += 1
                if r["status"] == "won" and not pd.isna(r["amount"]):
                    out[k]["won_amount"] += r["amount"]
                    won_amounts[k].append(r["amount"])
                if r["status"] == "won" and not pd.isna(r["created"]) and r["closed"] >= r["created"]:
                    cycles[k].append((r["closed"] - r["created"]).days)
            if not pd.isna(r["created"]):
                k = (p, self.month(r["created"]))
                out[k]["created_count"] += 1
                out[k][f"cohort_{r['status']}"] += 1
        for k, values in won_amounts.items():
            out[k]["avg_deal_size"] = sum(values) / len(values)
            out[k]["median_deal_size"] = statistics.median(values)
        for k, values in cycles.items():
            out[k]["cycle_days_median"] = statistics.median(values)
            out[k]["cycle_days_mean"] = statistics.mean(values)
        return out

    def open_at(self, partner, month_end) -> tuple[int, float]:
        n, amount = 0, 0.0
        for r in self.rows:
            if r["partner"] != partner or pd.isna(r["created"]) or r["created"] > month_end:
                continue
            if not pd.isna(r["closed"]) and r["closed"] < r["created"]:
                continue  # closed before created: never open
            if r["status"] != "open" and pd.isna(r["closed"]):
                continue  # closed at an unknown date
            if pd.isna(r["closed"]) or r["closed"] > month_end:
                n += 1
                amount += 0.0 if pd.isna(r["amount"]) else r["amount"]
        return n, amount


def messy_deals(seed=3) -> pd.DataFrame:
    """Sparse (many partners, few deals each) with the awkward cases mixed in."""
    deals = make_deals(2500, partners=400, months=24, seed=seed).copy()
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(deals), 60, replace=False)
    deals.loc[idx[:15], "amount"] = np.nan
    deals.loc[idx[15:30], "created"] = pd.NaT
    closed_rows = deals.index[deals["status"] != "open"]
    lost_no_date = rng.choice(closed_rows, 10, replace=False)
    deals.loc[lost_no_date, "closed"] = pd.NaT
    cbc = rng.choice(closed_rows.difference(lost_no_date), 10, replace=False)
    deals.loc[cbc, "created"] = deals.loc[cbc, "closed"] + pd.Timedelta(days=5)
    return ck.validate_deals(deals)


@pytest.mark.slow
def test_kpi_table_matches_a_plain_python_reference_on_messy_sparse_data():
    deals = messy_deals()
    ref = Reference(deals)
    expected = ref.table()
    got = ck.kpi_table(deals, by="partner", freq="M")
    assert len(got) == deals["partner"].nunique() * got["period"].nunique()
    checked = 0
    for r in got.itertuples(index=False):
        k = (r.partner, (r.period_start.year, r.period_start.month))
        e = expected.get(k, {})
        assert r.won_count == e.get("won_count", 0)
        assert r.lost_count == e.get("lost_count", 0)
        assert r.created_count == e.get("created_count", 0)
        assert r.won_amount == pytest.approx(e.get("won_amount", 0.0), abs=0.005)
        for col in ("avg_deal_size", "median_deal_size", "cycle_days_median", "cycle_days_mean"):
            value = getattr(r, col)
            if col in e:
                assert value == pytest.approx(e[col], rel=1e-12), (k, col)
            else:
                assert math.isnan(value), (k, col)
        n = e.get("won_count", 0) + e.get("lost_count", 0)
        assert math.isnan(r.win_rate) if n == 0 else r.win_rate == pytest.approx(e["won_count"] / n)
        created = e.get("created_count", 0)
        assert (
            math.isnan(r.success_rate)
            if created == 0
            else r.success_rate == pytest.approx(e.get("cohort_won", 0) / created)
        )
        checked += 1
    assert checked > 5000
    # the as-of pipeline for a few partners and months
    for partner in deals["partner"].drop_duplicates().head(8):
        for period_end in got["period_end"].drop_duplicates().iloc[::5]:
            n, amount = ref.open_at(partner, period_end)
            r = got[(got["partner"] == partner) & (got["period_end"] == period_end)].iloc[0]
            assert (r["open_count"], round(r["open_amount"], 2)) == (n, round(amount, 2))


@pytest.mark.slow
def test_win_rate_matches_duckdb_sql_with_a_fiscal_year():
    deals = messy_deals(seed=6)
    got = ck.win_rate(deals, by="unit", freq="Q", fiscal_year_start=4)
    con = duckdb.connect()
    con.register("d", deals.assign(status=deals["status"].astype(str)))
    sql = con.execute("""
        SELECT unit,
               -- fiscal quarter starting in April: shift the month back by 3
               year(closed - INTERVAL 3 MONTH) AS fy_start_year,
               (month(closed - INTERVAL 3 MONTH) - 1) // 3 + 1 AS fq,
               count(*) FILTER (WHERE status = 'won') AS won,
               count(*) AS n
        FROM d WHERE status IN ('won', 'lost') AND closed IS NOT NULL
        GROUP BY ALL
    """).df()
    for r in sql.itertuples(index=False):
        label = f"FY{r.fy_start_year + 1} Q{r.fq}"
        mine = got[(got["unit"] == r.unit) & (got["period"] == label)].iloc[0]
        assert (mine["won_count"], mine["n"]) == (r.won, r.n)
        assert mine["win_rate"] == pytest.approx(r.won / r.n)
    assert got["n"].sum() == sql["n"].sum()


@pytest.mark.parametrize(
    "kpi",
    [
        "deal_count",
        "average_deal_size",
        "pipeline",
        "channel_performance",
        "win_rate",
        "deal_velocity",
        "quality_score",
        "deal_success",
        "kpi_table",
        "pipeline_waterfall",
    ],
)
@pytest.mark.parametrize(
    "options",
    [
        {"by": "partner", "freq": "M"},
        {"by": ["unit", "channel"], "freq": "Q", "start": "2023-05-17", "end": "2024-08"},
        {"by": "owner"},
        {"freq": "W", "fiscal_year_start": 3},
    ],
)
@pytest.mark.slow
def test_duckdb_and_pandas_stage_one_give_identical_numbers(kpi, options):
    deals = messy_deals(seed=12)
    fn = getattr(ck, kpi)
    if kpi == "pipeline_waterfall" and "freq" not in options:
        options = {**options, "freq": "M"}
    a = fn(deals, engine="auto", **options)
    b = fn(deals, engine="pandas", **options)
    assert a.attrs["channelkpi"]["engine"] == "duckdb" and b.attrs["channelkpi"]["engine"] == "pandas"
    pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-12)


# --------------------------------------------------------------------------- real exports
@pytest.mark.realdata
@pytest.mark.slow
def test_salesforce_real_win_rate(realdata):
    deals = ck.read_crm(realdata("salesforce-devorg-powerbi/data/Opportunity.csv"))
    r = ck.win_rate(deals).iloc[0]
    assert (r["won_count"], r["lost_count"], r["n"]) == (12, 8, 20)
    assert round(r["win_rate"], 3) == 0.600


@pytest.mark.realdata
@pytest.mark.slow
def test_dynamics_real_win_rate_and_won_amount(realdata):
    deals = ck.read_crm(realdata("d365-contoso-coffee/data/Opportunity.csv"))
    r = ck.win_rate(deals).iloc[0]
    assert (r["won_count"], r["lost_count"]) == (1914, 2794)
    assert round(r["win_rate"], 4) == 0.4065
    size = ck.average_deal_size(deals).iloc[0]
    assert size["won_amount"] == pytest.approx(72_459_852.17, abs=0.005)
    # 45 lost deals have no close date: counted overall, excluded once periods apply
    monthly = ck.win_rate(deals, freq="M")
    assert monthly["n"].sum() == 1914 + 2794 - 45
    assert monthly.attrs["channelkpi"]["excluded"]["no_close_date"] == 45


@pytest.mark.slow
def test_a_month_as_end_covers_the_whole_month():
    deals = deals_from(
        [
            {"deal_id": "1", "status": "won", "amount": 1.0, "closed": "2025-12-20"},
            {"deal_id": "2", "status": "won", "amount": 1.0, "closed": "2025-12-31"},
            {"deal_id": "3", "status": "won", "amount": 1.0, "closed": "2025-12-10"},
        ]
    )
    # "2025-12" ends on 31 December: a start inside that month is not after it
    assert ck.deal_count(deals, start="2025-12-15", end="2025-12")["won_count"].tolist() == [2]


@pytest.mark.slow
def test_a_filter_that_keeps_no_deal_gives_zeros_not_an_error():
    deals = make_deals(200, seed=4)
    for table in (deals, ck.prepare(deals)):
        out = ck.kpi_table(table, where={"partner": ["nobody"]})
        assert len(out) == 1
        assert out[["won_count", "created_count", "open_count"]].iloc[0].tolist() == [0, 0, 0]
        assert out.attrs["channelkpi"]["excluded"]["filtered_out"] == 200


@pytest.mark.parametrize("engine", ["auto", "pandas", "prepared"])
@pytest.mark.slow
def test_weeks_before_1970_are_the_calendar_weeks_on_every_engine(engine):
    deals = deals_from(
        [
            {"deal_id": "1", "status": "won", "amount": 1.0, "closed": "1969-12-27"},  # Saturday of 1969-W52
            {"deal_id": "2", "status": "lost", "amount": 1.0, "closed": "1969-12-28"},  # its Sunday
            {"deal_id": "3", "status": "won", "amount": 1.0, "closed": "1969-12-30"},  # Tuesday of 1970-W01
        ]
    )
    table = ck.prepare(deals) if engine == "prepared" else deals
    got = ck.win_rate(table, freq="W", **({} if engine == "prepared" else {"engine": engine}))
    assert got[["period", "won_count", "n"]].values.tolist() == [["1969-W52", 1, 2], ["1970-W01", 1, 1]]
