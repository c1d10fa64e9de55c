"""The real exports in ../shared/realdata, read as a user would, checked against counts taken
from the files by the plain csv module (an independent reader) and from the spec."""

import csv
import math
from collections import Counter

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


@pytest.mark.slow
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


@pytest.mark.slow
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


# --------------------------------------------------------------------------- which deals
def _repaired(text: str) -> str:
    """The text as the loader tidies it: UTF-8 read as Windows-1252 undone ('CafÃ©' is
    'Café'), spacing collapsed."""
    try:
        text = text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return " ".join(text.split())


def _d365_won_cents(row) -> int:
    """A won Dynamics 365 deal's amount: its actual revenue, else its estimate."""
    return round(float(row["Actual Revenue"].strip() or row["Est. revenue"]) * 100)


def test_salesforce_api_record_columns(realdata):
    path = realdata("salesforce-devorg-powerbi/data/Opportunity.csv")
    result = ck.load_crm(path)
    # an API export names the account by its id (Account.Name is a separate query)
    assert (result.source.columns["name"], result.source.columns["account"]) == ("Name", "AccountId")
    d = result.deals.set_index("deal_id")
    rows = plain_rows(path)
    assert {r["Id"]: (d.loc[r["Id"], "name"], d.loc[r["Id"], "account"]) for r in rows} == {
        r["Id"]: (r["Name"], r["AccountId"]) for r in rows
    }
    assert d["product"].isna().all(), "the export has no product column"


@pytest.mark.slow
def test_salesforce_kept_column_groups_like_a_csv_group_by(realdata):
    path = realdata("salesforce-devorg-powerbi/data/Opportunity.csv")
    result = ck.load_crm(path, keep=["Opportunity Lifecycle (Days)"])
    assert "opportunity_lifecycle_days" in result.deals.columns
    created: dict[str, int] = {}
    won: dict[str, list[int]] = {}
    for r in plain_rows(path):
        value = r["Opportunity Lifecycle (Days)"] or "(none)"  # kept as the text it is
        created[value] = created.get(value, 0) + 1
        if r["IsWon"] == "TRUE":
            won.setdefault(value, []).append(round(float(r["Amount"] or 0) * 100))
    for deals in (result, ck.prepare(result), result.deals):
        counts = ck.deal_count(deals, by="opportunity_lifecycle_days")
        assert dict(zip(counts["opportunity_lifecycle_days"], counts["created_count"])) == created
        assert {k: v for k, v in zip(counts["opportunity_lifecycle_days"], counts["won_count"]) if v} == {
            k: len(v) for k, v in won.items()
        }
        table = ck.kpi_table(deals, by="opportunity_lifecycle_days")
        got = {k: round(v * 100) for k, v in zip(table["opportunity_lifecycle_days"], table["won_amount"]) if v}
        assert got == {k: sum(v) for k, v in won.items() if sum(v)}


@pytest.mark.slow
def test_salesforce_deals_behind_reproduce_the_win_rate_and_an_account(realdata):
    path = realdata("salesforce-devorg-powerbi/data/Opportunity.csv")
    rows = plain_rows(path)
    result = ck.load_crm(path)
    behind = ck.deals_behind(result, "win_rate")
    labelled = dict(zip(behind["deal_id"], behind["counts_as"]))
    assert labelled == {r["Id"]: "won" if r["IsWon"] == "TRUE" else "lost" for r in rows if r["IsClosed"] == "TRUE"}
    assert ck.win_rate(result)["win_rate"].iloc[0] == pytest.approx(12 / 20)
    # the account with the most won amount, and the deals that make it
    won: dict[str, dict[str, float]] = {}
    for r in rows:
        if r["IsWon"] == "TRUE":
            won.setdefault(r["AccountId"], {})[r["Id"]] = float(r["Amount"]) if r["Amount"] else math.nan
    account = max(won, key=lambda a: sum(v for v in won[a].values() if v == v))
    cell = ck.deals_behind(result, "kpi_table", column="won_amount", by="account", cell={"account": account})
    counted = cell[cell["counts_as"] == "won"]
    assert set(counted["deal_id"]) == {i for i, a in won[account].items() if a == a}
    assert set(cell.loc[cell["counts_as"] == "excluded: no amount", "deal_id"]) == {
        i for i, a in won[account].items() if a != a
    }
    table = ck.kpi_table(result, by="account")
    assert counted["amount"].sum() == pytest.approx(table.set_index("account").loc[account, "won_amount"])


@pytest.mark.slow
def test_dynamics365_kept_rating_matches_duckdb_sql(realdata):
    duckdb = pytest.importorskip("duckdb")
    path = realdata("d365-contoso-coffee/data/Opportunity.csv")
    result = ck.load_crm(path, keep=["Rating", "Forecast category"])
    assert {"rating", "forecast_category"} <= set(result.deals.columns)
    sql = """
        select Rating,
               count(*) filter (where Status = 'Won'),
               count(*) filter (where Status = 'Lost'),
               coalesce(sum(coalesce(try_cast(nullif(trim("Actual Revenue"), '') as decimal(18, 2)),
                                     cast("Est. revenue" as decimal(18, 2)))) filter (where Status = 'Won'), 0)
        from read_csv(?, all_varchar = true, header = true)
        group by Rating
    """
    expected = {
        rating: (won, lost, float(amount)) for rating, won, lost, amount in duckdb.execute(sql, [str(path)]).fetchall()
    }
    assert set(expected) == {"Hot", "Warm", "Cold"}
    for deals in (result, ck.prepare(result)):
        table = ck.kpi_table(deals, by="rating")
        got = {
            r: (w, lost, a)
            for r, w, lost, a in zip(table["rating"], table["won_count"], table["lost_count"], table["won_amount"])
        }
        assert got.keys() == expected.keys()
        for rating, (w, lost, amount) in expected.items():
            assert got[rating][:2] == (w, lost), rating
            assert got[rating][2] == pytest.approx(amount, abs=0.005), rating


@pytest.mark.slow
def test_dynamics365_deals_behind_a_quarter_are_the_csv_rows(realdata):
    path = realdata("d365-contoso-coffee/data/Opportunity.csv")
    rows = plain_rows(path)
    result = ck.load_crm(path, keep=["Rating"])

    def quarter(text: str) -> str:
        month, _day, year = text.split()[0].split("/")
        return f"{year}-Q{(int(month) - 1) // 3 + 1}"

    # warm deals are both won and lost; the quarter with the most of them closed (the first in
    # file order on a tie)
    warm = [r for r in rows if r["Rating"] == "Warm" and r["Status"] in ("Won", "Lost") and r["Actual Close Date"]]
    busiest = Counter(quarter(r["Actual Close Date"]) for r in warm).most_common(1)[0][0]
    in_cell = [r for r in warm if quarter(r["Actual Close Date"]) == busiest]
    expected_won = Counter((_repaired(r["Topic"]), _d365_won_cents(r)) for r in in_cell if r["Status"] == "Won")
    expected_lost = Counter(_repaired(r["Topic"]) for r in in_cell if r["Status"] == "Lost")

    options = {"by": "rating", "freq": "Q"}
    assert expected_won and expected_lost
    cell = {"rating": "Warm", "period": busiest}
    table = ck.kpi_table(result, **options).set_index(["rating", "period"])
    for deals in (result, ck.prepare(result)):
        won = ck.deals_behind(deals, "kpi_table", column="won_amount", cell=cell, **options)
        assert (won["counts_as"] == "won").all()
        assert Counter(zip(won["name"], (round(a * 100) for a in won["amount"]))) == expected_won
        assert won["amount"].sum() == pytest.approx(table.loc[("Warm", busiest), "won_amount"], abs=0.005)
        closed = ck.deals_behind(deals, "win_rate", cell=cell, **options)
        assert Counter(closed.loc[closed["counts_as"] == "lost", "name"]) == expected_lost
        assert (closed["counts_as"] == "won").sum() / len(closed) == pytest.approx(
            table.loc[("Warm", busiest), "win_rate"]
        )
