"""The bundled sample: seeded, realistic, and read back through load_crm like user data."""

import csv
import filecmp
import unicodedata
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import channelkpi as ck
from channelkpi.datasets import EXPORT_DATE, make_deals, make_sample_deals, sample_path, write_sample

COMPARED = [
    "partner",
    "owner",
    "department",
    "unit",
    "channel",
    "source",
    "status",
    "created",
    "closed",
    "expected_close",
    "amount",
    "probability",
]


@pytest.fixture(scope="module")
def truth():
    return make_sample_deals()


def read_csv_rows(path) -> list[dict[str, str]]:
    """A CSV's data rows as dicts with the csv module (a Salesforce export's footer left out)."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if r.get("Opportunity ID", "x") and None not in r.values()]


def read_sheet(path) -> list[dict[str, object]]:
    """The first sheet's rows as dicts of cell values, read with openpyxl."""
    wb = load_workbook(path, read_only=True)
    try:
        rows = wb.active.iter_rows(values_only=True)
        headers = next(rows)
        return [dict(zip(headers, row, strict=True)) for row in rows]
    finally:
        wb.close()  # a read-only workbook keeps its file open until closed


@pytest.fixture(scope="module")
def salesforce_rows():
    return read_csv_rows(sample_path("salesforce"))


@pytest.fixture(scope="module")
def hubspot_rows():
    return read_sheet(sample_path("hubspot"))


@pytest.fixture(scope="module")
def hubspot_deals(hubspot_rows):
    """Record ID -> its rows, in file order."""
    out = defaultdict(list)
    for row in hubspot_rows:
        out[row["Record ID"]].append(row)
    return dict(out)


def plain(name: str) -> str:
    """A name as a person reads it: no surrounding spaces, case or accents."""
    decomposed = unicodedata.normalize("NFKD", name.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def assert_same_deals(loaded: pd.DataFrame, truth: pd.DataFrame):
    assert len(loaded) == len(truth)
    a = loaded.reset_index(drop=True)
    b = truth.reset_index(drop=True)
    for col in COMPARED:
        pd.testing.assert_series_equal(a[col], b[col], check_names=False, obj=col)


@pytest.mark.slow
def test_salesforce_sample_reads_back_to_the_truth(truth):
    result = ck.load_crm(sample_path("salesforce"))
    assert result.source.preset == "salesforce_report"
    assert_same_deals(result.deals, truth)
    assert result.deals["deal_id"].tolist() == truth["deal_id"].tolist()
    s = result.summary()
    assert (s["kept"], s["merged"], s["rejected"]) == (len(truth), 0, 3)  # three footer lines
    assert result.warnings == []


@pytest.mark.slow
def test_hubspot_sample_reads_back_to_the_truth(truth, hubspot_rows, hubspot_deals):
    result = ck.load_crm(sample_path("hubspot"))
    assert result.source.preset == "hubspot"
    assert_same_deals(result.deals, truth)
    # every row after a deal's first is one of its line items, summed into the first
    several = {i: rows for i, rows in hubspot_deals.items() if len(rows) > 1}
    extra = sum(len(rows) - 1 for rows in several.values())
    s = result.summary()
    assert (s["rows_read"], s["kept"], s["merged"], s["rejected"]) == (len(hubspot_rows), len(hubspot_deals), extra, 0)
    assert set(result.ledger["reason"]) == {"line_item"} and len(result.ledger) == extra
    assert result.warnings == [
        f"{extra} row(s) repeat a deal id with other values: read as line items of {len(several)} deal(s), "
        "amounts summed (see the ledger)"
    ]


@pytest.mark.slow
def test_each_hubspot_deal_is_the_sum_of_its_line_items(hubspot_deals):
    result = ck.load_crm(sample_path("hubspot"))
    loaded = dict(zip(result.deals["deal_id"], result.deals["amount"], strict=True))
    assert len(loaded) == len(hubspot_deals)
    sizes = defaultdict(int)
    for record_id, rows in hubspot_deals.items():
        sizes[len(rows)] += 1
        deal_cells = [
            {k: v for k, v in r.items() if k not in ("Product", "Quantity", "Unit price", "Amount")} for r in rows
        ]
        assert all(d == deal_cells[0] for d in deal_cells), f"deal {record_id}: deal properties differ between lines"
        if rows[0]["Amount"] is None:  # not valued yet: no line items
            assert len(rows) == 1 and rows[0]["Product"] is None
            assert np.isnan(loaded[str(record_id)])
            continue
        products = [r["Product"] for r in rows]
        assert all(products) and len(set(products)) == len(products), f"deal {record_id}: {products}"
        for r in rows:  # quantity x unit price is the line amount, to the cent
            assert Decimal(str(r["Quantity"])) * Decimal(str(r["Unit price"])) == Decimal(str(r["Amount"]))
        lines = sum(Decimal(str(r["Amount"])) for r in rows)
        assert Decimal(str(loaded[str(record_id)])) == lines, f"deal {record_id}"
    assert set(sizes) == {1, 2, 3} and sizes[2] > 100 and sizes[3] > 100


@pytest.mark.slow
def test_both_exports_name_the_same_deals_accounts_and_products(salesforce_rows, hubspot_deals):
    assert len(salesforce_rows) == len(hubspot_deals)
    for row in salesforce_rows:
        hub = hubspot_deals[int(row["Opportunity ID"][5:]) + 14_000_000_000]
        assert (row["Partner Account"], row["Opportunity Owner"]) == (hub[0]["Partner"] or "", hub[0]["Deal owner"])
        name, account, product = row["Opportunity Name"], row["Account Name"], row["Product"]
        assert name == hub[0]["Deal Name"] and account == hub[0]["Associated Company"]
        assert name.startswith(account + " ") and len(name) > len(account) + 5
        # Salesforce's single product is the deal's lead line item (the largest), blank without lines
        assert product == (hub[0]["Product"] or "")
        if product:
            assert hub[0]["Amount"] == max(r["Amount"] for r in hub)
    accounts = pd.Series([r["Account Name"] for r in salesforce_rows])
    assert accounts.nunique() > 300 and accounts.value_counts().iloc[0] > 5  # customers buy again
    assert len({r["Opportunity Name"] for r in salesforce_rows}) > 0.8 * len(salesforce_rows)
    products = {r["Product"] for r in salesforce_rows}
    assert len(products - {""}) >= 6


@pytest.mark.slow
def test_the_partner_table_covers_the_exports_partners(salesforce_rows):
    table = read_csv_rows(sample_path("partners"))
    assert list(table[0]) == ["partner", "tier", "region", "signed"]
    in_table = {plain(r["partner"]): r for r in table}
    assert len(in_table) == len(table), "two rows of the partner table are one partner"
    exported = {r["Partner Account"] for r in salesforce_rows if r["Partner Account"]}  # HubSpot's are the same
    assert {plain(p) for p in exported} <= set(in_table)
    # three names are spelt differently (accents, case, a trailing space), none beyond plain()
    differ = sorted(p for p in exported if in_table[plain(p)]["partner"] != p)
    assert differ == ["Baker & Lowe Consulting", "Café Systèmes SARL", "Lumen Reseller Co."]
    assert in_table[plain("Lumen Reseller Co.")]["partner"].endswith(" ")
    # the partners with no deal are the two signed in the last month before the export
    no_deals = set(in_table) - {plain(p) for p in exported}
    assert len(no_deals) == 2
    exported_on = EXPORT_DATE.date()
    for key in no_deals:
        days = (exported_on - date.fromisoformat(in_table[key]["signed"])).days
        assert 0 < days <= 31, (in_table[key], days)
    # everyone else signed before its first deal
    first_deal = defaultdict(lambda: date.max)
    for r in salesforce_rows:
        if r["Partner Account"]:
            created = datetime.strptime(r["Created Date"], "%m/%d/%Y").date()
            first_deal[plain(r["Partner Account"])] = min(first_deal[plain(r["Partner Account"])], created)
    for key, first in first_deal.items():
        assert date.fromisoformat(in_table[key]["signed"]) <= first, in_table[key]
    assert {r["tier"] for r in table} == {"Platinum", "Gold", "Silver", "Registered"}
    assert {r["region"] for r in table} == {"North America", "EMEA", "APAC", "LATAM"}


def test_the_owner_table_agrees_with_every_deal(salesforce_rows):
    table = read_csv_rows(sample_path("owners"))
    assert list(table[0]) == ["owner", "department", "unit", "manager"]
    owners = {r["owner"]: r for r in table}
    assert len(owners) == len(table)
    assert {r["Opportunity Owner"] for r in salesforce_rows} == set(owners)
    for r in salesforce_rows:
        o = owners[r["Opportunity Owner"]]
        assert (r["Owner Role"], r["Territory Region"]) == (o["department"], o["unit"]), r["Opportunity ID"]
    # a reporting tree: every manager is an owner of the table except the one at the top
    tops = {r["manager"] for r in table} - set(owners)
    assert len(tops) == 1
    for r in table:
        seen, boss = set(), r["owner"]
        while boss in owners:
            assert boss not in seen, f"{r['owner']}: a management cycle"
            seen.add(boss)
            boss = owners[boss]["manager"]


@pytest.mark.slow
def test_committed_sample_is_what_the_seeded_generator_writes(tmp_path, hubspot_rows):
    paths = write_sample(tmp_path)
    assert sorted(paths) == ["history", "hubspot", "owners", "partners", "salesforce", "snapshots", "targets"]
    for name in ("salesforce", "targets", "partners", "owners", "history"):
        assert filecmp.cmp(paths[name], sample_path(name), shallow=False), f"{name} differs: run `make sample`"
    written = sorted(p.name for p in paths["snapshots"].iterdir())
    assert written == sorted(p.name for p in sample_path("snapshots").iterdir()), "snapshots differ: run `make sample`"
    for name in written:
        fresh, committed = paths["snapshots"] / name, sample_path("snapshots") / name
        assert filecmp.cmp(fresh, committed, shallow=False), f"snapshot {name} differs: run `make sample`"
    # a workbook's bytes carry zip timestamps: compare its cells
    assert read_sheet(paths["hubspot"]) == hubspot_rows


@pytest.mark.slow
def test_sample_is_realistic(truth):
    partners = truth.loc[truth["partner"] != "(direct)", "partner"]
    sizes = partners.value_counts()
    assert len(sizes) >= 20
    assert sizes.max() / sizes.min() > 10  # very different sizes
    assert truth["department"].nunique() == 3 and truth["unit"].nunique() == 4
    assert set(truth["channel"]) >= {"paid", "earned", "owned", "partner"}
    assert set(truth["status"]) == {"open", "won", "lost"}
    years = truth["created"].dt.year.value_counts()
    assert set(years.index) == {2023, 2024, 2025}
    # summer peak: June-August creations per month beat the rest of the year's average
    by_month = truth["created"].dt.month.value_counts().sort_index()
    assert by_month.loc[[6, 7, 8]].mean() > 1.2 * by_month.drop([6, 7, 8]).mean()
    open_ = truth[truth["status"] == "open"]
    assert open_["probability"].between(0.05, 0.95).all() and open_["closed"].isna().all()


@pytest.mark.slow
def test_targets_file(truth):
    targets = pd.read_csv(sample_path("targets"))
    assert targets.columns.tolist() == ["partner", "quarter", "target"]
    assert set(targets["partner"]) == set(truth["partner"]) - {"(direct)"}
    assert targets["quarter"].str.fullmatch(r"\d{4}-Q[1-4]").all()
    assert (targets["target"] > 0).all()


def test_make_deals_is_seeded_and_canonical():
    a, b = make_deals(2_000, seed=3), make_deals(2_000, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not make_deals(2_000, seed=4).equals(a)
    assert a.dtypes.to_dict() == ck.empty_deals().dtypes.to_dict()
    assert (a.loc[a["status"] == "open", "closed"].isna()).all()
    assert np.isin(a["status"].unique(), ["open", "won", "lost"]).all()


def test_unknown_sample_name():
    with pytest.raises(ck.ChannelKPIError, match="no sample called 'pipedrive'") as caught:
        sample_path("pipedrive")
    assert "owners" in str(caught.value) and "partners" in str(caught.value)


def test_every_sample_file_has_an_accessor():
    names = {"salesforce", "hubspot", "targets", "partners", "owners", "history", "snapshots"}
    assert {sample_path(n).name for n in names} == {p.name for p in sample_path().parent.iterdir()} - {"README.md"}
