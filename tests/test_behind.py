"""The deals behind a KPI cell reproduce the cell: counted again in plain Python from the rows
deals_behind returns, and compared with the KPI function's own number, on every engine."""

from __future__ import annotations

import inspect
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from test_engines import frame_on

import channelkpi as ck
from channelkpi.datasets import make_deals, toy_deals
from channelkpi.errors import ChannelKPIError
from channelkpi.metrics.behind import KPI_COLUMNS, measure_of

#: the other engines, each table built as tests/test_engines.py builds it (slow: Spark starts a JVM)
LAZY = [pytest.param(e, marks=pytest.mark.slow) for e in ("polars", "polars_lazy", "duckdb_parquet", "spark")]
OPTIONS = [
    {"by": "partner", "freq": "M"},
    {"by": ["unit", "channel"], "freq": "Q", "start": "2023-05-17", "end": "2024-08", "fiscal_year_start": 4},
    {"by": "owner"},
    {"freq": "W", "where": {"channel": ["partner", "paid"]}},
    {"start": "2023-03-10", "end": "2024-02-20"},
]
VARIANTS = {
    "average_deal_size": [{}, {"basis": "open"}],
    "deal_count": [{}],
    "pipeline": [{}, {"as_of": "2024-03-15"}],
    "channel_performance": [{}],
    "win_rate": [{}, {"weight": "value"}, {"denominator": "created"}, {"weight": "value", "denominator": "created"}],
    "deal_velocity": [{}],
    "quality_score": [{"weights": {"won_amount": 1.0, "win_rate_shrunk": 1.0}}],
    "deal_success": [{}],
    "kpi_table": [{}],
}


@pytest.fixture(scope="module")
def deals():
    """Sparse, with missing amounts and dates and deals closed before they were created."""
    d = make_deals(1500, partners=40, months=24, seed=23).copy()
    rng = np.random.default_rng(23)
    idx = rng.choice(len(d), 90, replace=False)
    d.loc[idx[:30], "amount"] = np.nan
    d.loc[idx[30:50], "created"] = pd.NaT
    d.loc[idx[50:70], "owner"] = None
    d.loc[idx[70:90], "expected_close"] = pd.NaT
    closed = d.index[d["status"] != "open"]
    d.loc[closed[:15], "closed"] = pd.NaT
    d.loc[closed[20:30], "created"] = d.loc[closed[20:30], "closed"] + pd.Timedelta(days=3)
    d["region"] = np.where(d.index % 3 == 0, "North", "South")  # a column of the user's own
    return ck.validate_deals(d).assign(region=d["region"].to_numpy())


@pytest.fixture(scope="module")
def parquet_folder(deals, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lake") / "deals"
    half = len(deals) // 2
    ck.to_parquet(deals.iloc[:half], folder)
    ck.to_parquet(deals.iloc[half:], folder)
    return folder


# --------------------------------------------------------------------------- the independent count
def _cents(amounts) -> int:
    return sum(math.floor(a * 100 + 0.5) for a in amounts if a == a)


def _labels(rows: pd.DataFrame) -> list[list[str]]:
    return [str(s).split("; ") for s in rows["counts_as"]]


def recount(rows: pd.DataFrame, kpi: str, column: str, variant: dict) -> float | None:
    """The cell's value counted again from the rows, in plain Python (None: a statistic whose
    raw parts are checked through other columns)."""
    labels = _labels(rows)
    amounts = rows["amount"].tolist()
    counted = [i for i, lab in enumerate(labels) if not lab[0].startswith("excluded")]

    def having(*names):
        return [i for i in counted if any(n in labels[i] for n in names)]

    won, lost = having("won"), having("lost")
    cohort = [i for i in counted if any(s.startswith("created in the period") for s in labels[i])]
    cohort_won = having("created in the period (won)")
    cohort_lost = having("created in the period (lost)")
    cohort_open = having("created in the period (still open)")
    amount = lambda ix: _cents(amounts[i] for i in ix) / 100  # noqa: E731
    if kpi == "deal_success" or column in ("success_rate", "pending_share"):
        return {
            "created_count": len(cohort),
            "won_count": len(cohort_won),
            "lost_count": len(cohort_lost),
            "open_count": len(cohort_open),
            "success_rate": len(cohort_won) / len(cohort) if cohort else None,
            "pending_share": len(cohort_open) / len(cohort) if cohort else None,
            "lost_share": len(cohort_lost) / len(cohort) if cohort else None,
            "success_rate_value": (_cents(amounts[i] for i in cohort_won) / _cents(amounts[i] for i in cohort))
            if _cents(amounts[i] for i in cohort) > 0
            else None,
        }[column]
    if column == "created_count":
        return len(cohort)
    if kpi == "win_rate" and variant.get("denominator") == "created" and column in ("win_rate", "n"):
        if column == "n":
            return len(cohort)
        if variant.get("weight") == "value":
            den = _cents(amounts[i] for i in cohort)
            return _cents(amounts[i] for i in won) / den if den > 0 else None
        return len(won) / len(cohort) if cohort else None
    if kpi == "average_deal_size" and variant.get("basis") == "open":
        with_amount = [amounts[i] for i in counted]
        return {
            "avg_deal_size": (_cents(with_amount) / len(counted) / 100) if counted else None,
            "median_deal_size": float(np.median(with_amount)) if counted else None,
            "amount_count": len(counted),
            "open_count": len(counted),
            "open_amount": amount(counted),
        }[column]
    if column in ("open_count", "open_amount", "weighted_amount", "open_start_count", "change_count", "change_amount"):
        end = [i for i in counted if labels[i][0] in ("open at the period end", "open at the period start and end")]
        start = [i for i in counted if labels[i][0] in ("open at the period start", "open at the period start and end")]
        probs = rows["probability"].tolist()
        return {
            "open_count": len(end),
            "open_amount": amount(end),
            "weighted_amount": _cents(amounts[i] * probs[i] for i in end) / 100,
            "open_start_count": len(start),
            "change_count": len(end) - len(start),
            "change_amount": (_cents(amounts[i] for i in end) - _cents(amounts[i] for i in start)) / 100,
        }[column]
    if column.startswith("cycle_days") or column.startswith("lost_cycle_days"):
        days = [(rows["closed"].iloc[i] - rows["created"].iloc[i]).days for i in counted]
        if not days:
            return None
        return float(np.median(days)) if column.endswith("median") else sum(days) / len(days)
    if column in ("won_count",):
        return len(won)
    if column == "lost_count":
        return len(lost)
    if column in ("closed_count", "n"):
        return len(won) + len(lost)
    if column == "won_amount" or column.startswith("won_amount_"):
        return amount(won)
    if column == "lost_amount":
        return amount(lost)
    if column in ("avg_deal_size", "amount_count", "median_deal_size"):
        if column == "amount_count":
            return len(won)
        if not won:
            return None
        vals = [amounts[i] for i in won]
        return _cents(vals) / len(vals) / 100 if column == "avg_deal_size" else float(np.median(vals))
    if column == "win_rate":
        if variant.get("weight") == "value":
            den = _cents(amounts[i] for i in won + lost)
            return _cents(amounts[i] for i in won) / den if den > 0 else None
        return len(won) / (len(won) + len(lost)) if won or lost else None
    return None  # a statistic: its raw counts are the cell's won_count and n (checked below)


def _cells(table: pd.DataFrame, levels: list[str], freq, rng) -> list[int]:
    """A few rows of the table: the busiest, the first, a random one, and an empty one."""
    if not len(table):
        return []
    picks = {0, len(table) - 1, int(rng.integers(len(table)))}
    busy = next((c for c in ("won_count", "created_count", "open_count", "n") if c in table), None)
    if busy:
        picks.add(int(table[busy].to_numpy().argmax()))
        zero = np.flatnonzero(table[busy].to_numpy() == 0)
        if len(zero):
            picks.add(int(zero[0]))
    return sorted(picks)


def _cell_of(row: pd.Series, levels: list[str], freq, i: int) -> dict:
    cell = {lv: row[lv] for lv in levels}
    if freq is not None:
        # the label the table shows, or the period's first day (both name the period)
        cell["period"] = row["period"] if i % 2 == 0 else row["period_start"]
    return cell


def _close(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b)) or b == 0
    return (
        b is not None
        and not (isinstance(b, float) and math.isnan(b))
        and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    )


def _columns_of(data) -> set[str]:
    """The columns of the table on its engine (the Parquet files hold the canonical ones)."""
    import narwhals.stable.v2 as nw

    if isinstance(data, ck.PreparedDeals):
        return set(data.deals.columns)
    return set(nw.from_native(data).collect_schema().names())


def check_every_cell(data, reference_deals, kpi: str, options: dict, variant: dict, seed: int = 0) -> int:
    """deals_behind for a few cells of every column of ``kpi``'s table; returns how many
    numbers it checked."""
    rng = np.random.default_rng(seed)
    table = getattr(ck, kpi)(data, **options, **variant)
    by = options["by"] if "by" in options else inspect.signature(getattr(ck, kpi)).parameters["by"].default
    levels = [by] if isinstance(by, str) else list(by or [])
    freq = options.get("freq")
    columns = [c for c in KPI_COLUMNS[kpi] if c in table.columns]
    if kpi == "kpi_table":
        columns += [c for c in table.columns if c.startswith("won_amount_")]
    if kpi == "average_deal_size" and variant.get("basis") == "open":
        columns = [
            c for c in ("avg_deal_size", "median_deal_size", "amount_count", "open_count", "open_amount") if c in table
        ]
    checked = 0
    for i in _cells(table, levels, freq, rng):
        row = table.iloc[i]
        cell = _cell_of(row, levels, freq, i)
        for column in columns:
            rows = ck.deals_behind(data, kpi, column=column, cell=cell, **options, **variant)
            assert _columns_of(data) <= set(rows.columns), "every column of the table comes back"
            expected = row[column]
            if column == "won_share":  # its numerator is the group's won amount
                expected = row["won_amount"]
            if column.startswith("change_") and pd.isna(expected):
                # with freq=None and no start there is no earlier snapshot: the start is the end
                expected = 0
            got = recount(rows, kpi, column, variant)
            where = f"{kpi} {options} {variant} {cell} {column}"
            if got is not None:
                assert _close(got, None if pd.isna(expected) else float(expected)), f"{where}: {got} != {expected}"
                checked += 1
            elif variant.get("denominator") == "created" and column in ("win_rate_low", "win_rate_high"):
                assert pd.isna(expected), "a rate over created deals has no interval"
            elif column in (
                "quality_score",
                "rank",
                "win_rate_shrunk",
                "win_rate_low",
                "win_rate_high",
            ) or column.startswith("pct_"):
                labels = [s for s in rows["counts_as"] if not s.startswith("excluded")]
                assert labels.count("won") == row["won_count"], where
                assert len(labels) == row["n"], where
                checked += 1
    return checked


# --------------------------------------------------------------------------- by hand, on the toy deals
def test_win_rate_cell_by_hand():
    # Birch closed d4 (won 350 on 10 May) and d5 (lost 50 on 15 Apr) in 2024-Q2
    rows = ck.deals_behind(
        toy_deals(), "win_rate", by="partner", freq="Q", cell={"partner": "Birch", "period": "2024-Q2"}
    )
    assert rows["deal_id"].tolist() == ["d4", "d5"]
    assert rows["counts_as"].tolist() == ["won", "lost"]


def test_deal_size_lists_a_won_deal_outside_the_range_as_excluded():
    # Acme won d1 on 15 Feb (before the range) and d2 on 20 Mar; d3 is lost, so not a deal size
    rows = ck.deals_behind(toy_deals(), "average_deal_size", by="partner", start="2024-03-01", cell={"partner": "Acme"})
    assert rows[["deal_id", "counts_as"]].values.tolist() == [["d2", "won"], ["d1", "excluded: outside period"]]


def test_pipeline_by_hand():
    # open at the end of April: d4 (created 2 Apr, won 10 May) and d6 (created 20 Apr, open)
    rows = ck.deals_behind(toy_deals(), "pipeline", freq="M", cell={"period": "2024-04"})
    assert rows["deal_id"].tolist() == ["d6", "d4"]
    assert set(rows["counts_as"]) == {"open at the period end"}
    change = ck.deals_behind(toy_deals(), "pipeline", column="change_count", freq="M", cell={"period": "2024-04"})
    # at the end of March: d5 (created 1 Mar, lost 15 Apr) was open; it left in April
    assert dict(zip(change["deal_id"], change["counts_as"])) == {
        "d6": "open at the period end",
        "d4": "open at the period end",
        "d5": "open at the period start",
    }


def test_cohort_and_velocity_by_hand():
    rows = ck.deals_behind(toy_deals(), "deal_success", freq="Q", cell={"period": pd.Timestamp("2024-04-01")})
    assert dict(zip(rows["deal_id"], rows["counts_as"])) == {
        "d6": "created in the period (still open)",
        "d4": "created in the period (won)",
    }
    rows = ck.deals_behind(toy_deals(), "deal_velocity")
    # cycles of the won deals: d1 36 days, d2 48, d4 38 -> median 38
    cycles = sorted((rows["closed"] - rows["created"]).dt.days)
    assert cycles == [36, 38, 48] and set(rows["counts_as"]) == {"won"}


def test_created_denominator_says_both():
    rows = ck.deals_behind(toy_deals(), "win_rate", denominator="created", freq="Q", cell={"period": "2024-Q2"})
    # won in Q2: d4 (also created in Q2); created in Q2: d4, d6
    assert dict(zip(rows["deal_id"], rows["counts_as"])) == {
        "d4": "won; created in the period (won)",
        "d6": "created in the period (still open)",
    }


# --------------------------------------------------------------------------- cells and errors
@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"by": "partner", "cell": {"partner": "Acmee"}}, "did you mean 'Acme'"),
        ({"by": "partner", "cell": {"partnr": "Acme"}}, "did you mean 'partner'"),
        ({"by": "partner", "cell": {}}, "does not say ['partner']"),
        ({"freq": "Q", "cell": {"period": "2024-Q5"}}, "did you mean"),
        ({"freq": "Q", "cell": {"period": "2024-03"}}, "not a period of freq='Q'"),
        ({"cell": {"period": "2024-Q1"}}, "drop 'period'"),
        ({"freq": "M", "start": "2024-02", "cell": {"period": "2024-01"}}, "outside start=2024-02-01"),
        ({"column": "won_cout"}, "did you mean 'won_count'"),
        ({"column": "sales_velocity"}, "open one of its inputs"),
    ],
)
def test_a_bad_cell_is_a_clear_error(kwargs, words):
    kpi = "deal_velocity" if kwargs.get("column") == "sales_velocity" else "deal_count"
    with pytest.raises(ChannelKPIError) as err:
        ck.deals_behind(toy_deals(), kpi, **kwargs)
    assert words in str(err.value)


def test_a_bad_kpi_is_a_clear_error():
    with pytest.raises(ChannelKPIError, match="did you mean 'win_rate'"):
        ck.deals_behind(toy_deals(), "winrate")


def test_fiscal_labels_and_weeks_name_periods():
    deals = toy_deals()
    q1 = ck.deals_behind(
        deals, "deal_count", column="created_count", freq="Q", fiscal_year_start=2, cell={"period": "FY2025 Q1"}
    )
    # FY2025 Q1 with a February start: February to April 2024
    assert sorted(q1["deal_id"]) == ["d2", "d4", "d5", "d6"]
    week = ck.deals_behind(deals, "deal_count", freq="W", cell={"period": "2024-W07"})
    assert week["deal_id"].tolist() == ["d1"]  # won Thursday 15 Feb 2024


@pytest.mark.slow
def test_kept_columns_and_missing_levels_are_cells(deals):
    table = ck.win_rate(deals, by="owner")
    none = table[table["owner"] == "(none)"].iloc[0]
    rows = ck.deals_behind(deals, "win_rate", by="owner", cell={"owner": "(none)"})
    assert (rows["counts_as"] == "won").sum() == none["won_count"] and len(rows) == none["n"]
    assert rows["owner"].isna().all() and "region" in rows.columns


def test_rows_are_grouped_by_how_they_count_then_by_amount(deals):
    rows = ck.deals_behind(deals, "win_rate", by="partner", cell={"partner": deals["partner"].iloc[0]}, start="2024-01")
    # what the number counts (won) first, the other counted rows next, the excluded ones last;
    # each kind of row in one block, largest amount first
    rank = rows["counts_as"].map(lambda k: 2 if k.startswith("excluded") else 0 if k == "won" else 1)
    assert rank.is_monotonic_increasing and rank.iloc[0] == 0 and rank.nunique() == 3
    assert rows["counts_as"].ne(rows["counts_as"].shift()).sum() == rows["counts_as"].nunique()
    for _, block in rows.groupby("counts_as"):
        amounts = block["amount"].to_numpy()
        assert (np.diff(amounts[~np.isnan(amounts)]) <= 0).all()


@pytest.mark.parametrize(
    ("kpi", "variant"),
    [("win_rate", {}), ("win_rate", {"weight": "value"}), ("deal_success", {}), ("pipeline", {})],
)
@pytest.mark.slow
def test_the_excluded_rows_are_what_explain_counts(deals, kpi, variant):
    """Over the whole range, the rows listed as excluded are the KPI's own exclusion counts,
    and the counted rows are the rows it used (open deals, which a close rate never reads, are
    not listed)."""
    options = {"start": "2023-03-10", "end": "2024-02-20"}
    meta = getattr(ck, kpi)(deals, **options, **variant).attrs["channelkpi"]
    rows = ck.deals_behind(deals, kpi, **options, **variant)
    listed = Counter(
        s.removeprefix("excluded: ").replace(" ", "_") for s in rows["counts_as"] if s.startswith("excluded")
    )
    expected = {k: v for k, v in meta["excluded"].items() if k != "not_closed"}
    assert dict(listed) == expected and expected
    counted = len(rows) - sum(listed.values())
    if kpi == "pipeline":  # used: every deal on the timeline; listed: those open at the end
        assert counted == ck.pipeline(deals, **options)["open_count"].iloc[0]
    else:
        assert counted == meta["used"]


# --------------------------------------------------------------------------- every KPI, every option
@pytest.mark.parametrize("kpi", list(VARIANTS))
@pytest.mark.parametrize(
    "options", OPTIONS, ids=["partner-month", "unit-channel-fiscal", "owner", "week-where", "range"]
)
@pytest.mark.parametrize("engine", ["prepared", pytest.param("pandas", marks=pytest.mark.slow)] + LAZY)
@pytest.mark.slow
def test_the_rows_reproduce_every_cell(deals, kpi, options, engine, request, parquet_folder):
    if engine == "prepared":
        data = ck.prepare(deals)
    elif engine == "pandas":
        data = deals
    else:
        data = frame_on(engine, request, deals, parquet_folder)
    checked = sum(check_every_cell(data, deals, kpi, options, variant) for variant in VARIANTS[kpi])
    assert checked > 0


def test_measures_cover_every_listed_column():
    for kpi, columns in KPI_COLUMNS.items():
        for column in columns:
            assert measure_of(kpi, column)[0] == column
