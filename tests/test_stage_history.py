"""Stage funnel, time in stage and slipped deals from a deal history.

Expected tables are worked out by hand (a comment per deal) or recomputed in plain Python from
the same states on random histories; the deals behind every count reproduce it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import channelkpi as ck
from channelkpi.errors import ChannelKPIError
from channelkpi.history import History, make_intervals
from channelkpi.metrics.funnel import FUNNEL_MEASURES
from channelkpi.metrics.survival import kaplan_meier, survival_quantile
from channelkpi.schema import validate_deals

OUTCOMES = ["advanced", "moved_back", "won", "lost", "removed", "still_there"]
CLOSED = {"won": "Closed Won", "lost": "Closed Lost"}


def history_from(paths: dict, *, partners: dict, as_of: str, stages=("Qualify", "Propose", "Negotiate")) -> History:
    """A History from ``{deal: [(instant, state, extra...), ...]}``; a state is an open stage,
    ``"won"``, ``"lost"`` or ``"removed"`` (the last values carried)."""
    rows, last = [], {}
    for deal, states in paths.items():
        prev = None
        for t, state, *extra in states:
            extra = extra[0] if extra else {}
            row = {
                "deal_id": deal,
                "valid_from": pd.Timestamp(t),
                "partner": partners[deal],
                "amount": 100.0,
                "removed": False,
            }
            if state == "removed":
                row.update({k: v for k, v in prev.items() if k not in ("valid_from", "removed")}, removed=True)
                row["valid_from"] = pd.Timestamp(t)
            elif state in CLOSED:
                row.update(status=state, stage=CLOSED[state], closed=pd.Timestamp(t))
            else:
                row.update(status="open", stage=state)
            row.update(extra)
            rows.append(row)
            prev = row
        last[deal] = prev
    deals = validate_deals(
        pd.DataFrame(
            {
                "deal_id": list(last),
                "status": [r.get("status", "open") for r in last.values()],
                "partner": [r["partner"] for r in last.values()],
            }
        )
    )
    return History(
        intervals=make_intervals(pd.DataFrame(rows)),
        deals=deals,
        ledger=pd.DataFrame(),
        source="test",
        known=frozenset({"stage", "status", "amount", "expected_close"}),
        stages=None if stages is None else (*stages, "Closed Won", "Closed Lost"),
        as_of=pd.Timestamp(as_of),
    )


# --------------------------------------------------------------------------- a hand-built history
Q, P, N = "Qualify", "Propose", "Negotiate"
PATHS = {
    "D1": [("2025-01-01", Q), ("2025-01-10", P), ("2025-01-20", N), ("2025-02-01", "won")],  # straight through
    "D2": [("2025-01-02", Q), ("2025-01-15", P), ("2025-02-10", "lost")],
    "D3": [("2025-01-03", Q), ("2025-01-12", N), ("2025-01-25", P), ("2025-03-01", "won")],  # skips P, moves back
    "D4": [("2025-01-04", Q)],  # still in Qualify
    "D5": [("2025-01-05", P), ("2025-02-01", N)],  # enters at Propose, still in Negotiate
    "D6": [("2025-01-06", Q), ("2025-01-16", P), ("2025-02-01", "removed")],  # deleted in Propose
    "D7": [
        ("2025-01-07", Q),
        ("2025-01-17", P),
        ("2025-01-27", Q),  # back to Qualify
        ("2025-02-05", P),
        ("2025-02-15", N),
        ("2025-03-10", "lost"),
    ],
    "D8": [("2025-01-08", Q), ("2025-01-18", "lost")],
    # an amount change inside Propose is not a new visit
    "D9": [("2025-01-09", Q), ("2025-01-19", P), ("2025-01-29", P, {"amount": 250.0})],
    "D10": [("2025-01-10", Q), ("2025-01-20", "won"), ("2025-02-01", P)],  # won, then reopened
}
PARTNERS = {f"D{i}": "Acme" if i <= 5 else "Beta" for i in range(1, 11)}


@pytest.fixture
def hand():
    return history_from(PATHS, partners=PARTNERS, as_of="2025-06-01")


def test_the_funnel_of_the_hand_built_history(hand):
    table = ck.stage_funnel(hand)
    cols = ["stage", "entered", *OUTCOMES, "visits", "entered_in_order"]
    expected = pd.DataFrame(
        [
            # Qualify: advanced D1 D2 D3 (to N) D6 D7 (its last visit) D9; won D10; lost D8; still D4;
            # visits: D7 twice; in order: every deal entering the first step
            [Q, 9, 6, 0, 1, 1, 0, 1, 10, 9],
            # Propose: advanced D1 D5 D7 (last visit; its first went back); won D3; lost D2; removed D6;
            # still D9 D10; in order (Qualify before): all but D5
            [P, 8, 3, 0, 1, 1, 1, 2, 9, 7],
            # Negotiate: won D1, moved back D3, lost D7, still D5; in order Q > P > N: D1 and D7 only
            # (D3 reached Propose after Negotiate)
            [N, 4, 0, 1, 1, 1, 0, 1, 4, 2],
        ],
        columns=cols,
    )
    pd.testing.assert_frame_equal(table[cols], expected, check_dtype=False)
    assert table["step"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(table["step_conversion"], [6 / 9, 3 / 8, 0 / 4])
    np.testing.assert_allclose(table["cumulative_conversion"], [1, 7 / 9, 2 / 9])
    assert table.attrs["channelkpi"]["stage_order_source"] == "crm"


def test_the_funnel_by_partner_and_a_cohort(hand):
    table = ck.stage_funnel(hand, by="partner").set_index(["partner", "stage"])
    # Acme (D1-D5): Qualify D1 D2 D3 advanced, D4 still; Propose D1 D5 advanced, D2 lost, D3 won;
    # Negotiate D1 won, D3 back, D5 still. Beta (D6-D10): Qualify D6 D7 D9 advanced, D8 lost, D10 won;
    # Propose D6 removed, D7 advanced, D9 D10 still; Negotiate D7 lost
    assert table.loc[("Acme", Q), ["entered", "advanced", "still_there"]].tolist() == [4, 3, 1]
    assert table.loc[("Acme", P), ["entered", "advanced", "won", "lost", "entered_in_order"]].tolist() == [
        4,
        2,
        1,
        1,
        3,
    ]
    assert table.loc[("Acme", N), ["entered", "won", "moved_back", "still_there", "entered_in_order"]].tolist() == [
        3,
        1,
        1,
        1,
        1,
    ]
    assert table.loc[("Beta", Q), ["entered", "advanced", "won", "lost"]].tolist() == [5, 3, 1, 1]
    assert table.loc[("Beta", P), ["entered", "advanced", "removed", "still_there", "entered_in_order"]].tolist() == [
        4,
        1,
        1,
        2,
        4,
    ]
    assert table.loc[("Beta", N), ["entered", "lost", "entered_in_order"]].tolist() == [1, 1, 1]
    # the cohort of deals that entered the pipeline 5-7 January: D5 (at Propose), D6, D7
    cohort = ck.stage_funnel(hand, start="2025-01-05", end="2025-01-07").set_index("stage")
    assert cohort["entered"].tolist() == [2, 3, 2]
    assert ck.funnel_deals(hand, stage=N, start="2025-01-05", end="2025-01-07")["deal_id"].tolist() == ["D5", "D7"]


def test_the_deals_behind_the_hand_built_funnel(hand):
    moved = ck.funnel_deals(hand, stage=N, measure="moved_back")
    assert moved[["deal_id", "next_stage"]].values.tolist() == [["D3", P]]
    still = ck.funnel_deals(hand, stage=P, measure="still_there")
    # D9 entered Propose at 100 and is at 250 now
    assert still[["deal_id", "amount_entered", "amount_left"]].values.tolist() == [
        ["D9", 100.0, 250.0],
        ["D10", 100.0, 100.0],
    ]
    assert pd.isna(still["left"]).all()
    assert ck.funnel_deals(hand, stage=1, measure="visits")["visits"].sum() == 10
    beta_p = ck.funnel_deals(hand, by="partner", group="Beta", stage=P, measure="entered_in_order")
    assert sorted(beta_p["deal_id"]) == ["D10", "D6", "D7", "D9"]


def test_the_stage_order_without_one_is_the_median_entry_and_says_so(hand):
    bare = History(**{**hand.__dict__, "stages": None})
    table = ck.stage_funnel(bare)
    # median entry: Qualify 2025-01-07, Propose 2025-01-19, Negotiate 2025-02-01
    assert table["stage"].tolist() == [Q, P, N]
    meta = table.attrs["channelkpi"]
    assert meta["stage_order_source"] == "median entry"
    assert "pass stages=" in meta["warnings"][0]
    mine = ck.stage_funnel(hand, stages=[P, Q])  # Negotiate missing: added after, with a warning
    assert mine["stage"].tolist() == [P, Q, N]
    assert "not in the stage order" in mine.attrs["channelkpi"]["warnings"][0]
    # Qualify now comes after Propose: D7 going Propose -> Qualify advanced, D3 Qualify -> Negotiate too
    assert ck.funnel_deals(hand, stages=[P, Q], stage=P, measure="moved_back").empty


def test_bad_options_say_how_to_fix_them(hand):
    with pytest.raises(ChannelKPIError, match="by='stage'"):
        ck.stage_funnel(hand, by="stage")
    with pytest.raises(ChannelKPIError, match="not a funnel count"):
        ck.funnel_deals(hand, stage=Q, measure="won_amount")
    with pytest.raises(ChannelKPIError, match="not a step"):
        ck.funnel_deals(hand, stage="Closed Won")
    with pytest.raises(ChannelKPIError, match="History"):
        ck.stage_funnel(hand.deals)
    with pytest.raises(ChannelKPIError, match="freq=None"):
        ck.slipped_deals(hand, freq=None)


def test_explain_prints_the_three_definitions():
    funnel = ck.explain("stage_funnel")
    assert "entered = moved on + moved back + won + lost + removed + still there" in funnel
    assert "Kaplan-Meier" in ck.explain("time_in_stage")
    assert "later period" in ck.explain("slipped_deals")


# --------------------------------------------------------------------------- Kaplan–Meier
def test_kaplan_meier_on_the_textbook_example():
    # Freireich et al. (1963), 6-MP arm, weeks of remission (* censored), as in Kleinbaum & Klein:
    # 6 6 6 6* 7 9* 10 10* 11* 13 16 17* 19* 20* 22 23 25* 32* 32* 34* 35*
    weeks = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
    relapsed = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    curve = kaplan_meier(weeks, np.array(relapsed, bool))
    # by hand, t: at risk, relapses, S = product of (1 - d/n):
    #  6: 21, 3, 18/21 = .8571     7: 17, 1, x 16/17 = .8067    10: 15, 1, x 14/15 = .7529
    # 13: 12, 1, x 11/12 = .6902  16: 11, 1, x 10/11 = .6275    22:  7, 1, x 6/7  = .5378
    # 23:  6, 1, x 5/6 = .4482  (the week-6 censored deal is at risk at 6: 21, not 20)
    s = np.cumprod([18 / 21, 16 / 17, 14 / 15, 11 / 12, 10 / 11, 6 / 7, 5 / 6])
    assert curve["time"].tolist() == [6, 7, 10, 13, 16, 22, 23]
    assert curve["at_risk"].tolist() == [21, 17, 15, 12, 11, 7, 6]
    np.testing.assert_allclose(curve["survival"], s)
    np.testing.assert_allclose(s[-2:], [0.5378, 0.4482], atol=1e-4)
    assert survival_quantile(curve, 0.5) == 23  # the textbook's median remission
    assert math.isnan(survival_quantile(curve, 0.75))  # S never falls to 0.25
    # treating the censored weeks as relapses instead: the 11th of 21 sorted weeks, 16 -- the bias avoided
    assert survival_quantile(kaplan_meier(weeks, np.ones(21, bool)), 0.5) == 16


def test_kaplan_meier_edge_cases():
    assert kaplan_meier([3.0, 5.0], [False, False]).empty  # nothing finished: no curve, no median
    assert math.isnan(survival_quantile(kaplan_meier([3.0], [False]), 0.5))
    # S falls to exactly 0.5 and 0.25: those times are the quantiles
    curve = kaplan_meier([1, 2, 3, 4], [True] * 4)
    assert (survival_quantile(curve, 0.5), survival_quantile(curve, 0.75)) == (2.0, 3.0)
    with pytest.raises(ChannelKPIError, match="cannot be measured"):
        kaplan_meier([1.0, -2.0], [True, True])


def test_time_in_stage_of_the_hand_built_history(hand):
    table = ck.time_in_stage(hand).set_index("stage")
    # Negotiate: D1 12 days (won), D3 13 (back), D7 23 (lost), D5 since 2025-02-01: 120 days, censored.
    # S(12) = 3/4, S(13) = 3/4 x 2/3 = 1/2 -> median 13; S(23) = 1/2 x 1/2 = 1/4 -> 75th percentile 23
    assert table.loc[N, ["visits", "finished", "censored", "removed"]].tolist() == [4, 3, 1, 0]
    assert table.loc[N, ["median_days", "p75_days"]].tolist() == [13.0, 23.0]
    # Propose: finished D1 10, D7 10 and 10, D2 26, D5 27, D3 35; censored D9 133, D10 120; D6 removed
    # after 16. S(10) = 6/9; at 26, 5 at risk (26 27 35 133 120): x 4/5 = 8/15 = .533; S(27) = 8/15 x 3/4
    # = .4 -> median 27; S(35) = .4 x 2/3 = .267 > .25 -> no 75th percentile
    assert table.loc[P, ["visits", "finished", "censored", "removed"]].tolist() == [9, 6, 2, 1]
    assert table.loc[P, "median_days"] == 27.0 and math.isnan(table.loc[P, "p75_days"])
    assert table.loc[P, ["finished_min_days", "finished_max_days"]].tolist() == [10.0, 35.0]
    # the still-open visit is never counted as finished
    visits = ck.stage_visits(hand, stage=N)
    assert visits.loc[visits["deal_id"].eq("D5"), ["days", "finished"]].values.tolist() == [[120.0, False]]


# --------------------------------------------------------------------------- slips by hand
@pytest.mark.slow
def test_slipped_deals_by_hand():
    ec = "expected_close"
    paths = {
        # into April at 20 March (+15, amount 1000); into May at midnight 1 April, so in April (+46, 900)
        "S1": [
            ("2025-03-01", P, {ec: "2025-03-31", "amount": 1000.0, "currency": "USD"}),
            ("2025-03-20 10:00", P, {ec: "2025-04-15", "amount": 1000.0, "currency": "USD"}),
            ("2025-04-01 00:00", P, {ec: "2025-05-31", "amount": 900.0, "currency": "USD"}),
        ],
        # moved within March: not a slip
        "S2": [
            ("2025-03-01", P, {ec: "2025-03-10", "currency": "USD"}),
            ("2025-03-05", P, {ec: "2025-03-25", "currency": "USD"}),
        ],
        # pulled in: not a slip
        "S3": [
            ("2025-03-01", P, {ec: "2025-05-31", "currency": "USD"}),
            ("2025-04-10", P, {ec: "2025-04-30", "currency": "USD"}),
        ],
        # into June on 20 April: +61 days, 500 EUR
        "S4": [
            ("2025-03-01", P, {ec: "2025-04-30", "amount": 500.0, "currency": "EUR"}),
            ("2025-04-20", P, {ec: "2025-06-30", "amount": 500.0, "currency": "EUR"}),
        ],
        # a date moved when the deal was won: not a slip
        "S5": [
            ("2025-03-01", P, {ec: "2025-03-31", "currency": "USD"}),
            ("2025-03-15", "won", {ec: "2025-04-30", "currency": "USD"}),
        ],
        # gone 5-12 April, back with a date a month later: compared across the gap, +31, 200 USD
        "S6": [
            ("2025-03-01", P, {ec: "2025-04-30", "amount": 200.0, "currency": "USD"}),
            ("2025-04-05", "removed"),
            ("2025-04-12", P, {ec: "2025-05-31", "amount": 200.0, "currency": "USD"}),
        ],
    }
    partners = {"S1": "Acme", "S2": "Acme", "S3": "Acme", "S4": "Beta", "S5": "Acme", "S6": "Acme"}
    history = history_from(paths, partners=partners, as_of="2025-04-30")
    table = ck.slipped_deals(history, by="partner")
    cols = ["partner", "currency", "period", "slipped_count", "slips", "slip_days", "slipped_amount_cents"]
    expected = [
        ["Acme", "USD", "2025-03", 1, 1, 15, 100000],
        ["Acme", "USD", "2025-04", 2, 2, 77, 110000],
        ["Beta", "EUR", "2025-03", 0, 0, 0, 0],
        ["Beta", "EUR", "2025-04", 1, 1, 61, 50000],
    ]
    assert table[cols].values.tolist() == expected
    assert table["slipped_amount"].tolist() == [1000.0, 1100.0, 0.0, 500.0]
    slips = ck.slip_deals(history, by="partner", period="2025-03")
    assert slips[["deal_id", "days", "amount_cents", "counted"]].values.tolist() == [
        ["S1", 15, 100000, True],
    ]
    # quarterly: S1's first move (31 Mar -> 15 Apr) leaves Q1, its second stays in Q2; S4 (30 Apr ->
    # 30 Jun) and S6 (30 Apr -> 31 May) stay in Q2: one slip
    quarters = ck.slip_deals(history, freq="Q")
    assert quarters[["deal_id", "period", "days"]].values.tolist() == [["S1", "2025-Q1", 15]]
    # April only: S4 (EUR); S6 and S1 (its change at midnight 1 April is April's) in USD
    april = ck.slipped_deals(history, start="2025-04-01", end="2025-04-30")
    assert april[["currency", "period", "slips", "slip_days"]].values.tolist() == [
        ["EUR", "2025-04", 1, 61],
        ["USD", "2025-04", 2, 77],
    ]


# --------------------------------------------------------------------------- random histories
STAGES = ("Q", "P", "N")


@st.composite
def histories(draw):
    n = draw(st.integers(1, 12))
    paths, partners = {}, {}
    base = datetime(2025, 1, 1)
    for i in range(n):
        t = base + timedelta(hours=draw(st.integers(0, 24 * 60)))
        states = []
        for j in range(draw(st.integers(1, 7))):
            kinds = ["Q", "P", "N", "won", "lost"] + (["removed"] if j else [])
            kind = draw(st.sampled_from(kinds))
            ec = (base + timedelta(days=draw(st.integers(0, 200)))).strftime("%Y-%m-%d")
            amount = float(draw(st.integers(0, 10_000)))
            currency = draw(st.sampled_from(["USD", "EUR"]))
            states.append((t, kind, {"expected_close": ec, "amount": amount, "currency": currency}))
            t = t + timedelta(hours=draw(st.integers(1, 24 * 40)))
        paths[f"R{i}"] = states
        partners[f"R{i}"] = draw(st.sampled_from(["Acme", "Beta"]))
    as_of = max(s[-1][0] for s in paths.values()) + timedelta(days=draw(st.integers(0, 30)))
    return history_from(paths, partners=partners, as_of=str(as_of), stages=STAGES), paths, partners


def plain_visits(paths, as_of):
    """Every open-stage visit in plain Python: (deal, stage, entered, left, outcome)."""
    out = []
    for deal, states in paths.items():
        segs = []
        for t, kind, _ in states:
            if segs and segs[-1][0] == kind:
                continue
            segs.append([kind, t])
        for i, (kind, t) in enumerate(segs):
            if kind not in STAGES:
                continue
            nxt = segs[i + 1] if i + 1 < len(segs) else None
            if nxt is None:
                outcome, left = "still_there", None
            elif nxt[0] in ("won", "lost", "removed"):
                outcome, left = nxt[0], nxt[1]
            else:
                outcome = "advanced" if STAGES.index(nxt[0]) > STAGES.index(kind) else "moved_back"
                left = nxt[1]
            out.append((deal, kind, t, left, outcome))
    return out


def plain_funnel(paths, partners, as_of):
    visits = plain_visits(paths, as_of)
    table = {}
    for deal in paths:
        mine = [v for v in visits if v[0] == deal]
        for k, stage in enumerate(STAGES):
            here = [v for v in mine if v[1] == stage]
            if not here:
                continue
            cell = table.setdefault(
                (partners[deal], stage), dict.fromkeys(["entered", *OUTCOMES, "visits", "in_order"], 0)
            )
            cell["entered"] += 1
            cell["visits"] += len(here)
            cell[max(here, key=lambda v: v[2])[4]] += 1
            # in order: some visit to each of stages 0..k at strictly increasing times (brute force)
            reachable = [v[2] for v in mine if v[1] == STAGES[0]]
            for s in STAGES[1 : k + 1]:
                reachable = [v[2] for v in mine if v[1] == s and any(v[2] > r for r in reachable)]
            cell["in_order"] += bool(reachable)
    return table


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(SETTINGS, max_examples=15)  # 27 deals-behind calls per example
@given(histories())
@pytest.mark.slow
def test_the_funnel_matches_plain_python_and_its_deals(case):
    history, paths, partners = case
    table = ck.stage_funnel(history, by="partner", stages=list(STAGES))
    expected = plain_funnel(paths, partners, history.as_of)
    for row in table.itertuples(index=False):
        cell = expected.get((row.partner, row.stage), dict.fromkeys(["entered", *OUTCOMES, "visits", "in_order"], 0))
        got = {c: getattr(row, c) for c in ["entered", *OUTCOMES, "visits"]} | {"in_order": row.entered_in_order}
        assert got == cell, (row.partner, row.stage)
        # the properties: an exact split, strict <= any
        assert row.entered == sum(getattr(row, c) for c in OUTCOMES)
        assert row.entered_in_order <= row.entered
    # the deals behind every count of every cell (one call per stage and measure, split by partner)
    for stage in STAGES:
        for measure in FUNNEL_MEASURES:
            deals = ck.funnel_deals(history, by="partner", stages=list(STAGES), stage=stage, measure=measure)
            assert not deals["deal_id"].duplicated().any()
            for row in table[table["stage"].eq(stage)].itertuples(index=False):
                mine = deals[deals["partner"].eq(row.partner)]
                count = mine["visits"].sum() if measure == "visits" else len(mine)
                shown = row.entered_in_order if measure == "entered_in_order" else getattr(row, measure)
                assert count == shown, (row.partner, stage, measure)
    for _, part in table.groupby("partner"):
        cum = part["cumulative_conversion"].dropna().to_numpy()
        assert (np.diff(cum) <= 1e-12).all()
        assert (part["entered_in_order"].diff().dropna() <= 0).all()


@SETTINGS
@given(histories())
@pytest.mark.slow
def test_time_in_stage_matches_plain_python_and_its_visits(case):
    history, paths, partners = case
    table = ck.time_in_stage(history, by="partner", stages=list(STAGES))
    visits = plain_visits(paths, history.as_of)
    for row in table.itertuples(index=False):
        mine = [v for v in visits if partners[v[0]] == row.partner and v[1] == row.stage]
        finished = [
            (v[3] - v[2]).total_seconds() / 86400 for v in mine if v[4] in ("advanced", "moved_back", "won", "lost")
        ]
        assert row.visits == len(mine)
        assert row.finished == len(finished)
        assert row.censored == sum(v[4] == "still_there" for v in mine)
        assert row.removed == sum(v[4] == "removed" for v in mine)
        if not math.isnan(row.median_days):
            assert min(finished) - 1e-9 <= row.median_days <= max(finished) + 1e-9
            assert math.isnan(row.p75_days) or row.p75_days >= row.median_days
        else:
            assert len(finished) <= len(mine)  # a curve that never halves: too many still waiting
        behind = ck.stage_visits(history, by="partner", stages=list(STAGES), group=row.partner, stage=row.stage)
        assert len(behind) == row.visits and behind["finished"].sum() == row.finished
        curve = kaplan_meier(behind["days"], behind["finished"])
        assert survival_quantile(curve, 0.5) == row.median_days or math.isnan(row.median_days)


def plain_slips(paths, partners):
    """(deal, month of the change, days, cents, currency) of every slip, in plain Python."""
    out = []
    for deal, states in paths.items():
        before = None
        for t, kind, extra in states:
            if kind == "removed":
                continue
            if before is not None and before[0] in STAGES and kind in STAGES:
                old, new = (
                    datetime.strptime(x, "%Y-%m-%d") for x in (before[1]["expected_close"], extra["expected_close"])
                )
                if (new.year, new.month) > (old.year, old.month):
                    day = t  # the day of the change decides its period
                    out.append(
                        (
                            deal,
                            f"{day.year}-{day.month:02d}",
                            (new - old).days,
                            round(extra["amount"] * 100),
                            extra["currency"],
                        )
                    )
            before = (kind, extra)
    return out


@SETTINGS
@given(histories())
@pytest.mark.slow
def test_slips_match_plain_python_and_add_up(case):
    history, paths, partners = case
    table = ck.slipped_deals(history, by="partner")
    slips = plain_slips(paths, partners)
    behind = ck.slip_deals(history, by="partner")
    assert len(behind) == len(slips) == table["slips"].sum()
    assert behind["days"].sum() == table["slip_days"].sum() == sum(s[2] for s in slips)
    for row in table.itertuples(index=False):
        mine = [s for s in slips if partners[s[0]] == row.partner and s[1] == row.period and s[4] == row.currency]
        assert row.slips == len(mine)
        assert row.slipped_count == len({s[0] for s in mine})
        assert row.slip_days == sum(s[2] for s in mine)
        last = {s[0]: s[3] for s in mine}  # the amount after each deal's last slip in the month
        assert row.slipped_amount_cents == sum(last.values())
        rows = ck.slip_deals(history, by="partner", group=row.partner, period=row.period)
        rows = rows[rows["currency"].eq(row.currency)]
        assert len(rows) == row.slips and rows["days"].sum() == row.slip_days
        assert rows.loc[rows["counted"], "amount_cents"].sum() == row.slipped_amount_cents


def test_time_in_stage_over_a_date_range(hand):
    # only the visits entered inside the range count; the whole history gives at least as many
    every = ck.time_in_stage(hand)
    ranged = ck.time_in_stage(hand, start="2025-01-01", end="2025-12-31")
    assert len(ranged) and set(ranged["stage"]) <= set(every["stage"])
    both = every.set_index("stage")["visits"].reindex(ranged["stage"]).to_numpy()
    assert (ranged["visits"].to_numpy() <= both).all()
