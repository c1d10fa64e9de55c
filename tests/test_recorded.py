"""The pipeline as recorded: given a history, past period ends read each deal as it was then.

Expected values are written by hand (the small case) or computed from ``History.state`` (the
random histories): the state at an instant picks intervals by their validity, a path that shares
nothing with the engines' open-at-period-end rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import channelkpi as ck
from channelkpi.errors import ChannelKPIError
from channelkpi.history import History, end_of, make_intervals
from channelkpi.schema import validate_deals

ENGINES = ["pandas", "duckdb"]


def history_of(rows: list[tuple], *, as_of: str) -> History:
    """A history from (deal, valid_from, status, stage, amount, partner) rows; the deal's
    created date is its first state's, a closed state's date is its close date."""
    frame = pd.DataFrame(rows, columns=["deal_id", "valid_from", "status", "stage", "amount", "partner"])
    frame["valid_from"] = pd.to_datetime(frame["valid_from"])
    frame["created"] = frame.groupby("deal_id")["valid_from"].transform("min")
    frame["closed"] = frame["valid_from"].where(frame["status"] != "open")
    intervals = make_intervals(frame)
    last = intervals.groupby("deal_id").tail(1)
    deals = validate_deals(last.drop(columns=["valid_from", "valid_to", "removed", "amount_cents"]))
    return History(
        intervals=intervals,
        deals=deals.reset_index(drop=True),
        ledger=pd.DataFrame(),
        source="built in the test",
        known=frozenset({"stage", "status", "amount", "partner"}),
        stages=None,
        as_of=pd.Timestamp(as_of),
    )


# D1: open at 100 with Acme from 10 Jan; cut to 40 on 15 Feb; moved to Birch on 1 Mar; won 5 Apr.
# D2: open at 50 with Acme from 1 Feb; lost 20 Feb; reopened at 70 on 10 Mar; still open.
SMALL = [
    ("D1", "2025-01-10", "open", "Proposal", 100.0, "Acme"),
    ("D1", "2025-02-15", "open", "Proposal", 40.0, "Acme"),
    ("D1", "2025-03-01", "open", "Negotiation", 40.0, "Birch"),
    ("D1", "2025-04-05", "won", "Closed Won", 40.0, "Birch"),
    ("D2", "2025-02-01", "open", "Proposal", 50.0, "Acme"),
    ("D2", "2025-02-20", "lost", "Closed Lost", 50.0, "Acme"),
    ("D2", "2025-03-10", "open", "Proposal", 70.0, "Acme"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.slow
def test_small_history_by_hand(engine):
    history = history_of(SMALL, as_of="2025-04-30")
    table = ck.pipeline(history, by="partner", freq="M", engine=engine)
    got = {(r.partner, r.period): (r.open_count, r.open_amount) for r in table.itertuples()}
    assert got == {
        # end of January: D1 open at 100 with Acme
        ("Acme", "2025-01"): (1, 100.0),
        ("Birch", "2025-01"): (0, 0.0),
        # end of February: D1 at 40, still Acme's; D2 lost on the 20th
        ("Acme", "2025-02"): (1, 40.0),
        ("Birch", "2025-02"): (0, 0.0),
        # end of March: D1 is Birch's; D2 reopened at 70
        ("Acme", "2025-03"): (1, 70.0),
        ("Birch", "2025-03"): (1, 40.0),
        # end of April: D1 won; D2 open
        ("Acme", "2025-04"): (1, 70.0),
        ("Birch", "2025-04"): (0, 0.0),
    }
    # without the history, every past end reads the deals as they are now: D2 at 70 with Acme
    # from its creation in February, D1 at 40 with Birch until it was won
    now = ck.pipeline(history.deals, by="partner", freq="M", engine=engine)
    assert now.loc[(now["partner"] == "Acme") & (now["period"] == "2025-02"), "open_amount"].item() == 70.0
    assert now.loc[(now["partner"] == "Birch") & (now["period"] == "2025-01"), "open_amount"].item() == 40.0


@pytest.mark.slow
def test_explain_says_how_past_ends_were_read():
    history = history_of(SMALL, as_of="2025-04-30")
    assert "as recorded at each period end (history)" in ck.explain(ck.pipeline(history, freq="M"))
    assert "current amount and stage (no history given)" in ck.explain(ck.pipeline(history.deals, freq="M"))
    assert "as recorded" in ck.explain(ck.kpi_table(history, freq="M"))
    assert "past ends" not in ck.explain(ck.win_rate(history, freq="M"))  # no open-at-end measure


def test_waterfall_refuses_a_history():
    with pytest.raises(ChannelKPIError, match="pipeline_movement"):
        ck.pipeline_waterfall(history_of(SMALL, as_of="2025-04-30"))


@st.composite
def histories(draw):
    """Random histories: 1-4 states per deal, a day apart or more, sometimes closed or reopened,
    amounts and partners changing; some states begin and end on the same day."""
    rows = []
    for d in range(draw(st.integers(1, 12))):
        day = pd.Timestamp("2025-01-01") + pd.Timedelta(days=draw(st.integers(0, 120)))
        for k in range(draw(st.integers(1, 4))):
            status = draw(st.sampled_from(["open", "open", "won", "lost"]))
            stamp = day + pd.Timedelta(hours=k)  # later than the state before
            amount = draw(st.one_of(st.none(), st.integers(0, 5_000).map(lambda c: c / 4)))
            partner = draw(st.sampled_from(["Acme", "Birch", "Cedar"]))
            rows.append((f"D{d}", stamp, status, f"S{k}", np.nan if amount is None else amount, partner))
            day = day + pd.Timedelta(days=draw(st.integers(0, 70)))
    return history_of(rows, as_of="2025-12-31")


def _open_at(history: History, t: pd.Timestamp) -> pd.DataFrame:
    state = history.state(t)
    return state[(state["status"] == "open") & (state["created"] <= t)]


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), engine=st.sampled_from(ENGINES))
def test_every_period_end_is_the_state_then(history, engine):
    table = ck.pipeline(history, by="partner", freq="M", engine=engine)
    assert len(table)
    for period, rows in table.groupby("period"):
        open_then = _open_at(history, end_of(pd.Period(period, "M").end_time.normalize() + pd.Timedelta(days=1)))
        for row in rows.itertuples():
            mine = open_then[open_then["partner"] == row.partner]
            assert row.open_count == len(mine), (row.partner, period)
            cents = np.floor(mine["amount"].dropna().to_numpy() * 100 + 0.5).sum()
            assert round(row.open_amount * 100) == cents, (row.partner, period)
        assert set(open_then["partner"]) <= set(rows["partner"])  # no group left out


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories())
def test_kpi_table_takes_the_rest_from_the_deals_now(history):
    table = ck.kpi_table(history, by="partner", freq="M")
    recorded = ck.pipeline(history, by="partner", freq="M")
    now = ck.kpi_table(history.state(history.as_of), by="partner", freq="M")
    on = ["partner", "period"]
    both = table.merge(recorded, on=on, suffixes=("", "_pipeline"))
    assert len(both) == len(recorded)
    for col in ("open_count", "open_amount", "change_amount"):
        assert (both[col] == both[f"{col}_pipeline"]).all(), col
    flows = table.merge(now, on=on, how="inner", suffixes=("", "_now"))
    assert len(flows) == len(now)  # every group and period of the deals now is there
    for col in ("won_count", "won_amount", "created_count", "lost_count"):
        assert (flows[col] == flows[f"{col}_now"]).all(), col


def test_deals_behind_a_recorded_cell_are_the_deals_as_they_were():
    history = history_of(SMALL, as_of="2025-04-30")
    rows = ck.deals_behind(
        history, "pipeline", column="open_amount", by="partner", freq="M", cell={"partner": "Acme", "period": "2025-02"}
    )
    # end of February: D1 at 40 with Acme (its amount then; now 40 with Birch, won)
    assert rows[["deal_id", "partner", "amount", "status"]].values.tolist() == [["D1", "Acme", 40.0, "won"]]
    assert rows["counts_as"].tolist() == ["open at the period end"]
    march = ck.deals_behind(history, "pipeline", by="partner", freq="M", cell={"partner": "Acme", "period": "2025-03"})
    assert march[["deal_id", "amount"]].values.tolist() == [["D2", 70.0]]  # reopened on 10 March


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories())
def test_every_recorded_cell_lists_deals_that_sum_to_it(history):
    table = ck.pipeline(history, by="partner", freq="M")
    for row in table.itertuples():
        rows = ck.deals_behind(
            history,
            "pipeline",
            column="open_amount",
            by="partner",
            freq="M",
            cell={"partner": row.partner, "period": row.period},
        )
        counted = rows[rows["counts_as"] == "open at the period end"]
        assert len(counted) == row.open_count
        assert round(np.floor(counted["amount"].dropna().to_numpy() * 100 + 0.5).sum()) == round(row.open_amount * 100)
