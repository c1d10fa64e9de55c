"""The real exports in ../shared/realdata, read as a user would, checked against counts taken
from the files by the plain csv module (an independent reader) and from the spec."""

import csv
import math

import pandas as pd
import pytest

import channelkpi as ck

pytestmark = pytest.mark.realdata


def plain_rows(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_salesforce_api_export(realdata):
    path = realdata("salesforce-devorg-powerbi/data/Opportunity.csv")
    result = ck.load_crm(path)
    s = result.summary()
    assert result.source.preset == "salesforce_api"
    assert (s["rows_read"], s["kept"], s["merged"], s["rejected"]) == (36, 36, 0, 0)
    assert (s["won"], s["lost"], s["open"]) == (12, 8, 16)
    rows = plain_rows(path)
    won = sum(r["IsWon"] == "TRUE" for r in rows)
    closed = sum(r["IsClosed"] == "TRUE" for r in rows)
    assert (won, closed) == (12, 20)
    d = result.deals.set_index("deal_id")
    for r in rows:  # every amount as written; the five blank ones stay blank
        got = d.loc[r["Id"], "amount"]
        assert math.isnan(got) if r["Amount"] == "" else got == float(r["Amount"])
    assert d["amount"].isna().sum() == sum(r["Amount"] == "" for r in rows) == 5
    # MM/DD/YY: 02/03/24 is 3 February 2024
    assert str(d.loc["006bm00000LKJNPAA5", "closed"].date()) == "2024-02-03"
    assert (d["channel"] == "partner").sum() == sum(r["LeadSource"] == "Partner" for r in rows)


def test_salesforce_stage_history_gives_the_current_deals(realdata):
    # OpportunityHistory: one row per stage a deal entered; Opportunity.csv is the same org's
    # current state, read here with the csv module as the expected answer
    history = realdata("salesforce-devorg-powerbi/data/OpportunityHistory.csv")
    current = {r["Id"]: r for r in plain_rows(realdata("salesforce-devorg-powerbi/data/Opportunity.csv"))}
    rows = plain_rows(history)
    result = ck.load_crm(history)
    s = result.summary()
    assert (s["rows_read"], s["kept"], s["merged"], s["rejected"]) == (
        len(rows),
        len(current),
        len(rows) - len(current),
        0,
    )
    assert set(result.ledger["reason"]) == {"stage_history"}
    d = result.deals.set_index("deal_id")
    assert set(d.index) == set(current)
    assert {i: d.loc[i, "stage"] for i in d.index} == {i: r["StageName"] for i, r in current.items()}
    assert (s["won"], s["lost"], s["open"]) == (12, 8, 16)
    assert any("stage history" in w for w in result.warnings)


def test_dynamics365_export(realdata):
    path = realdata("d365-contoso-coffee/data/Opportunity.csv")
    result = ck.load_crm(path)
    s = result.summary()
    assert result.source.preset == "dynamics365"
    assert (s["rows_read"], s["kept"], s["merged"], s["rejected"]) == (5229, 5229, 0, 0)
    assert (s["won"], s["lost"], s["open"]) == (1914, 2794, 521)
    d = result.deals
    won_amount = d.loc[d["status"] == "won", "amount"].sum()
    assert won_amount == pytest.approx(72_459_852.17, abs=0.005)
    # 45 lost deals have no close date: kept, and said so
    assert int(((d["status"] == "lost") & d["closed"].isna()).sum()) == 45
    assert any("45 won/lost deal(s) have no close date" in w for w in result.warnings)
    # mojibake repaired: no 'Ã' survives in any text column
    for col in ("owner", "source", "stage"):
        assert not d[col].dropna().str.contains("Ã").any()
    # Source Campaign blank in 1,660 rows -> channel unknown
    assert int((d["channel"] == "unknown").sum()) == 1660
    assert set(d["currency"].dropna()) == {"USD"}


def test_dynamics365_goal_amounts_parse(realdata):
    path = realdata("d365-contoso-coffee/data/Goal.csv")
    rows = plain_rows(path)
    from channelkpi.ingest.parse import parse_amounts, parse_dates

    parsed = parse_amounts(pd.Series([r["Target"] for r in rows]))
    assert parsed.values.iloc[0] == 7_450_000.0 and not parsed.bad.any()
    dates = parse_dates(pd.Series([r["From"] for r in rows]))
    assert str(dates.values.iloc[0].date()) == "2025-01-01"


@pytest.mark.parametrize(
    "export", ["salesforce-devorg-powerbi/data/Opportunity.csv", "d365-contoso-coffee/data/Opportunity.csv"]
)
@pytest.mark.slow
def test_prepared_real_deals_give_the_same_kpis(realdata, export):
    # real exports have what synthetic data lacks (45 lost deals without a close date, blank
    # amounts, owners in several units): the coded engine must not differ on them
    deals = ck.load_crm(realdata(export)).deals
    prepared = ck.prepare(deals)
    for options in ({"by": "owner", "freq": "Q"}, {"by": "unit"}, {"freq": "M", "compare": "year"}):
        got = ck.kpi_table(prepared, **options)
        assert got.attrs["channelkpi"]["engine"] == "numpy"
        pd.testing.assert_frame_equal(
            got, ck.kpi_table(deals, engine="pandas", **options), check_dtype=False, rtol=1e-12
        )
