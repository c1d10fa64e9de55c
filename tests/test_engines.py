"""The same KPIs on every engine: pandas, polars (eager and lazy), DuckDB relations (over a Parquet
dataset) and PySpark in local mode, each checked against the pandas path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.datasets import make_deals, warehouse_frame

pytestmark = pytest.mark.slow  # every engine on every KPI (the quick run checks prepared and DuckDB elsewhere)

TEXT = ["deal_id", "partner", "owner", "department", "unit", "channel", "source", "stage", "currency"]
KPIS = [
    "deal_count",
    "average_deal_size",
    "pipeline",
    "channel_performance",
    "win_rate",
    "deal_velocity",
    "quality_score",
    "deal_success",
    "kpi_table",
    "pipeline_waterfall",
]
OPTIONS = [
    {"by": "partner", "freq": "M"},
    {"by": ["unit", "channel"], "freq": "Q", "start": "2023-05-17", "end": "2024-08", "fiscal_year_start": 4},
    {"by": "owner"},
    {"freq": "W", "where": {"channel": ["partner", "paid"]}},
]


@pytest.fixture(scope="module")
def deals():
    """Sparse, with missing amounts and dates and deals closed before they were created."""
    d = make_deals(3000, partners=300, months=24, seed=17).copy()
    rng = np.random.default_rng(17)
    idx = rng.choice(len(d), 90, replace=False)
    d.loc[idx[:30], "amount"] = np.nan
    d.loc[idx[30:50], "created"] = pd.NaT
    d.loc[idx[50:70], "owner"] = None
    closed = d.index[d["status"] != "open"]
    d.loc[closed[:15], "closed"] = pd.NaT
    d.loc[closed[20:30], "created"] = d.loc[closed[20:30], "closed"] + pd.Timedelta(days=3)
    return ck.validate_deals(d)


@pytest.fixture(scope="module")
def parquet_folder(deals, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lake") / "deals"
    half = len(deals) // 2
    ck.to_parquet(deals.iloc[:half], folder)
    ck.to_parquet(deals.iloc[half:], folder)
    return folder


def _polars(deals):
    pl = pytest.importorskip("polars")
    return pl.from_pandas(deals.assign(status=deals["status"].astype(str)))


def _duckdb(parquet_folder):
    import duckdb

    return duckdb.connect().read_parquet(str(parquet_folder / "*.parquet"))


ENGINES = ["prepared", "polars", "polars_lazy", "duckdb_parquet", "spark"]


def frame_on(engine, request, deals, parquet_folder):
    if engine == "prepared":
        return ck.prepare(deals)
    if engine == "polars":
        return _polars(deals)
    if engine == "polars_lazy":
        return _polars(deals).lazy()
    if engine == "duckdb_parquet":
        return _duckdb(parquet_folder)
    spark = request.getfixturevalue("spark")
    return spark.read.parquet(str(parquet_folder))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("options", OPTIONS, ids=["partner-month", "unit-channel-fiscal-range", "owner", "week-where"])
def test_every_kpi_matches_the_pandas_path(engine, options, request, deals, parquet_folder):
    native = frame_on(engine, request, deals, parquet_folder)
    expected_engine = {
        "prepared": "numpy",
        "polars": "polars",
        "polars_lazy": "polars",
        "duckdb_parquet": "duckdb",
        "spark": "pyspark",
    }[engine]
    for name in KPIS:
        fn = getattr(ck, name)
        opts = dict(options)
        if name == "pipeline_waterfall" and "freq" not in opts:
            opts["freq"] = "M"
        expected = fn(deals, engine="pandas", **opts)
        got = fn(native, **opts)
        assert got.attrs["channelkpi"]["engine"] == expected_engine
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-10, obj=f"{engine} {name}")
        assert got.attrs["channelkpi"]["excluded"] == expected.attrs["channelkpi"]["excluded"], name
    for name in ("seasonality", "cycle_distribution"):
        fn = getattr(ck, name)
        pd.testing.assert_frame_equal(
            fn(native, by="unit"), fn(deals, by="unit", engine="pandas"), check_dtype=False, rtol=1e-10
        )


@pytest.mark.parametrize("engine", ENGINES)
def test_exact_medians_on_every_engine(engine, request, deals, parquet_folder):
    native = frame_on(engine, request, deals, parquet_folder)
    got = ck.average_deal_size(native, by="unit").set_index("unit")
    won = deals[deals["status"] == "won"]
    for unit, part in won.groupby("unit"):
        assert got.loc[unit, "median_deal_size"] == part["amount"].median()  # exact, not approximate
    cycles = ck.deal_velocity(native, by="unit").set_index("unit")
    ok = won.dropna(subset=["created", "closed"])
    ok = ok[ok["closed"] >= ok["created"]]
    for unit, part in ok.groupby("unit"):
        assert cycles.loc[unit, "cycle_days_median"] == (part["closed"] - part["created"]).dt.days.median()


@pytest.mark.parametrize("engine", ["pandas", "polars_lazy", "duckdb_parquet"])
def test_warehouse_names_and_absent_columns(engine, request, deals, parquet_folder):
    renamed = {"deal_id": "OPPORTUNITY_ID", "partner": "PARTNER_NAME", "closed": "CLOSE_DATE", "amount": "AMOUNT_USD"}
    table = deals.rename(columns=renamed).drop(columns=["owner", "department", "expected_close", "currency"])
    if engine == "polars_lazy":
        table = _polars(table).lazy()
    elif engine == "duckdb_parquet":
        import duckdb

        path = parquet_folder.parent / "warehouse.parquet"
        table.assign(status=table["status"].astype(str)).to_parquet(path)
        table = duckdb.connect().read_parquet(str(path))
    columns = {v: k for k, v in renamed.items()}
    got = ck.kpi_table(table, by="partner", freq="Q", columns=columns)
    stripped = deals.drop(columns=["owner", "department", "expected_close", "currency"])
    pd.testing.assert_frame_equal(got, ck.kpi_table(stripped, by="partner", freq="Q"), check_dtype=False, rtol=1e-10)


@pytest.mark.parametrize("engine", ["pandas", "polars_lazy", "duckdb_parquet"])
def test_schema_errors_are_the_same_on_every_engine(engine, deals, parquet_folder):
    broken = deals.drop(columns=["status"])
    if engine == "polars_lazy":
        broken = _polars(deals).lazy().drop("status")
    elif engine == "duckdb_parquet":
        broken = _duckdb(parquet_folder).project("* EXCLUDE (status)")
    with pytest.raises(
        ck.SchemaError, match=r"missing required column\(s\) \['status'\]; the columns there are \['deal_id'"
    ):
        ck.win_rate(broken)
    with pytest.raises(ck.SchemaError, match=r"columns= names \['Stage Name'\]"):
        ck.win_rate(broken, columns={"Stage Name": "status"})


def test_parquet_history_appends_without_double_counting(deals, tmp_path):
    folder = tmp_path / "history"
    ck.to_parquet(deals.iloc[:100], folder)
    with pytest.raises(ck.ChannelKPIError, match="already in"):
        ck.to_parquet(deals.iloc[50:150], folder)
    newer = deals.iloc[50:150].assign(amount=1.0)
    ck.to_parquet(newer, folder, replace=True)
    back = ck.read_parquet(folder).set_index("deal_id")
    assert len(back) == 150
    assert (back.loc[deals["deal_id"].iloc[60], "amount"]) == 1.0
    assert back.loc[deals["deal_id"].iloc[10], "amount"] == deals["amount"].iloc[10] or np.isnan(
        deals["amount"].iloc[10]
    )
    single = ck.to_parquet(deals, tmp_path / "one.parquet")
    pd.testing.assert_frame_equal(ck.read_parquet(single), deals.reset_index(drop=True))


@pytest.mark.parametrize("status,text", [(object, "str"), ("str", "str"), (object, object)])
@pytest.mark.parametrize("engine", ["auto", "pandas", "prepared"])
def test_a_plain_warehouse_frame_gives_the_numbers_of_the_validated_one(deals, status, text, engine):
    plain = warehouse_frame(deals, status=status, text=text)
    before = plain.copy(deep=True)
    validated = ck.validate_deals(plain)
    for options in OPTIONS[:3]:
        for name in ("kpi_table", "pipeline", "average_deal_size"):
            fn = getattr(ck, name)
            table = ck.prepare(plain) if engine == "prepared" else plain
            got = fn(table, **options, **({} if engine == "prepared" else {"engine": engine}))
            expected = fn(validated, **options, engine="pandas")
            pd.testing.assert_frame_equal(got, expected, obj=f"{name} {options}")
            assert got.attrs["channelkpi"]["excluded"] == expected.attrs["channelkpi"]["excluded"]
    pd.testing.assert_frame_equal(plain, before)  # the input is read, never changed


@pytest.mark.parametrize("status", [object, "str"])
def test_a_plain_frame_with_an_unknown_status_gets_the_same_error_on_every_engine(deals, status):
    plain = warehouse_frame(deals, status=status, text="str")
    plain.loc[plain.index[:3], "status"] = "pending"
    plain.loc[plain.index[3], "status"] = None
    for engine in ("auto", "pandas"):
        with pytest.raises(ck.SchemaError, match=r"also has 'pending' \(3 rows\) \(column 'status'\)"):
            ck.win_rate(plain, engine=engine)
