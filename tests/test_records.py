"""Deal records (name, account, product) from every preset, fields kept with ``keep=``, and any
text column as a level on every engine.

Expected values are read from the export text with the csv module or written by hand; numbers are
recomputed in plain Python, never taken from channelkpi's output.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.errors import ColumnError

T = pd.Timestamp


def load(text: str, **kw):
    result = ck.load_crm(text.encode("utf-8"), **kw)
    s = result.summary()
    assert s["rows_read"] == s["kept"] + s["merged"] + s["rejected"]
    return result


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --------------------------------------------------------------------------- every preset
# (export text, preset, the headers that hold the name, the account and the product)
EXPORTS = {
    "salesforce_report": (
        '"Opportunity Owner","Account Name","Opportunity Name","Stage","Fiscal Period","Amount","Close Date",'
        '"Created Date","Opportunity ID","Product Name"\n'
        '"Avery Chen","Acme Corp","Acme - Switches","Closed Won","Q1-2024","10,000.00","3/31/2024","2/20/2024",'
        '"0061","Core Switch"\n'
        '"Avery Chen","Globex","Globex - WiFi","Closed Lost","Q2-2024","2,500.00","4/2/2024","3/21/2024","0062",""\n',
        ("Opportunity Name", "Account Name", "Product Name"),
    ),
    "salesforce_api": (
        "Id,AccountId,Name,StageName,Amount,CloseDate,IsClosed,IsWon,CreatedDate\n"
        "006A,001X,Dickenson Generators,Closed Won,15000,2024-02-03,true,true,2024-01-05\n"
        "006B,001Y,United Oil Plant,Prospecting,125000,2024-06-03,false,false,2024-02-05\n",
        ("Name", "AccountId", None),
    ),
    "hubspot": (
        '"Record ID","Deal Name","Deal Stage","Close Date","Deal owner","Amount","Pipeline","Create Date",'
        '"Associated Company","Associated Product"\n'
        '"101","Acme renewal","Closed Won","2024-03-01","Ann","500","Sales Pipeline","2024-01-02","Acme","Support"\n'
        '"102","Birch upsell","Closed Lost","2024-03-04","Bob","700","Sales Pipeline","2024-01-09","Birch",""\n',
        ("Deal Name", "Associated Company", "Associated Product"),
    ),
    "hubspot_internal": (
        "hs_object_id,dealname,dealstage,closedate,amount,createdate,pipeline\n"
        "201,Cedar pilot,closedwon,2024-05-01,900,2024-04-01,default\n"
        "202,Dune trial,qualifiedtobuy,2024-07-01,300,2024-04-11,default\n",
        ("dealname", None, None),
    ),
    "pipedrive": (
        "Deal - ID,Deal - Title,Deal - Organization,Deal - Value,Deal - Currency,Deal - Status,Deal - Owner,"
        "Deal - Deal created,Deal - Won time,Deal - Lost time\n"
        "7,Espresso bar,Kaffee GmbH,1200,EUR,Won,Jan,2024-01-03,2024-02-01 10:00:00,\n"
        "8,Grinders,Mühle AG,800,EUR,Lost,Eva,2024-01-05,,2024-03-01 09:00:00\n",
        ("Deal - Title", "Deal - Organization", None),
    ),
    "dynamics365": (
        "Created On,Topic,Owner,Potential Customer,Status,Status Reason,Est. revenue,Est. close date,"
        "Actual Revenue,Actual Close Date,Probability\n"
        "5/20/2024 7:42,Adatum | Coffee Subscription,Jim,Adatum Corporation,Won,Won,13400,8/31/2024,13000,"
        "8/30/2024,100\n"
        "5/27/2024 0:00,Fabrikam | Espresso Machines,Alan,Fabrikam Inc,Open,In Progress,20450,9/26/2024,,,40\n",
        ("Topic", "Potential Customer", None),
    ),
    "zoho": (
        "Record Id,Deal Owner,Deal Name,Account Name,Amount,Closing Date,Stage,Created Time,Modified Time\n"
        "zcrm_1,Ann,Roof repair,Acme Ltd,300,2024-03-01,Closed Won,2024-01-01 10:00:00,2024-03-01 10:00:00\n"
        "zcrm_2,Bob,New wing,Birch plc,900,2024-05-01,Qualification,2024-02-01 10:00:00,2024-03-01 10:00:00\n",
        ("Deal Name", "Account Name", None),
    ),
}


@pytest.mark.parametrize("case", list(EXPORTS))
def test_every_preset_keeps_the_deal_name_account_and_product(case):
    text, headers = EXPORTS[case]
    result = load(text)
    assert result.source.preset == case.removesuffix("_internal")
    rows = rows_of(text)
    for column, header in zip(("name", "account", "product"), headers, strict=True):
        got = result.deals[column].tolist()
        if header is None:
            assert result.deals[column].isna().all(), column
            continue
        assert result.source.columns[column] == header
        want = [r[header].strip() or np.nan for r in rows]
        assert [g if isinstance(g, str) else np.nan for g in got] == pytest.approx(want, nan_ok=True), column


def test_columns_maps_the_record_columns_of_any_table():
    text = "Ref,Status,Headline,Client,Sku\nA1,won,Big roof,Acme,R-1\nA2,lost,Small roof,Birch,\n"
    result = load(text, columns={"Ref": "deal_id", "Headline": "name", "Client": "account", "Sku": "product"})
    assert result.deals["name"].tolist() == ["Big roof", "Small roof"]
    assert result.deals["account"].tolist() == ["Acme", "Birch"]
    assert result.deals["product"].tolist()[0] == "R-1" and pd.isna(result.deals["product"].iloc[1])


def test_a_deal_keeps_its_product_only_when_its_line_items_name_one():
    text = (
        "Deal ID,Deal Name,Status,Amount,Product\n"
        "D1,Roof,won,100,Tiles\n"
        "D1,Roof,won,50,Gutters\n"
        "D2,Wall,lost,70,Bricks\n"
        "D2,Wall,lost,30,Bricks\n"
        "D3,Door,open,20,Oak\n"
    )
    result = load(text, grain="line_items")
    deals = result.deals.set_index("deal_id")
    assert deals.loc["D1", "amount"] == 150 and pd.isna(deals.loc["D1", "product"])  # two products: neither
    assert deals.loc["D2", "amount"] == 100 and deals.loc["D2", "product"] == "Bricks"
    assert deals.loc["D3", "product"] == "Oak"
    assert deals["name"].to_dict() == {"D1": "Roof", "D2": "Wall", "D3": "Door"}


# --------------------------------------------------------------------------- keep=
KEEP = (
    "Deal ID,Partner,Status,Amount,Close Date,Created,Région (EMEA),Product Family,Score\n"
    "1,Acme,won,100,2024-01-10,2024-01-01,North,Roofs,3\n"
    "2,Acme,lost,200,2024-01-20,2024-01-02,South,Walls,4\n"
    "3,Birch,won,300,2024-02-05,2024-01-03,North,Walls,5\n"
    "4,Birch,won,400,2024-02-06,2024-01-04, south ,Roofs,\n"
    "5,Cedar,open,500,,2024-01-05,,Roofs,1\n"
)


def test_kept_columns_are_named_in_snake_case_and_read_as_text():
    result = load(KEEP, keep=["Région (EMEA)", "product family", "Score"])
    deals = result.deals
    assert list(deals.columns[-3:]) == ["region_emea", "product_family", "score"]
    assert deals["region_emea"].tolist()[:4] == ["North", "South", "North", "south"]  # tidied, not re-cased
    assert pd.isna(deals["region_emea"].iloc[4])
    assert deals["score"].tolist()[:3] == ["3", "4", "5"]  # kept as text: a field is a level, not a number
    assert pd.api.types.is_string_dtype(deals["product_family"])


def test_keep_all_keeps_every_column_no_canonical_column_reads():
    result = load(KEEP, keep="all")
    # "Région (EMEA)" and "Product Family" are read by meaning as the unit and the product (the
    # warning says so): canonical columns read them, so only "Score" is left to keep
    assert result.source.columns["unit"] == "Région (EMEA)" and result.source.columns["product"] == "Product Family"
    assert list(result.deals.columns[-1:]) == ["score"]
    assert "region_emea" not in result.deals.columns and "product_family" not in result.deals.columns
    assert result.deals["unit"].tolist()[:4] == ["North", "South", "North", "south"]
    assert "partner_2" not in result.deals.columns  # a mapped header is not kept again


def test_a_kept_name_that_is_taken_gets_a_suffix_and_a_warning():
    text = "Deal ID,Status,Owner,Stage,Type,Type!\n1,won,Ann,Closed Won,New,Renewal\n"
    result = load(text, keep=["Owner", "Stage", "Type", "Type!"])
    # Owner and Stage feed canonical columns and are kept too, under the next free name
    assert result.deals["owner"].tolist() == ["Ann"] and result.deals["owner_2"].tolist() == ["Ann"]
    assert result.deals["stage_2"].tolist() == ["Closed Won"]
    assert result.deals["type"].tolist() == ["New"] and result.deals["type_2"].tolist() == ["Renewal"]
    note = next(w for w in result.warnings if w.startswith("kept column(s) renamed"))
    assert "'Owner' as 'owner_2'" in note and "'Stage' as 'stage_2'" in note and "'Type!' as 'type_2'" in note


@pytest.mark.slow
def test_keep_names_a_header_that_is_not_there():
    with pytest.raises(ColumnError, match=r"keep= names 'Product Famly'.*did you mean 'Product Family'"):
        load(KEEP, keep=["Product Famly"])
    with pytest.raises(ColumnError, match=r"keep takes 'all' or a list"):
        load(KEEP, keep="Score")


@pytest.mark.slow
def test_kept_columns_survive_line_items_and_stage_history():
    text = "Deal ID,Status,Amount,Product,Region\nD1,won,100,Tiles,North\nD1,won,50,Gutters,\nD2,lost,10,Oak,East\n"
    deals = load(text, keep=["Region"], grain="line_items").deals.set_index("deal_id")
    assert deals.loc["D1", "region"] == "North" and deals.loc["D2", "region"] == "East"
    history = (
        "Deal ID,Stage,Status,Created,Region\n"
        "H1,Prospecting,open,2024-01-01,\n"
        "H1,Closed Won,won,2024-02-01,West\n"
        "H2,Prospecting,open,2024-01-05,South\n"
        "H2,Closed Lost,lost,2024-03-01,\n"
    )
    deals = load(history, keep=["Region"], grain="stage_history").deals.set_index("deal_id")
    assert deals.loc["H1", "region"] == "West"  # the latest state's value
    assert deals.loc["H2", "region"] == "South"  # none in the latest state: the latest row that has one


def test_validate_deals_keeps_extra_columns():
    table = pd.DataFrame(
        {
            "deal_id": ["a", "b"],
            "status": ["won", "lost"],
            "region": pd.Series(["N", None], dtype=object),
            "signed": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "score": [1.5, 2.0],
        }
    )
    deals = ck.validate_deals(table)
    assert list(deals.columns[-3:]) == ["region", "signed", "score"]
    assert pd.api.types.is_string_dtype(deals["region"]) and pd.isna(deals["region"].iloc[1])
    assert deals["signed"].dtype == table["signed"].dtype and deals["score"].tolist() == [1.5, 2.0]


# --------------------------------------------------------------------------- kept columns as levels
def _won_by(text: str, header: str, *, where=None) -> dict[str, float]:
    """Won amount per value of ``header``, from the csv module (blank: the "(none)" group)."""
    out: dict[str, float] = defaultdict(float)
    for r in rows_of(text):
        if where and not where(r):
            continue
        key = r[header].strip() or "(none)"
        out[key] += float(r["Amount"]) if r["Status"] == "won" else 0.0
    return dict(out)


@pytest.mark.slow
def test_a_kept_column_groups_and_filters_every_kpi():
    result = load(KEEP, keep=["Région (EMEA)", "Product Family"])
    deals = result.deals
    table = ck.kpi_table(deals, by="region_emea")
    assert dict(zip(table["region_emea"], table["won_amount"])) == _won_by(KEEP, "Région (EMEA)")
    walls = ck.kpi_table(deals, by="partner", where={"product_family": ["Walls"]})
    want = _won_by(KEEP, "Partner", where=lambda r: r["Product Family"] == "Walls")
    assert dict(zip(walls["partner"], walls["won_amount"])) == want
    assert walls.attrs["channelkpi"]["excluded"]["filtered_out"] == 3
    for name in ("deal_count", "average_deal_size", "pipeline", "channel_performance", "win_rate", "deal_velocity"):
        out = getattr(ck, name)(deals, by="product_family", where={"region_emea": ["North"]})
        assert sorted(out["product_family"]) == ["Roofs", "Walls"], name
    rates = ck.win_rate(deals, by="product_family")
    # Roofs: won 1 and 4, none lost; Walls: won 3, lost 2
    assert dict(zip(rates["product_family"], rates["win_rate"])) == {"Roofs": 1.0, "Walls": 0.5}


def test_by_names_that_are_no_text_column_are_clear_errors():
    deals = load(KEEP, keep=["Product Family"]).deals
    with pytest.raises(ck.ChannelKPIError, match=r"by='product_famly'.*did you mean 'product_family'.*group by"):
        ck.win_rate(deals, by="product_famly")
    with pytest.raises(ck.ChannelKPIError, match=r"by='amount'.*dates or numbers"):
        ck.win_rate(deals, by="amount")
    with pytest.raises(ck.ChannelKPIError, match=r"where= names 'famly'"):
        ck.win_rate(ck.prepare(deals), where={"famly": ["Roofs"]})
    for frame in (deals, ck.prepare(deals)):
        with pytest.raises(ck.ChannelKPIError, match=r"not a level.*product_family"):
            ck.kpi_table(frame, by=["partner", "regio"])


@pytest.fixture(scope="module")
def kept_deals():
    """Generated deals with two extra text columns (a field of ~40 values, one mostly missing)."""
    from channelkpi.datasets import make_deals

    d = make_deals(3000, partners=200, months=24, seed=23)
    rng = np.random.default_rng(23)
    region = np.array([f"R{i:02d}" for i in range(40)], dtype=object)[rng.integers(0, 40, len(d))]
    tag = np.where(rng.random(len(d)) < 0.7, None, "hot").astype(object)
    return ck.validate_deals(d.assign(region=region, tag=tag))


@pytest.fixture(scope="module")
def kept_parquet(kept_deals, tmp_path_factory):
    folder = tmp_path_factory.mktemp("kept") / "deals"
    ck.to_parquet(kept_deals, folder)
    return folder


ENGINES = ["duckdb", "prepared", "polars", "duckdb_parquet", "spark"]


def _on(engine, deals, folder, request):
    if engine == "duckdb":
        return deals
    if engine == "prepared":
        return ck.prepare(deals)
    if engine == "polars":
        pl = pytest.importorskip("polars")
        return pl.from_pandas(deals.assign(status=deals["status"].astype(str)))
    if engine == "duckdb_parquet":
        import duckdb

        return duckdb.connect().read_parquet(str(folder / "*.parquet"))
    return request.getfixturevalue("spark").read.parquet(str(folder))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.slow
def test_kept_columns_give_the_same_numbers_on_every_engine(engine, kept_deals, kept_parquet, request):
    native = _on(engine, kept_deals, kept_parquet, request)
    for options in (
        {"by": "region", "freq": "M"},
        {"by": ["tag", "channel"], "freq": "Q", "where": {"region": ["R01", "R02", "R03"]}},
    ):
        want = ck.kpi_table(kept_deals, engine="pandas", **options)
        got = ck.kpi_table(native, **options)
        pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-10, obj=f"{engine} {options}")
        for name in ("deal_success", "pipeline_waterfall"):
            pd.testing.assert_frame_equal(
                getattr(ck, name)(native, **options),
                getattr(ck, name)(kept_deals, engine="pandas", **options),
                check_dtype=False,
                rtol=1e-10,
            )
    # an independent count: won deals per region over the whole range
    counts = ck.deal_count(native, by="region")
    want = kept_deals[kept_deals["status"] == "won"].groupby("region").size()
    assert dict(zip(counts["region"], counts["won_count"])) == want.to_dict()
    tag_none = ck.deal_count(native, by="tag")
    assert dict(zip(tag_none["tag"], tag_none["created_count"])) == {
        "(none)": int(kept_deals["tag"].isna().sum()),
        "hot": int((kept_deals["tag"] == "hot").sum()),
    }


# --------------------------------------------------------------------------- the real Dynamics 365 export
def _repair(text: str) -> str:
    """Undo UTF-8 read as Windows-1252 (the export has 'CafÃ©' beside 'Café')."""
    try:
        return text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


@pytest.mark.slow
def test_dynamics_topic_and_customer_match_the_csv(realdata):
    path = realdata("d365-contoso-coffee/data/Opportunity.csv")
    result = ck.load_crm(path)
    assert result.source.columns["name"] == "Topic" and result.source.columns["account"] == "Potential Customer"
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(result.deals)  # one deal per row: names follow the rows in order
    assert result.deals["name"].tolist() == [" ".join(_repair(r["Topic"]).split()) for r in rows]
    won: dict[str, float] = defaultdict(float)
    for r in rows:
        if r["Status"] == "Won":
            actual = r["Actual Revenue"].strip()
            won[" ".join(_repair(r["Potential Customer"]).split())] += float(actual or r["Est. revenue"])
    table = ck.kpi_table(result, by="account")
    got = {a: v for a, v in zip(table["account"], table["won_amount"]) if v}
    assert got.keys() == {a for a, v in won.items() if v}
    for account, amount in won.items():
        if amount:
            assert got[account] == pytest.approx(amount, abs=0.005), account
    # the same on the prepared engine and by DuckDB over the pandas table
    assert ck.kpi_table(ck.prepare(result), by="account")["won_amount"].tolist() == table["won_amount"].tolist()
    replaced = dataclasses.replace(result, deals=result.deals)
    assert ck.win_rate(replaced, by="account").equals(ck.win_rate(result.deals, by="account"))
