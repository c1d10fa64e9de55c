"""The sample's history: the OpportunityHistory export and the month-end snapshots tell the same
story, end in the current export, and hold every kind of change the movement KPIs show.

The expectations are read from the files with the csv module, not from the generator."""

import csv
import filecmp
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.datasets import sample_path
from channelkpi.history import end_of

# Salesforce's default open stages, in order
OPEN_STAGES = [
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Proposal/Price Quote",
    "Negotiation/Review",
]
CLOSED_STAGES = {"Closed Won", "Closed Lost"}
# the fields both readings record: the history file has no partner or owner
SHARED = ["deal_id", "stage", "status", "amount", "currency", "expected_close", "closed"]


def snapshot_files() -> list[Path]:
    return sorted(sample_path("snapshots").glob("*.csv"))


def day_of(path: Path) -> date:
    return date.fromisoformat(path.stem)


def end_of_day(d: date) -> pd.Timestamp:
    """The last instant of day ``d``: a snapshot dated d shows the deals after that day's changes."""
    return end_of(pd.Timestamp(d) + pd.Timedelta(days=1))


def report_rows(path: Path) -> list[dict[str, str]]:
    """A Salesforce report export's deal rows (its footer left out), with the csv module."""
    with open(path, encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f) if r.get("Opportunity ID") and None not in r.values()]


@pytest.fixture(scope="module")
def history_rows() -> list[dict[str, str]]:
    with open(sample_path("history"), encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def by_deal(history_rows) -> dict[str, list[dict[str, str]]]:
    """Each opportunity's history rows in time order."""
    out = defaultdict(list)
    for row in history_rows:
        out[row["OpportunityId"]].append(row)
    stamp = "%m/%d/%y %I:%M %p"
    return {k: sorted(v, key=lambda r: datetime.strptime(r["CreatedDate"], stamp)) for k, v in out.items()}


@pytest.fixture(scope="module")
def current():
    return ck.load_crm(sample_path("salesforce"))


@pytest.fixture(scope="module")
def from_file(current):
    return ck.load_history(sample_path("history"), current=current)


@pytest.fixture(scope="module")
def from_snapshots():
    return ck.load_history(sample_path("snapshots"))


def shared_state(history, t) -> pd.DataFrame:
    return history.state(t)[SHARED].sort_values("deal_id").reset_index(drop=True)


def test_snapshots_are_month_ends_and_the_export_day():
    days = [day_of(p) for p in snapshot_files()]
    assert len(days) >= 6
    *month_ends, last = days
    for d in month_ends:
        assert (pd.Timestamp(d) + pd.Timedelta(days=1)).day == 1, f"{d} is not the last day of its month"
    months = [(d.year, d.month) for d in month_ends]
    assert months == sorted(set(months)) and len(months) == months[-1][0] * 12 + months[-1][1] - (
        months[0][0] * 12 + months[0][1] - 1
    ), "one snapshot per month, none missing"
    assert last == date(2026, 1, 5)
    # the export day's snapshot is the current export itself
    assert filecmp.cmp(snapshot_files()[-1], sample_path("salesforce"), shallow=False)


@pytest.mark.slow
def test_both_readings_give_the_same_deals_at_every_snapshot(from_file, from_snapshots):
    for path in snapshot_files():
        t = end_of_day(day_of(path))
        a, b = shared_state(from_file, t), shared_state(from_snapshots, t)
        assert len(a) == len(report_rows(path)), path.name
        pd.testing.assert_frame_equal(a, b, obj=f"state at the end of {path.stem}")


@pytest.mark.slow
def test_the_last_state_is_the_current_export(from_file, from_snapshots, current):
    for history in (from_file, from_snapshots):
        pd.testing.assert_frame_equal(history.state(history.as_of), current.deals)
    # the file's states already end in the export's: nothing had to be added at as_of
    assert not any("differ from their last recorded state" in w for w in from_file.warnings)


@pytest.mark.slow
def test_every_row_is_accounted_for(from_file, from_snapshots, history_rows):
    s = from_file.summary()
    assert s["rows_read"] == s["kept"] + s["merged"] + s["rejected"] == len(history_rows)
    assert s["rejected"] == 0
    assert len(from_file.ledger) == len(history_rows)
    assert from_file.ledger[["file", "row"]].duplicated().sum() == 0

    snapshot_lines = 0
    for path in snapshot_files():
        with open(path, encoding="utf-8", newline="") as f:
            snapshot_lines += sum(1 for row in list(csv.reader(f))[1:] if row)  # data and footer lines
    s = from_snapshots.summary()
    assert s["rows_read"] == s["kept"] + s["merged"] + s["rejected"] == snapshot_lines
    footers = from_snapshots.ledger["outcome"].eq("rejected")
    assert s["rejected"] == 3 * len(snapshot_files())  # the three footer lines of each report
    assert set(from_snapshots.ledger.loc[footers, "reason"]) == {"footer"}


def open_index(row) -> int | None:
    return OPEN_STAGES.index(row["StageName"]) if row["StageName"] in OPEN_STAGES else None


def us_date(text: str) -> date:
    return datetime.strptime(text, "%m/%d/%y").date()


@pytest.mark.slow
def test_the_history_holds_every_kind_of_change(by_deal, current):
    slips, ups, downs, backs, reopened = set(), set(), set(), set(), set()
    for deal, rows in by_deal.items():
        for before, after in zip(rows, rows[1:]):
            both_open = open_index(before) is not None and open_index(after) is not None
            if both_open and (us_date(after["CloseDate"]).year, us_date(after["CloseDate"]).month) > (
                us_date(before["CloseDate"]).year,
                us_date(before["CloseDate"]).month,
            ):
                slips.add(deal)
            if before["Amount"] and after["Amount"]:
                change = Decimal(after["Amount"]) - Decimal(before["Amount"])
                (ups if change > 0 else downs if change < 0 else set()).add(deal)
            if both_open and open_index(after) < open_index(before):
                backs.add(deal)
            if before["StageName"] in CLOSED_STAGES and open_index(after) is not None:
                reopened.add(deal)
    assert min(len(slips), len(ups), len(downs), len(backs), len(reopened)) >= 1, (
        len(slips),
        len(ups),
        len(downs),
        len(backs),
        len(reopened),
    )
    exported = set(current.deals["deal_id"])
    deleted = {d for d, rows in by_deal.items() if all(r["IsDeleted"] == "TRUE" for r in rows)}
    assert deleted and not deleted & exported
    assert {d for d, rows in by_deal.items() if any(r["IsDeleted"] == "TRUE" for r in rows)} == deleted
    assert set(by_deal) - deleted == exported  # every exported deal has a history


@pytest.mark.slow
def test_the_changes_read_back_from_both_sources(from_file, from_snapshots, by_deal):
    iv = from_file.intervals
    prev = iv.groupby("deal_id").shift()
    same = iv["deal_id"].eq(iv["deal_id"].shift())
    reopened = set(iv.loc[same & prev["status"].isin(["won", "lost"]) & iv["status"].eq("open"), "deal_id"])
    assert reopened, "no reopened deal in the history read from the file"
    # the snapshots see a reopening that spans a month end too
    siv = from_snapshots.intervals
    sprev = siv.groupby("deal_id").shift()
    ssame = siv["deal_id"].eq(siv["deal_id"].shift())
    assert reopened & set(siv.loc[ssame & sprev["status"].isin(["won", "lost"]) & siv["status"].eq("open"), "deal_id"])

    stamp = "%m/%d/%y %I:%M %p"
    deleted = {d: rows for d, rows in by_deal.items() if rows[0]["IsDeleted"] == "TRUE"}
    days = [day_of(p) for p in snapshot_files()]
    for deal, rows in deleted.items():
        created = datetime.strptime(rows[0]["CreatedDate"], stamp)
        gone = datetime.strptime(rows[-1]["SystemModstamp"], stamp)
        for history in (from_file, from_snapshots):
            assert not history.state(history.as_of)["deal_id"].eq(deal).any()
        # in the file's history from creation to the instant of deletion, and not after
        assert from_file.state(pd.Timestamp(gone) - pd.Timedelta(minutes=1))["deal_id"].eq(deal).any()
        assert not from_file.state(pd.Timestamp(gone))["deal_id"].eq(deal).any()
        assert from_file.intervals.loc[from_file.intervals["deal_id"].eq(deal), "removed"].iloc[-1]
        # in the snapshots taken while it existed, and not after
        seen = [d for d in days if created.date() <= d < gone.date()]
        assert seen, f"{deal} is in no snapshot"
        for path in snapshot_files():
            ids = {r["Opportunity ID"] for r in report_rows(path)}
            assert (deal in ids) == (day_of(path) in seen), path.name


def open_cents_by_partner(path: Path) -> dict[str, int]:
    """The open pipeline of a snapshot per partner, in cents, from its cells."""
    out = defaultdict(int)
    for row in report_rows(path):
        if row["Stage"] in OPEN_STAGES and row["Amount"]:
            out[row["Partner Account"] or "(direct)"] += int(Decimal(row["Amount"].replace(",", "")) * 100)
    return dict(out)


@pytest.mark.slow
@pytest.mark.parametrize("reading", ["from_file", "from_snapshots"])
def test_pipeline_movement_balances_and_ends_at_each_snapshot(reading, request):
    history = request.getfixturevalue(reading)
    table = ck.pipeline_movement(history, freq="M", start="2025-07-01", end="2025-12-31")
    adds, subtracts = (
        ("new", "pulled_in", "increased", "transferred_in"),
        (
            "decreased",
            "pushed_out",
            "won",
            "lost",
            "removed",
            "transferred_out",
        ),
    )
    cents = {c: table[f"{c}_cents"].astype("int64") for c in ("start", "end", *adds, *subtracts)}
    assert (cents["start"] + sum(cents[c] for c in adds) - sum(cents[c] for c in subtracts) == cents["end"]).all()
    for _, group in table.groupby(["partner", "currency"]):
        group = group.sort_values("period_start")
        assert group["end_cents"].iloc[:-1].tolist() == group["start_cents"].iloc[1:].tolist()
    # something moved: the sample is not a still life
    for bucket in ("new", "increased", "decreased", "won", "lost"):
        assert cents[bucket].sum() > 0, bucket
    if reading == "from_file":
        assert cents["removed"].sum() > 0  # the deleted duplicates
    # each month's end is the open pipeline of that month's snapshot, read cell by cell: per
    # partner from the snapshots; in total from the file, which does not say whose the deleted
    # duplicates were (they are gone from the current export, which would)
    for path in snapshot_files()[:-1]:
        month = table[table["period_end"].dt.date == day_of(path)]
        got = {p: int(c) for p, c in zip(month["partner"], month["end_cents"], strict=True) if c}
        expected = open_cents_by_partner(path)
        if reading == "from_snapshots":
            assert got == expected, path.name
        else:
            assert sum(got.values()) == sum(expected.values()), path.name
