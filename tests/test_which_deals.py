"""The sample's partner table as a level, and the deals behind a number of it, checked against
the sample files read by the plain csv module (the join done by hand: names matched after
trimming, case folding and dropping accents, as a partner manager's table needs)."""

from __future__ import annotations

import csv
import datetime
import math
import unicodedata
from collections import defaultdict

import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.datasets import sample_path

# every test here takes a quarter second or more: none belongs in the quick run
pytestmark = pytest.mark.slow


def _key(name: str) -> str:
    """A partner name as a person would compare it: spacing, case and accents ignored."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return " ".join(plain.split()).casefold()


def _cents(text: str) -> int:
    return round(float(text.replace(",", "")) * 100)


def _day(text: str) -> datetime.date:
    return datetime.datetime.strptime(text, "%m/%d/%Y").date()


@pytest.fixture(scope="module")
def sample_rows():
    """The Salesforce sample's deal rows (not its footer lines), each with its partner's tier."""
    with open(sample_path("partners"), encoding="utf-8", newline="") as f:
        tier = {_key(r["partner"]): r["tier"] for r in csv.DictReader(f)}
    with open(sample_path("salesforce"), encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["Opportunity ID"].startswith("006")]
    for r in rows:
        # a deal without a partner is direct: no row of the partner table, the "(none)" tier
        r["tier"] = tier.get(_key(r["Partner Account"]), "(none)") if r["Partner Account"].strip() else "(none)"
    return rows


@pytest.fixture(scope="module")
def result():
    return ck.load_crm(sample_path("salesforce"), partners=sample_path("partners"), owners=sample_path("owners"))


def test_won_amount_per_tier_is_the_csv_join(result, sample_rows):
    won: dict[str, int] = defaultdict(int)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in sample_rows:
        if r["Stage"] == "Closed Won":
            won[r["tier"]] += _cents(r["Amount"])
        if r["Stage"] in ("Closed Won", "Closed Lost"):
            counts[r["tier"]][r["Stage"] == "Closed Lost"] += 1
    table = ck.kpi_table(result, by="tier")
    got = {t: round(v * 100) for t, v in zip(table["tier"], table["won_amount"])}
    assert got == dict(won)
    assert set(won) == {"Platinum", "Gold", "Silver", "Registered", "(none)"}
    for t, (w, lost) in counts.items():
        row = table.loc[table["tier"] == t].iloc[0]
        assert (row["won_count"], row["lost_count"]) == (w, lost), t
        assert row["win_rate"] == pytest.approx(w / (w + lost)), t
    # the prepared engine reads the same load result to the same numbers
    pd.testing.assert_frame_equal(ck.kpi_table(ck.prepare(result), by="tier"), table, check_dtype=False, rtol=1e-12)


def test_the_deals_behind_a_tier_quarter_are_the_csv_rows(result, sample_rows):
    options = {"by": "tier", "freq": "Q", "start": "2025-01-01", "end": "2025-12-31"}
    cell = {"tier": "Gold", "period": "2025-Q2"}
    first, last = datetime.date(2025, 4, 1), datetime.date(2025, 6, 30)
    expected = {
        r["Opportunity ID"]: _cents(r["Amount"])
        for r in sample_rows
        if r["tier"] == "Gold" and r["Stage"] == "Closed Won" and first <= _day(r["Close Date"]) <= last
    }
    table = ck.kpi_table(result, **options)
    value = table.loc[(table["tier"] == "Gold") & (table["period"] == "2025-Q2"), "won_amount"].iloc[0]
    assert round(value * 100) == sum(expected.values())
    for deals in (result, ck.prepare(result)):
        rows = ck.deals_behind(deals, "kpi_table", column="won_amount", cell=cell, **options)
        counted = rows[rows["counts_as"] == "won"]
        assert dict(zip(counted["deal_id"], (round(a * 100) for a in counted["amount"]))) == expected
        assert (rows["counts_as"] == "won").all(), "no won deal of the cell lacks an amount or a date"
        # the rows say which deal it is: its name and customer as the export wrote them
        by_id = {r["Opportunity ID"]: r for r in sample_rows}
        for _, row in counted.iterrows():
            assert row["name"] == by_id[row["deal_id"]]["Opportunity Name"]
            assert row["account"] == by_id[row["deal_id"]]["Account Name"]


def test_a_partner_without_deals_opens_to_no_deals(result):
    # the partner table lists two partners signed days before the export: the KPI table shows
    # them with zero counts, so their cell opens to no deals rather than to an error
    with open(sample_path("partners"), encoding="utf-8", newline="") as f:
        listed = {r["partner"].strip() for r in csv.DictReader(f)}
    with open(sample_path("salesforce"), encoding="utf-8", newline="") as f:
        selling = {_key(r["Partner Account"]) for r in csv.DictReader(f) if r.get("Partner Account")}
    idle = sorted(p for p in listed if _key(p) not in selling)
    assert idle == ["Halcyon Edge Networks", "Ridgeway Secure IT"]
    table = ck.win_rate(result, by="partner")
    for partner in idle:
        row = table.loc[table["partner"] == partner].iloc[0]
        assert row["n"] == 0 and math.isnan(row["win_rate"])
        for deals in (result, ck.prepare(result)):
            rows = ck.deals_behind(deals, "win_rate", by="partner", cell={"partner": partner})
            assert len(rows) == 0 and "counts_as" in rows.columns
    # a name no table lists is still an error naming the nearest partners
    with pytest.raises(ck.ChannelKPIError, match="no deal has partner='Halcyon Edge'.*did you mean"):
        ck.deals_behind(result, "win_rate", by="partner", cell={"partner": "Halcyon Edge"})
    # the bare deals table does not know the partner table: there the name is unknown
    with pytest.raises(ck.ChannelKPIError, match="no deal has partner='Halcyon Edge Networks'"):
        ck.deals_behind(result.deals, "win_rate", by="partner", cell={"partner": "Halcyon Edge Networks"})
