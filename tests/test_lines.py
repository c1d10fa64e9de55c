"""Products from line items: ``result.lines`` and ``by="product"`` on a load result.

Expected numbers come from the sample HubSpot workbook read with openpyxl in plain Python: a
product's won amount is the sum of its lines in won deals, its counts are the deals containing it.
"""

from __future__ import annotations

import os
from collections import defaultdict

import numpy as np
import openpyxl
import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.metrics.products import deals_by_line

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "data", "sample", "kestrel_hubspot_deals.xlsx")


@pytest.fixture(scope="module")
def sheet():
    """The workbook's rows as dicts, each with its spreadsheet row number."""
    book = openpyxl.load_workbook(SAMPLE, read_only=True)
    try:
        rows = list(book.active.iter_rows(values_only=True))
    finally:
        book.close()
    header = rows[0]
    return [dict(zip(header, r), _row=i) for i, r in enumerate(rows[1:], start=2)]


def _status(stage: str) -> str:
    return {"Closed Won": "won", "Closed Lost": "lost"}.get(stage, "open")


@pytest.fixture(scope="module")
def expected(sheet):
    """Per product: won amount (its lines in won deals), won and closed deals containing it."""
    won_amount = defaultdict(float)
    won, closed = defaultdict(set), defaultdict(set)
    for r in sheet:
        product, status, deal = r["Product"], _status(r["Deal Stage"]), str(r["Record ID"])
        if product is None:
            continue
        if status == "won":
            won_amount[product] += r["Amount"] or 0.0
            won[product].add(deal)
        if status in ("won", "lost"):
            closed[product].add(deal)
    return {
        p: {
            "won_amount": won_amount[p],
            "won_count": len(won[p]),
            "n": len(closed[p]),
            "win_rate": len(won[p]) / len(closed[p]),
        }
        for p in closed
    }


@pytest.fixture(scope="module")
def result():
    return ck.load_crm(SAMPLE)


def _by_product(table: pd.DataFrame, column: str) -> dict[str, float]:
    return {p: v for p, v in zip(table["product"], table[column]) if p != "(none)"}


def _check(win: pd.DataFrame, size: pd.DataFrame, expected) -> None:
    assert set(_by_product(win, "n")) == set(expected)
    for p, e in expected.items():
        assert _by_product(win, "won_count")[p] == e["won_count"], p
        assert _by_product(win, "n")[p] == e["n"], p
        assert _by_product(win, "win_rate")[p] == pytest.approx(e["win_rate"]), p
        assert _by_product(size, "won_amount")[p] == pytest.approx(e["won_amount"]), p
        assert _by_product(size, "won_count")[p] == e["won_count"], p


@pytest.mark.slow
def test_the_sample_has_deals_with_several_products(sheet):
    """(Otherwise the tests below could not tell products from deals.)"""
    products = defaultdict(set)
    for r in sheet:
        products[r["Record ID"]].add(r["Product"])
    assert sum(len(p) > 1 for p in products.values()) > 1000


@pytest.mark.parametrize("engine", ["auto", "pandas"])
@pytest.mark.slow
def test_by_product_on_the_load_result_counts_deals_containing_it(result, expected, engine):
    win = ck.win_rate(result, by="product", engine=engine)
    size = ck.average_deal_size(result, by="product", engine=engine)
    _check(win, size, expected)


@pytest.mark.slow
def test_prepared_from_the_result_gives_the_same(result, expected):
    prepared = ck.prepare(result)
    _check(ck.win_rate(prepared, by="product"), ck.average_deal_size(prepared, by="product"), expected)
    assert ck.win_rate(prepared, by="product").attrs["channelkpi"]["engine"] == "numpy"
    table = ck.kpi_table(prepared, by="product")
    assert _by_product(table, "won_amount") == pytest.approx({p: e["won_amount"] for p, e in expected.items()})


def _polars(table):
    pl = pytest.importorskip("polars")
    return pl.from_pandas(table.assign(status=table["status"].astype(str)))


@pytest.fixture(scope="module")
def line_parquet(result, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lines") / "deals"
    folder.mkdir()
    table = deals_by_line(result.deals, result.lines, by=("product",))  # (a deal on several rows: no validation)
    table.assign(status=table["status"].astype(str)).to_parquet(folder / "part-0.parquet", coerce_timestamps="us")
    return folder


@pytest.mark.parametrize("engine", ["polars", "polars_lazy", "duckdb", pytest.param("spark", marks=pytest.mark.slow)])
@pytest.mark.slow
def test_the_deal_x_product_table_gives_the_same_on_every_engine(result, expected, line_parquet, engine, request):
    """Deals on another engine: the deal x product table, put there, is read with no engine code of its own."""
    table = deals_by_line(result.deals, result.lines, by=("product",))
    if engine == "polars":
        frame = _polars(table)
    elif engine == "polars_lazy":
        frame = _polars(table).lazy()
    elif engine == "duckdb":
        import duckdb

        frame = duckdb.connect().read_parquet(str(line_parquet / "*.parquet"))
    else:
        frame = request.getfixturevalue("spark").read.parquet(str(line_parquet))
    _check(ck.win_rate(frame, by="product"), ck.average_deal_size(frame, by="product"), expected)


@pytest.mark.slow
def test_deals_elsewhere_with_lines_is_a_clear_error(result):
    import dataclasses

    pl = pytest.importorskip("polars")
    moved = dataclasses.replace(
        result, deals=pl.from_pandas(result.deals.assign(status=result.deals["status"].astype(str)))
    )
    with pytest.raises(ck.ChannelKPIError, match="line items"):
        ck.win_rate(moved, by="product")
    assert len(ck.win_rate(moved, by="partner")) == len(ck.win_rate(result, by="partner"))  # deal level: as before


@pytest.mark.slow
def test_deal_level_kpis_are_unchanged(result):
    for by in (None, "partner", ["unit", "channel"]):
        got = ck.kpi_table(result, by=by, freq="Q")
        want = ck.kpi_table(result.deals, by=by, freq="Q")
        pd.testing.assert_frame_equal(got, want)
    pd.testing.assert_frame_equal(ck.win_rate(ck.prepare(result), by="owner"), ck.win_rate(result.deals, by="owner"))
    # the deals table is one row per deal, its amounts the sums of its lines
    assert result.deals["deal_id"].is_unique
    sums = result.lines.groupby("deal_id")["amount"].sum(min_count=1)
    assert np.allclose(result.deals.set_index("deal_id")["amount"].loc[sums.index], sums, equal_nan=True)


@pytest.mark.slow
def test_lines_are_exactly_the_line_rows_and_the_ledger_balances(result, sheet):
    s = result.summary()
    assert s["rows_read"] == s["kept"] + s["merged"] + s["rejected"] == len(sheet)
    lines = result.lines
    assert list(lines.columns) == ["row", "deal_id", "product", "amount"]
    assert lines["row"].tolist() == [r["_row"] for r in sheet]
    assert lines["deal_id"].tolist() == [str(r["Record ID"]) for r in sheet]
    assert [None if pd.isna(p) else p for p in lines["product"]] == [r["Product"] for r in sheet]
    assert [None if pd.isna(a) else a for a in lines["amount"]] == [r["Amount"] for r in sheet]
    # every merged row of the ledger is a line of its deal
    merged = result.ledger[result.ledger["outcome"] == "merged"]
    assert set(merged["reason"]) == {"line_item"}
    assert set(merged["row"]) <= set(lines["row"])


@pytest.mark.slow
def test_kept_columns_that_differ_between_lines_are_line_columns(sheet):
    result = ck.load_crm(SAMPLE, keep=["Quantity", "Pipeline"])
    # the quantity is the line's, the pipeline the deal's (the same on every line)
    assert list(result.lines.columns) == ["row", "deal_id", "product", "amount", "quantity"]
    deals_with = defaultdict(set)
    for r in sheet:
        if _status(r["Deal Stage"]) == "won":
            deals_with[str(r["Quantity"])].add(r["Record ID"])
    got = ck.deal_count(result, by="quantity")
    assert {q: n for q, n in zip(got["quantity"], got["won_count"]) if n} == {q: len(d) for q, d in deals_with.items()}


@pytest.mark.slow
def test_where_on_a_product_sums_its_lines_once_per_deal(result, sheet):
    chosen = {"NGFW Firewall", "CX Core Switch"}
    won_amount, won, closed = defaultdict(float), defaultdict(set), defaultdict(set)
    for r in sheet:
        if r["Product"] not in chosen:
            continue
        partner, status = r["Partner"] or "(direct)", _status(r["Deal Stage"])
        if status == "won":
            won_amount[partner] += r["Amount"]
            won[partner].add(r["Record ID"])
        if status != "open":
            closed[partner].add(r["Record ID"])
    where = {"product": sorted(chosen)}
    for deals in (result, ck.prepare(result)):
        size = ck.average_deal_size(deals, by="partner", where=where)
        win = ck.win_rate(deals, by="partner", where=where)
        assert dict(zip(size["partner"], size["won_amount"])) == pytest.approx(
            {p: won_amount.get(p, 0.0) for p in size["partner"]}
        )
        assert dict(zip(win["partner"], win["won_count"])) == {p: len(won.get(p, ())) for p in win["partner"]}
        assert dict(zip(win["partner"], win["n"])) == {p: len(closed.get(p, ())) for p in win["partner"]}
        assert {p for p, n in zip(win["partner"], win["n"]) if n} == set(closed)
        # deals with none of the products count as filtered out
        excluded = win.attrs["channelkpi"]["excluded"]
        assert excluded["filtered_out"] == sum(1 for d in result.deals["deal_id"]) - len(
            {r["Record ID"] for r in sheet if r["Product"] in chosen}
        )


@pytest.mark.parametrize("prepared", [False, True])
@pytest.mark.slow
def test_deals_behind_a_product_cell_reproduce_it(result, expected, prepared):
    deals = ck.prepare(result) if prepared else result
    product = "NGFW Firewall"
    rows = ck.deals_behind(deals, "win_rate", by="product", cell={"product": product})
    counted = rows[~rows["counts_as"].str.startswith("excluded")]
    assert (rows["product"] == product).all()
    assert counted["deal_id"].is_unique  # a deal once per product
    assert (counted["counts_as"] == "won").sum() == expected[product]["won_count"]
    assert len(counted) == expected[product]["n"]
    won = ck.deals_behind(deals, "average_deal_size", by="product", cell={"product": product}, column="won_amount")
    won = won[won["counts_as"] == "won"]
    assert won["amount"].sum() == pytest.approx(expected[product]["won_amount"])
    # the line amount of the product is shown beside the deal's own
    assert (won["deal_amount"] >= won["amount"]).all() and (won["deal_amount"] > won["amount"]).any()


@pytest.mark.slow
def test_deals_behind_a_product_by_quarter(result):
    table = ck.win_rate(result, by="product", freq="Q")
    row = table[(table["n"] > 0) & (table["product"] != "(none)")].iloc[3]
    rows = ck.deals_behind(
        result, "win_rate", by="product", freq="Q", cell={"product": row["product"], "period": row["period"]}
    )
    assert (rows["counts_as"] == "won").sum() == row["won_count"]
    assert rows["counts_as"].isin(["won", "lost"]).sum() == row["n"]


@pytest.mark.slow
def test_an_export_without_repeats_has_no_lines():
    result = ck.load_crm(b"Deal ID,Status,Product,Amount\nD1,Won,Switch,10\nD2,Lost,Support,5\n")
    assert result.lines is None
    pd.testing.assert_frame_equal(ck.win_rate(result, by="product"), ck.win_rate(result.deals, by="product"))


def test_stage_history_has_no_lines():
    csv = b"Deal ID,Stage,Amount,Created\nD1,Prospecting,10,2024-01-01\nD1,Closed Won,10,2024-02-01\n"
    result = ck.load_crm(csv)
    assert result.lines is None and len(result.deals) == 1


@pytest.mark.slow
def test_salesforce_opportunities_with_products_read_the_line_total():
    csv = (
        b"Opportunity Owner,Opportunity ID,Opportunity Name,Account Name,Stage,Amount,Product Name,Quantity,"
        b"Total Price,Close Date,Created Date\n"
        b"Ann,006A,Roof,Acme,Closed Won,300,Switch,2,200,3/1/2024,1/1/2024\n"
        b"Ann,006A,Roof,Acme,Closed Won,300,Support,1,100,3/1/2024,1/1/2024\n"
        b"Bob,006B,Wall,Birch,Closed Lost,50,Switch,1,50,3/5/2024,1/2/2024\n"
    )
    result = ck.load_crm(csv)
    assert result.deals.set_index("deal_id")["amount"].to_dict() == {"006A": 300.0, "006B": 50.0}
    size = ck.average_deal_size(result, by="product")
    assert dict(zip(size["product"], size["won_amount"])) == {"Support": 100.0, "Switch": 200.0}
    win = ck.win_rate(result, by="product")
    assert dict(zip(win["product"], win["win_rate"])) == {"Support": 1.0, "Switch": 0.5}


def test_explain_says_what_by_product_means():
    for kpi in ("win_rate", "average_deal_size", "deal_count", "pipeline"):
        text = ck.explain(kpi)
        assert "containing" in text and "line" in text and "do not add up" in text
