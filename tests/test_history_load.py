"""load_history: every history source into one History, every input row accounted for.

Expected values are read from the files with the csv module or written by hand.
"""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import channelkpi as ck
from channelkpi.errors import ChannelKPIError


def plain_rows(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def balanced(h: ck.History) -> bool:
    s = h.summary()
    return s["rows_read"] == s["kept"] + s["merged"] + s["rejected"]


def contiguous(iv: pd.DataFrame) -> bool:
    """Per deal: sorted, each valid_to the next valid_from, only the last open-ended."""
    for _, g in iv.groupby("deal_id", sort=False):
        starts, ends = list(g["valid_from"]), list(g["valid_to"])
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            return False
        if ends[:-1] != starts[1:] or not pd.isna(ends[-1]):
            return False
    return True


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("deal_id").reset_index(drop=True)


# ------------------------------------------------------------------ real export


@pytest.mark.slow
def test_salesforce_opportunity_history_real_export(realdata):
    history = realdata("salesforce-devorg-powerbi/data/OpportunityHistory.csv")
    current = realdata("salesforce-devorg-powerbi/data/Opportunity.csv")
    rows = plain_rows(history)
    h = ck.load_history(history, current=current)
    s = h.summary()
    assert s["rows_read"] == len(rows) == 48 and balanced(h)
    # every history row is in the ledger once, by its line in the file (header is line 1)
    assert sorted(h.ledger["row"]) == list(range(2, len(rows) + 2))
    assert set(h.ledger["outcome"]) <= {"kept", "merged", "rejected"}
    expected = ck.load_crm(current).deals
    assert len(expected) == 36
    pd.testing.assert_frame_equal(h.state(h.as_of), expected)
    assert contiguous(h.intervals)
    # 006bm00000LKgOnAAL: Prospecting 02/24/26 02:18 AM, Closed Won 02:20 AM, Closed Lost 03/07/26 08:59 PM
    deal = h.intervals[h.intervals["deal_id"] == "006bm00000LKgOnAAL"]
    assert deal["stage"].tolist() == ["Prospecting", "Closed Won", "Closed Lost"]
    assert deal["valid_from"].tolist() == [
        pd.Timestamp("2026-02-24 02:18"),
        pd.Timestamp("2026-02-24 02:20"),
        pd.Timestamp("2026-03-07 20:59"),
    ]
    assert h.state("2026-02-25").set_index("deal_id").loc["006bm00000LKgOnAAL", "status"] == "won"
    # the file's last change is 03/07/26 09:00 PM: the export is taken by the end of that day
    assert h.as_of == pd.Timestamp("2026-03-08") - pd.Timedelta(1, "ns")  # the end of the day of the last change
    # close dates the history never recorded (01/27/21 there, 02/03/24 in the export) are said
    assert any("differ from their last recorded state" in w for w in h.warnings)
    assert {"stage", "status", "amount", "expected_close"} == set(h.known)


# ------------------------------------------------------------------ small hand-built cases

HISTORY = """OpportunityId,CreatedDate,StageName,Amount,CloseDate,PrevAmount,IsDeleted,SystemModstamp
A,2025-01-05T10:00:00Z,Prospecting,100,2025-03-31,,false,2025-01-05T10:00:00Z
A,2025-02-10T09:00:00Z,Proposal,80,2025-04-30,100,false,2025-02-10T09:00:00Z
A,2025-02-10T09:00:00Z,Proposal,80,2025-04-30,100,false,2025-02-10T09:00:00Z
B,2025-01-07T08:00:00Z,Prospecting,50,2025-02-28,,false,2025-01-07T08:00:00Z
B,,Closed Won,50,2025-02-20,,false,
C,2025-01-08T08:00:00Z,Prospecting,70,2025-05-31,,true,2025-03-03T12:00:00Z
"""
CURRENT = """Id,StageName,Amount,CloseDate,CreatedDate
A,Proposal,80,2025-04-30,2025-01-05
B,Prospecting,50,2025-02-28,2025-01-07
D,Qualification,10,2025-06-30,2025-02-01
"""


@pytest.mark.slow
def test_hand_built_opportunity_history(write):
    h = ck.load_history(write("h.csv", HISTORY), current=write("c.csv", CURRENT))
    led = h.ledger.set_index("row")
    assert (led.loc[2, "outcome"], led.loc[4, "outcome"]) == ("kept", "kept")
    assert (led.loc[3, "outcome"], led.loc[3, "reason"]) == ("merged", "same_instant")  # row 4 repeats it
    assert (led.loc[6, "outcome"], led.loc[6, "reason"]) == ("rejected", "no_date")
    assert "CreatedDate" in led.loc[6, "detail"]
    assert balanced(h) and h.summary()["rows_read"] == 6
    iv = h.intervals
    a = iv[iv["deal_id"] == "A"]
    assert a["amount_cents"].tolist() == [10000, 8000]
    assert a["expected_close"].tolist() == [pd.Timestamp("2025-03-31"), pd.Timestamp("2025-04-30")]
    # C was deleted (IsDeleted) at its SystemModstamp, and is not in the current export
    c = iv[iv["deal_id"] == "C"]
    assert c["removed"].tolist() == [False, True]
    assert c["valid_from"].iloc[1] == pd.Timestamp("2025-03-03 12:00")
    assert "C" in set(h.state("2025-03-01")["deal_id"]) and "C" not in set(h.state("2025-03-04")["deal_id"])
    # D has no history: in its current state since it was created
    d = iv[iv["deal_id"] == "D"]
    assert d["valid_from"].tolist() == [pd.Timestamp("2025-02-01")]
    pd.testing.assert_frame_equal(h.state(h.as_of), ck.load_crm(write("c2.csv", CURRENT)).deals)
    assert contiguous(iv)


# A Salesforce "Opportunity History" report as the report page exports it: labels, not API
# names, the state's start in "Edit Date", the stage entered in "To Stage", a blank line and the
# grand-totals footer.
SF_REPORT = """"Opportunity ID","Opportunity Name","Edit Date","From Stage","To Stage","Amount","Close Date","Probability (%)"
"0061","Roof","1/6/2025 9:00 AM","","Prospecting","$1,000.00","3/31/2025","10%"
"0061","Roof","2/3/2025 10:30 AM","Prospecting","Negotiation/Review","$1,200.00","3/31/2025","60%"
"0061","Roof","3/14/2025 4:00 PM","Negotiation/Review","Closed Won","$1,200.00","3/14/2025","100%"
"0062","Wall","1/20/2025 8:00 AM","","Prospecting","$500.00","4/30/2025","10%"
"0062","Wall","2/10/2025 8:00 AM","Prospecting","Closed Lost","$500.00","2/10/2025","0%"
"","","","","","","",""
"Grand Totals (5 records)","","","","","","",""
"""


@pytest.mark.slow
def test_salesforce_report_labels(write):
    h = ck.load_history(write("report.csv", SF_REPORT))
    assert h.summary()["rows_read"] == 6 and balanced(h)
    led = h.ledger.set_index("row")
    assert (led.loc[8, "outcome"], led.loc[8, "reason"]) == ("rejected", "footer")
    assert (led.loc[[2, 3, 4, 5, 6], "outcome"] == "kept").all()
    iv = h.intervals
    roof = iv[iv["deal_id"] == "0061"]
    assert roof["valid_from"].tolist() == [
        pd.Timestamp("2025-01-06 09:00"),
        pd.Timestamp("2025-02-03 10:30"),
        pd.Timestamp("2025-03-14 16:00"),
    ]
    assert roof["stage"].tolist() == ["Prospecting", "Negotiation/Review", "Closed Won"]
    assert roof["status"].tolist() == ["open", "open", "won"] and roof["amount_cents"].tolist() == [
        100000,
        120000,
        120000,
    ]
    wall = iv[iv["deal_id"] == "0062"]
    assert wall["status"].tolist() == ["open", "lost"] and wall["valid_from"].iloc[1] == pd.Timestamp(
        "2025-02-10 08:00"
    )
    # on 1 Mar 2025 Roof is open in negotiation at $1,200 and Wall is lost
    march = h.state("2025-03-01").set_index("deal_id")
    assert march.loc["0061", "stage"] == "Negotiation/Review" and march.loc["0061", "amount"] == 1200.0
    assert march.loc["0062", "status"] == "lost"
    assert contiguous(iv)


def _snap(rows):
    head = "Deal ID,Partner,Status,Amount,Close Date,Created\n"
    return head + "".join(",".join(r) + "\n" for r in rows)


@pytest.mark.slow
def test_snapshots_compare_deal_by_deal(tmp_path):
    (tmp_path / "deals_2025-10-01.csv").write_text(
        _snap(
            [
                ("A", "Acme", "Open", "100", "2025-10-31", "2025-09-01"),
                ("B", "Acme", "Open", "50", "2025-12-31", "2025-09-02"),
            ]
        )
    )
    (tmp_path / "deals_2025-11-01.csv").write_text(
        _snap([("A", "Acme", "Open", "100", "2025-12-15", "2025-09-01")])  # A slipped, B gone
    )
    (tmp_path / "deals_2025-12-01.csv").write_text(
        _snap(
            [
                ("A", "Globex", "Won", "90", "2025-11-20", "2025-09-01"),
                ("B", "Acme", "Open", "50", "2025-12-31", "2025-09-02"),
            ]
        )
    )
    h = ck.load_history(tmp_path)
    iv = h.intervals
    a = iv[iv["deal_id"] == "A"]
    assert a["valid_from"].dt.strftime("%m-%d").tolist() == ["10-01", "11-01", "12-01"]
    assert a["expected_close"].dt.strftime("%m-%d").tolist()[:2] == ["10-31", "12-15"]
    assert a["partner"].tolist() == ["Acme", "Acme", "Globex"]
    b = iv[iv["deal_id"] == "B"]
    assert b["removed"].tolist() == [False, True, False]  # gone in November, back in December
    assert contiguous(iv) and balanced(h)
    assert h.summary()["rows_read"] == 5 and h.summary()["kept"] == 5
    for name in ("deals_2025-10-01.csv", "deals_2025-11-01.csv", "deals_2025-12-01.csv"):
        date = pd.Timestamp(name[6:16])
        pd.testing.assert_frame_equal(by_id(h.state(date)), by_id(ck.load_crm(tmp_path / name).deals))


@pytest.mark.slow
def test_snapshot_unchanged_rows_are_merged(write):
    first = write("s_2025-01-01.csv", _snap([("A", "Acme", "Open", "100", "2025-03-31", "2024-12-01")]))
    second = write("s_2025-02-01.csv", _snap([("A", "Acme", "Open", "100", "2025-03-31", "2024-12-01")]))
    h = ck.load_history([second, first])  # any order: by date
    assert h.ledger[["file", "outcome", "reason"]].values.tolist() == [
        ["s_2025-01-01.csv", "kept", "state"],
        ["s_2025-02-01.csv", "merged", "unchanged"],
    ]
    assert len(h.intervals) == 1


@pytest.mark.slow
def test_snapshot_dates(write):
    undated = write("deals.csv", _snap([("A", "Acme", "Open", "1", "2025-03-31", "2024-12-01")]))
    with pytest.raises(ChannelKPIError, match="date of this snapshot") as err:
        ck.load_history([undated])
    assert "as_of=" in str(err.value)
    h = ck.load_history([undated], as_of={"deals.csv": "2025-01-15"})
    assert h.as_of == pd.Timestamp("2025-01-15")
    twice = write("b_2025-01-15.csv", _snap([("A", "Acme", "Open", "1", "2025-03-31", "2024-12-01")]))
    with pytest.raises(ChannelKPIError, match="two snapshots are dated 2025-01-15"):
        ck.load_history([undated, twice], as_of={"deals.csv": "2025-01-15"})


@pytest.mark.slow
def test_field_history(write):
    fields = """OpportunityId,Field,OldValue,NewValue,CreatedDate
A,StageName,Prospecting,Proposal,2025-02-01T10:00:00Z
A,Amount,100,80,2025-02-15T10:00:00Z
A,Description,x,y,2025-02-16T10:00:00Z
Z,Amount,1,2,2025-02-16T10:00:00Z
A,CloseDate,2025-03-31,2025-04-30,
A,Amount,80,"lots",2025-02-20T10:00:00Z
"""
    current = write("c.csv", "Id,StageName,Amount,CloseDate,CreatedDate\nA,Proposal,80,2025-03-31,2025-01-05\n")
    h = ck.load_history(write("f.csv", fields), current=current)
    reasons = h.ledger.set_index("row")["reason"].to_dict()
    assert reasons == {
        2: "change",
        3: "change",
        4: "other_field",
        5: "unknown_deal",
        6: "no_date",
        7: "unreadable_value",
    }
    assert balanced(h)
    a = h.intervals
    assert a["valid_from"].tolist() == [
        pd.Timestamp("2025-01-05"),
        pd.Timestamp("2025-02-01 10:00"),
        pd.Timestamp("2025-02-15 10:00"),
    ]
    assert a["stage"].tolist() == ["Prospecting", "Proposal", "Proposal"]
    assert a["amount"].tolist() == [100.0, 100.0, 80.0]
    pd.testing.assert_frame_equal(h.state(h.as_of), ck.load_crm(current).deals)
    with pytest.raises(ChannelKPIError, match="current export is needed"):
        ck.load_history(write("f2.csv", fields))


@pytest.mark.slow
def test_hubspot_stage_entries(write):
    export = (
        "Record ID,Deal Name,Deal Stage,Pipeline,Amount,Close Date,Create Date,"
        '"Date entered ""Qualified (Sales Pipeline)""","Date entered ""Closed won (Sales Pipeline)"""\n'
        "1,Roof,Closed won,Sales Pipeline,100,2025-03-01,2025-01-01,2025-01-02 09:00,2025-03-01 15:00\n"
        "2,Wall,Qualified,Sales Pipeline,50,2025-06-30,2025-02-01,2025-02-03 10:00,\n"
    )
    h = ck.load_history(write("hs.csv", export))
    assert h.known == frozenset({"stage", "status"})
    assert any("amount or close date" in w for w in h.warnings)
    one = h.intervals[h.intervals["deal_id"] == "1"]
    assert one["stage"].tolist() == ["Qualified", "Closed won"]
    assert one["status"].tolist() == ["open", "won"]
    assert h.stages == ("Qualified", "Closed won")
    assert h.summary()["rows_read"] == 2 and balanced(h)
    pd.testing.assert_frame_equal(h.state(h.as_of), ck.load_crm(write("hs2.csv", export)).deals)


def test_generic_table(write):
    table = "Deal,When,Stage,Value,Partner\nX,2025-01-01,Open,10,Acme\nX,2025-02-01,Open,10,Globex\nX,2025-03-01,Won,12,Globex\n"
    h = ck.load_history(
        write("t.csv", table), columns={"Deal": "deal_id", "When": "changed_at", "Stage": "status", "Value": "amount"}
    )
    assert h.intervals["partner"].tolist() == ["Acme", "Globex", "Globex"]
    assert h.intervals["status"].tolist() == ["open", "open", "won"]
    assert {"status", "amount", "partner"} <= set(h.known)
    with pytest.raises(ChannelKPIError, match="source_kind"):
        ck.load_history(write("t2.csv", table), source_kind="nope")


# ------------------------------------------------------------------ properties

STAGES = [("Prospecting", "open"), ("Proposal", "open"), ("Closed Won", "won"), ("Closed Lost", "lost")]
deal_changes = st.lists(
    st.tuples(st.integers(0, 3), st.integers(1, 500), st.integers(0, 60), st.integers(1, 20)),
    min_size=1,
    max_size=4,
)


def _sf_files(deals):
    """An OpportunityHistory file and the matching current export, written with the csv module."""
    hist, cur = io.StringIO(), io.StringIO()
    hw, cw = csv.writer(hist), csv.writer(cur)
    hw.writerow(["OpportunityId", "CreatedDate", "StageName", "Amount", "CloseDate"])
    cw.writerow(["Id", "StageName", "Amount", "CloseDate", "CreatedDate", "IsClosed", "IsWon"])
    for i, changes in enumerate(deals):
        t = datetime(2025, 1, 1 + i % 20, 9, 0)
        for stage_i, amount, close, gap in changes:
            t = t + pd.Timedelta(days=gap, minutes=7)
            stage = STAGES[stage_i][0]
            close_d = (pd.Timestamp("2025-03-01") + pd.Timedelta(days=close)).strftime("%Y-%m-%d")
            hw.writerow([f"D{i}", t.strftime("%Y-%m-%dT%H:%M:%SZ"), stage, amount, close_d])
        status = STAGES[stage_i][1]
        cw.writerow([f"D{i}", stage, amount, close_d, f"2025-01-{1 + i % 20:02d}", status != "open", status == "won"])
    return hist.getvalue().encode(), cur.getvalue().encode()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(deal_changes, min_size=1, max_size=6))
@pytest.mark.slow
def test_property_state_at_as_of_is_the_export(deals):
    hist, cur = _sf_files(deals)
    h = ck.load_history(hist, current=cur)
    pd.testing.assert_frame_equal(h.state(h.as_of), ck.load_crm(cur).deals)
    assert contiguous(h.intervals) and balanced(h)
    assert h.summary()["rows_read"] == sum(len(c) for c in deals)
    assert not any("differ from their last recorded state" in w for w in h.warnings)


snapshot_deal = st.tuples(
    st.sampled_from(["Open", "Won", "Lost"]), st.integers(1, 300), st.integers(0, 90), st.booleans()
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(snapshot_deal, min_size=4, max_size=4), min_size=1, max_size=5))
@pytest.mark.slow
def test_property_snapshots_state_at_each_date_is_that_snapshot(tmp_path, deals):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    dates = pd.date_range("2025-01-01", periods=4, freq="MS")
    for k, date in enumerate(dates):
        rows = []
        for i, states in enumerate(deals):
            status, amount, close, present = states[k]
            if present or k == 3:
                close_d = (pd.Timestamp("2025-02-01") + pd.Timedelta(days=close)).strftime("%Y-%m-%d")
                rows.append((f"D{i}", "Acme", status, str(amount), close_d, "2024-12-01"))
        (folder / f"deals_{date.date()}.csv").write_text(_snap(rows))
    h = ck.load_history(folder)
    assert contiguous(h.intervals) and balanced(h)
    for date in dates:
        expected = ck.load_crm(folder / f"deals_{date.date()}.csv").deals
        pd.testing.assert_frame_equal(by_id(h.state(date)), by_id(expected))
