"""Partner and owner tables joined on load: matching, warnings, errors, levels, and partners without
deals shown with zero counts on every engine.

Expected values are written by hand from the small tables below or recomputed in plain Python.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.errors import ColumnError, ValueParseError

EXPORT = (
    "Deal ID,Partner,Owner,Team,Status,Amount,Created,Close Date,Channel\n"
    "1,Acme,Ann,Field,won,100,2024-01-02,2024-01-20,partner\n"
    "2,ACME ,Bob,,lost,200,2024-01-05,2024-02-10,paid\n"
    "3,Café Noir,Bob,,won,300,2024-02-01,2024-02-15,partner\n"
    "4,cafe noir,Cy,Inside,open,400,2024-02-03,2024-05-01,paid\n"
    "5,Zed Ltd,Ann,Field,won,50,2024-03-01,2024-03-05,partner\n"
    "6,,Dee,,won,70,2024-03-02,2024-03-09,paid\n"
)
PARTNERS = (
    "Partner,Tier,Region,Signed\n"
    "Acme,gold,North,2023-05-01\n"
    "Café Noir,silver,South,2023-09-15\n"
    "Birch,gold,,2025-01-10\n"  # signed, no deals yet
    "Dune,bronze,East,2025-02-01\n"  # signed, no deals yet
)
OWNERS = "owner,department,unit,manager\nAnn,Enterprise,EMEA,Zoe\nBob,SMB,EMEA,Zoe\nEve,SMB,APAC,Yan\n"


@pytest.fixture
def result(write):
    return ck.load_crm(
        write("deals.csv", EXPORT).read_bytes(),
        columns={"Team": "department"},
        partners=write("partners.csv", PARTNERS),
        owners=write("owners.csv", OWNERS),
    )


@pytest.mark.slow
def test_names_match_ignoring_case_spacing_and_accents_and_take_the_tables_spelling(result):
    deals = result.deals.set_index("deal_id")
    assert deals["partner"].to_dict() == {
        "1": "Acme",
        "2": "Acme",
        "3": "Café Noir",
        "4": "Café Noir",
        "5": "Zed Ltd",
        "6": "(direct)",
    }
    matched = next(w for w in result.warnings if w.startswith("partner names matched"))
    assert "'ACME' -> 'Acme' (1 deal(s))" in matched and "'cafe noir' -> 'Café Noir' (1 deal(s))" in matched
    missing = next(w for w in result.warnings if "partner the partner table does not list" in w)
    assert missing.startswith("1 deal(s)") and "'Zed Ltd' (1)" in missing and "(direct)" not in missing
    assert deals["tier"].to_dict() == {"1": "gold", "2": "gold", "3": "silver", "4": "silver", "5": np.nan, "6": np.nan}
    assert deals.loc["3", "region"] == "South"
    assert "signed" not in deals.columns  # dates stay in the table


def test_the_tables_are_kept_on_the_result(result):
    partners = result.partners
    assert partners["partner"].tolist() == ["Acme", "Café Noir", "Birch", "Dune"]
    assert partners["signed"].tolist() == [
        pd.Timestamp(d) for d in ("2023-05-01", "2023-09-15", "2025-01-10", "2025-02-01")
    ]
    assert list(result.owners.columns) == ["owner", "department", "unit", "manager"]


def test_an_owner_tables_department_fills_only_where_the_export_has_none(result):
    deals = result.deals.set_index("deal_id")
    # deal 1: the export says Field (it wins over Enterprise); deal 2 and 3: none, Bob's SMB fills
    assert deals["department"].to_dict() == {
        "1": "Field",
        "2": "SMB",
        "3": "SMB",
        "4": "Inside",
        "5": "Field",
        "6": np.nan,
    }
    assert deals["unit"].tolist() == ["EMEA", "EMEA", "EMEA", np.nan, "EMEA", np.nan]  # no unit in the export
    assert deals["manager"].tolist() == ["Zoe", "Zoe", "Zoe", np.nan, "Zoe", np.nan]
    missing = next(w for w in result.warnings if "owner the owner table does not list" in w)
    assert missing.startswith("2 deal(s)") and "'Cy' (1)" in missing and "'Dee' (1)" in missing


def test_a_column_the_deals_have_joins_under_a_prefixed_name(write):
    partners = pd.DataFrame({"partner": ["Acme"], "owner": ["Ann"], "channel": ["reseller"]})
    result = ck.load_crm(write("d.csv", EXPORT).read_bytes(), partners=partners)
    assert result.deals["partner_owner"].tolist()[:2] == ["Ann", "Ann"]
    assert result.deals["partner_channel"].tolist()[0] == "reseller"
    assert result.deals["channel"].tolist()[0] == "partner"  # the deal's own channel is untouched
    assert any("'owner' as 'partner_owner'" in w for w in result.warnings)
    assert list(result.partners.columns) == ["partner", "partner_owner", "partner_channel"]


@pytest.mark.slow
def test_duplicate_names_are_an_error_naming_the_rows(write):
    path = write("p.csv", "Partner,Tier\nAcme,gold\nBirch,gold\n acme ,silver\n")
    with pytest.raises(ValueParseError, match=r"lists 'Acme' more than once \(row 2, row 4\)") as err:
        ck.load_crm(EXPORT.encode(), partners=path)
    assert "p.csv" in str(err.value)
    frame = pd.DataFrame({"owner": ["Ann", "Ann"]}, index=[10, 11])
    with pytest.raises(ValueParseError, match=r"lists 'Ann' more than once \(row 10, row 11\)"):
        ck.load_crm(EXPORT.encode(), owners=frame)


@pytest.mark.slow
def test_a_table_without_its_key_or_with_a_blank_name_is_an_error(write):
    with pytest.raises(
        ColumnError, match=r"partners table has no 'partner' column; its columns are \['name', 'tier'\]"
    ):
        ck.load_crm(EXPORT.encode(), partners=pd.DataFrame({"Name": ["Acme"], "Tier": ["gold"]}))
    with pytest.raises(ValueParseError, match=r"row without a partner name \(row 3\)"):
        ck.load_crm(EXPORT.encode(), partners=write("p.csv", "Partner,Tier\nAcme,gold\n,silver\n"))
    with pytest.raises(ValueParseError, match=r"'signed' is not a date in row 2"):
        ck.load_crm(EXPORT.encode(), partners=write("q.csv", "Partner,Signed\nAcme,soon\n"))


# --------------------------------------------------------------------------- levels and zero groups
def _expected_by_partner() -> pd.DataFrame:
    """By hand from EXPORT and PARTNERS: won count and amount, closed count per partner."""
    return pd.DataFrame(
        {
            "partner": ["(direct)", "Acme", "Birch", "Café Noir", "Dune", "Zed Ltd"],
            "won_count": [1, 1, 0, 1, 0, 1],
            "won_amount": [70.0, 100.0, 0.0, 300.0, 0.0, 50.0],
            "closed_count": [1, 2, 0, 1, 0, 1],
            "created_count": [1, 2, 0, 2, 0, 1],
        }
    )


@pytest.mark.slow
def test_partners_without_deals_show_with_zero_counts(result):
    table = ck.kpi_table(result, by="partner")
    want = _expected_by_partner()
    pd.testing.assert_frame_equal(table[list(want.columns)], want, check_dtype=False)
    assert np.isnan(table.set_index("partner").loc["Birch", "win_rate"])  # no deals: no rate, not 0 %
    # the bare deals table lists only the partners that have deals
    assert sorted(ck.kpi_table(result.deals, by="partner")["partner"]) == ["(direct)", "Acme", "Café Noir", "Zed Ltd"]


@pytest.mark.slow
def test_a_partner_table_column_is_a_level_with_its_empty_groups(result):
    tiers = ck.deal_count(result, by="tier")
    # gold: Acme's 2 deals (Birch has none); silver: Café Noir's 2; bronze: Dune, none; (none): Zed and direct
    assert dict(zip(tiers["tier"], tiers["created_count"])) == {"(none)": 2, "bronze": 0, "gold": 2, "silver": 2}
    gold = ck.kpi_table(result, by="partner", where={"tier": ["gold"]})
    assert gold["partner"].tolist() == ["Acme", "Birch"] and gold["won_amount"].tolist() == [100.0, 0.0]
    monthly = ck.kpi_table(result, by="tier", freq="M")
    assert set(monthly["tier"]) == {"(none)", "bronze", "gold", "silver"}
    assert len(monthly) == 4 * 3  # every tier in every month deals were created or closed in (January to March)
    owners = ck.deal_count(result, by="manager")
    assert dict(zip(owners["manager"], owners["created_count"])) == {"(none)": 2, "Yan": 0, "Zoe": 4}
    cycles = ck.cycle_distribution(result, by="tier")
    assert set(cycles["tier"]) == {"(none)", "bronze", "gold", "silver"}


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """Generated deals with a partner table listing every partner, 15 without deals."""
    from channelkpi.datasets import make_deals

    deals = make_deals(2500, partners=120, months=18, seed=31)
    names = sorted(set(deals["partner"]) - {"(direct)"})
    extra = [f"New Partner {i:02d}" for i in range(15)]
    rng = np.random.default_rng(31)
    tiers = rng.choice(["gold", "silver", "bronze"], len(names) + len(extra))
    partners = pd.DataFrame({"partner": names + extra, "tier": tiers})
    csv = tmp_path_factory.mktemp("big") / "deals.csv"
    deals.assign(
        created=deals["created"].dt.strftime("%Y-%m-%d"),
        closed=deals["closed"].dt.strftime("%Y-%m-%d"),
        expected_close=deals["expected_close"].dt.strftime("%Y-%m-%d"),
    ).to_csv(csv, index=False)
    result = ck.load_crm(csv, partners=partners)
    folder = tmp_path_factory.mktemp("big_lake") / "deals"
    ck.to_parquet(result.deals, folder)
    return result, folder, extra


def _deals_on(engine, result, folder, request):
    if engine in ("pandas", "duckdb"):
        return result.deals
    if engine == "prepared":
        return None  # prepared from the result itself
    if engine == "polars":
        pl = pytest.importorskip("polars")
        return pl.from_pandas(result.deals.assign(status=result.deals["status"].astype(str)))
    if engine == "duckdb_parquet":
        import duckdb

        return duckdb.connect().read_parquet(str(folder / "*.parquet"))
    return request.getfixturevalue("spark").read.parquet(str(folder))


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "prepared", "polars", "duckdb_parquet", "spark"])
@pytest.mark.slow
def test_zero_groups_on_every_engine(engine, big, request):
    result, folder, extra = big
    if engine == "prepared":
        given = ck.prepare(result)
    else:
        given = dataclasses.replace(result, deals=_deals_on(engine, result, folder, request))
    opts = {} if engine in ("prepared", "polars", "duckdb_parquet", "spark") else {"engine": engine}
    deals = result.deals
    for options in ({"by": "partner", "freq": "Q"}, {"by": "tier", "where": {"channel": ["partner", "paid"]}}):
        got = ck.kpi_table(given, **options, **opts)
        want = ck.kpi_table(result, **options, engine="pandas")
        pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-10, obj=f"{engine} {options}")
    whole = ck.kpi_table(given, by="partner", **opts).set_index("partner")
    # every partner of the table, and those of the deals
    assert set(whole.index) == set(result.partners["partner"]) | set(deals["partner"])
    assert len(whole) == 120 + 15
    assert (whole.loc[extra, ["created_count", "won_count", "closed_count", "open_count"]] == 0).all().all()
    assert (whole.loc[extra, "won_amount"] == 0).all()
    # independent: won amount per tier in plain pandas over the deal rows
    tiers = ck.kpi_table(given, by="tier", **opts).set_index("tier")["won_amount"]
    won = deals[deals["status"] == "won"]
    want = won.groupby(won["tier"].fillna("(none)"))["amount"].sum()
    for tier, amount in want.items():
        assert tiers[tier] == pytest.approx(amount, abs=0.01), tier
    for name in ("deal_count", "win_rate", "quality_score", "deal_success"):
        got = getattr(ck, name)(given, by="partner", **opts)
        assert set(extra) <= set(got["partner"]), name
    # partners without deals are not peers: no score and no rank, and every other partner's
    # score and rank is what it is among the partners that have deals (the deals alone)
    scored = ck.quality_score(given, by="partner", **opts).set_index("partner")
    alone = ck.quality_score(result.deals, by="partner").set_index("partner")
    assert scored.loc[extra, ["quality_score", "rank"]].isna().all().all()
    assert scored.drop(index=extra)["quality_score"].to_numpy() == pytest.approx(
        alone.loc[scored.drop(index=extra).index, "quality_score"].to_numpy()
    )
    assert (scored.drop(index=extra)["rank"] == alone.loc[scored.drop(index=extra).index, "rank"]).all()
    table = ck.kpi_table(given, by="partner", **opts).set_index("partner")
    assert table.loc[extra, ["quality_score", "rank", "win_rate_shrunk"]].isna().all().all()
