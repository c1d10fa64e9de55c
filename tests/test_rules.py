"""The row rules (channelkpi.metrics.rules): every engine's spelling gives the rule's values, the
values are the ones worked out independently (Python's calendar, pandas periods, by hand), and
the flag layouts are the only place where packing is defined."""

from __future__ import annotations

import datetime as dt
import typing

import duckdb
import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.metrics import rules
from channelkpi.metrics.periods import period_frame
from channelkpi.metrics.query import ENGINES, Engine, make_query
from channelkpi.metrics.stage1 import aggregate, open_stage1

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
GRAINS = [("W", 1), ("M", 1), *[("Q", m) for m in range(1, 13)], *[("Y", m) for m in range(1, 13)], (None, 1)]
EDGES = [
    "1969-12-28",  # a Sunday: the last day of week -1
    "1969-12-29",  # a Monday: week 0 starts
    "1970-01-01",
    "1900-03-01",
    "2000-02-29",
    "2024-12-30",  # ISO week 2025-W01
    "2026-01-31",
    "2026-02-15",
    "2099-12-31",
]


def _dates(n=400, seed=7) -> list[dt.date]:
    rng = np.random.default_rng(seed)
    days = rng.integers(-30_000, 50_000, n)
    return [dt.date.fromisoformat(d) for d in EDGES] + [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in days]


def _independent_label(d: dt.date, freq: str, fys: int) -> str:
    """The period's label from Python's ISO calendar or pandas' fiscal periods."""
    if freq == "W":
        iso = d.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if freq == "M":
        return f"{d.year}-{d.month:02d}"
    end = MONTHS[(fys - 2) % 12]  # the fiscal year ends in the month before it starts
    if freq == "Q":
        p = pd.Period(d, freq=f"Q-{end}")
        return f"{p.qyear}-Q{p.quarter}" if fys == 1 else f"FY{p.qyear} Q{p.quarter}"
    p = pd.Period(d, freq=f"Y-{end}")
    return f"{p.year}" if fys == 1 else f"FY{p.year}"


@pytest.mark.slow
@pytest.mark.parametrize("freq,fys", [g for g in GRAINS if g[0] is not None])
def test_period_keys_name_the_period_that_holds_the_date(freq, fys):
    for d in _dates(150):
        key = rules.date_key(d, freq, fys)
        period = period_frame([key], freq, fys).iloc[0]
        assert period["period_start"] <= pd.Timestamp(d) <= period["period_end"], (d, freq, fys)
        assert period["period"] == _independent_label(d, freq, fys), (d, freq, fys)
        # consecutive periods have consecutive keys
        after = (period["period_end"] + pd.Timedelta(days=1)).date()
        assert rules.date_key(after, freq, fys) == key + 1


def test_hand_computed_keys_and_day_numbers():
    assert rules.day_number(dt.date(1969, 12, 28)) == -4
    assert rules.date_key(dt.date(1969, 12, 28), "W", 1) == -1  # a floor, also before 1970
    assert rules.date_key(dt.date(1969, 12, 29), "W", 1) == 0
    assert rules.date_key(dt.date(1970, 1, 5), "W", 1) == 1
    assert rules.date_key(dt.date(2024, 3, 31), "M", 1) == 2024 * 12 + 2
    # FY2027 Q1 with a February start is Feb-Apr 2026: quarter number 2026 * 4 + 0 of that calendar
    assert rules.date_key(dt.date(2026, 2, 1), "Q", 2) == rules.date_key(dt.date(2026, 4, 30), "Q", 2) == 2026 * 4
    assert rules.date_key(dt.date(2026, 1, 31), "Q", 2) == 2026 * 4 - 1
    assert rules.date_key(dt.date(2026, 3, 31), "Y", 4) == 2025 and rules.date_key(dt.date(2026, 4, 1), "Y", 4) == 2026
    assert rules.date_key(dt.date(2026, 3, 31), None, 4) == 0


def _frames(table: pd.DataFrame) -> dict[str, object]:
    """The same table on every engine narwhals reads."""
    pl = pytest.importorskip("polars")
    return {
        "pandas": nw.from_native(table),
        "polars": nw.from_native(pl.from_pandas(table)),
        "duckdb": nw.from_native(duckdb.connect().from_df(table)),
    }


def _column(frame, expr) -> np.ndarray:
    frame = frame.with_columns(x=expr).select("x")  # (with_columns: a constant stays one per row)
    if frame.implementation.is_duckdb():
        out = frame.to_native().df()["x"]
    else:
        out = frame.to_native()["x"]
        out = out.to_pandas() if hasattr(out, "to_pandas") else out
    return out.to_numpy(dtype=np.int64, na_value=-1)


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["ns", "s"])
def test_every_spelling_gives_the_same_day_numbers_month_indexes_and_keys(unit):
    dates = _dates()
    values = pd.Series([pd.Timestamp(d) for d in dates] + [pd.NaT], dtype=f"datetime64[{unit}]")
    null = values.isna().to_numpy()
    # independently: Python's date arithmetic
    expected_days = np.array([(d - dt.date(1970, 1, 1)).days for d in dates] + [0])
    expected_months = np.array([d.year * 12 + d.month - 1 for d in dates] + [0])
    days, months, np_null = rules.numpy_dates(values.to_numpy())
    assert (days == expected_days).all() and (months == expected_months).all() and (np_null == null).all()
    assert [rules.day_number(d) for d in dates] == expected_days[:-1].tolist()
    pl = pytest.importorskip("polars")
    native_days = {
        "polars": pl.from_pandas(pd.DataFrame({"d": values})).select(rules.polars_days("d"))["d"].to_numpy(),
        "duckdb": duckdb.connect()
        .from_df(pd.DataFrame({"d": values}))
        .project(f"{rules.duckdb_days('d')} AS x")
        .df()["x"]
        .to_numpy(),
    }
    native_months = {
        "polars": pl.from_pandas(pd.DataFrame({"d": values})).select(rules.polars_month_index("d"))["d"].to_numpy(),
        "duckdb": duckdb.connect()
        .from_df(pd.DataFrame({"d": values}))
        .project(f"{rules.duckdb_month_index('d')} AS x")
        .df()["x"]
        .to_numpy(),
    }
    for name in native_days:
        assert (native_days[name] == expected_days).all(), name
        assert (native_months[name] == expected_months).all(), name
    for name, frame in _frames(pd.DataFrame({"d": values})).items():
        assert (_column(frame, rules.narwhals_days("d")) == expected_days).all(), name
        assert (_column(frame, rules.narwhals_month_index("d")) == expected_months).all(), name
        ints = frame.with_columns(
            d_days=rules.narwhals_days("d"),
            d_months=rules.narwhals_month_index("d"),
            d_null=nw.when(nw.col("d").is_null()).then(nw.lit(1)).otherwise(nw.lit(0)),
        )
        for freq, fys in GRAINS:
            expected = [rules.date_key(d, freq, fys) for d in dates] + [rules.NULL_KEY if freq else 0]
            key = rules.numpy_key(days, months, null if freq else np.zeros_like(null), freq, fys)
            assert key.tolist() == expected, (freq, fys)
            got = _column(ints, rules.narwhals_key("d_days", "d_months", "d_null", freq, fys))
            assert got.tolist() == expected, (name, freq, fys)


@pytest.mark.slow
def test_cents_are_rounded_half_up_on_every_engine():
    # binary fractions: the hand-computed value is exact
    by_hand = {0.125: 13, -0.125: -12, 0.375: 38, -0.375: -37, 2.5: 250, 1e6 + 0.005859375: 100000001, 0.0: 0}
    for amount, expected in by_hand.items():
        assert rules.cents(amount) == expected, amount
    rng = np.random.default_rng(3)
    amounts = np.concatenate([list(by_hand), rng.integers(-(10**9), 10**9, 500) / 1000, rng.normal(0, 1e4, 500)])
    expected = np.array([rules.cents(float(a)) for a in amounts])
    assert (rules.cents(amounts, np.floor) == expected).all()
    for name, frame in _frames(pd.DataFrame({"amount": amounts})).items():
        got = _column(frame, rules.narwhals_cents(nw.col("amount")))
        assert (got == expected).all(), name
    assert (expected[: len(by_hand)] == list(by_hand.values())).all()


# --------------------------------------------------------------------------- flags
def test_a_layout_packs_and_unpacks_every_combination():
    layout = rules.FlagLayout(("a", "b", "c"))
    values = np.arange(layout.size)
    flags = layout.unpack(values)
    assert layout.pack(flags).tolist() == values.tolist()
    assert layout.pack({"c": 1}) == 4 and layout.bit("b") == 2
    with pytest.raises(ValueError, match="twice"):
        rules.FlagLayout(("a", "a"))
    with pytest.raises(ValueError, match=r"\['d'\] are not flags"):
        layout.pack({"d": 1})


# Deals whose facts are known by hand: (owner, status, created, closed, expected_close, amount)
FLAG_DEALS = [
    ("a", "open", "2024-02-10", None, "2024-08-01", 100.0),
    ("b", "won", "2023-11-05", "2024-03-01", None, 50.0),
    ("c", "lost", None, "2024-05-05", None, None),
    ("d", "won", "2024-04-10", "2024-04-01", None, 10.0),  # closed before created
    ("e", "lost", "2024-01-15", None, None, 5.0),  # closed without a close date
    ("f", "won", "2024-06-01", "2024-09-01", None, 7.0),  # closed after the range
    ("g", "won", "2024-02-01", "2024-02-20", None, None),  # no amount
]
# ... with start 2024-01-01 and end 2024-06-30 (by hand from the rows above)
CREATED_FACTS = {
    "a": {"cr_in": 1, "cl_in": 0, "cl_null": 1, "cr_null": 0, "cbc": 0, "has_amount": 1, "ex_null": 0},
    "b": {"cr_in": 0, "cl_in": 1, "cl_null": 0, "cr_null": 0, "cbc": 0, "has_amount": 1, "ex_null": 1},
    "c": {"cr_in": 0, "cl_in": 1, "cl_null": 0, "cr_null": 1, "cbc": 0, "has_amount": 0, "ex_null": 1},
    "d": {"cr_in": 1, "cl_in": 1, "cl_null": 0, "cr_null": 0, "cbc": 1, "has_amount": 1, "ex_null": 1},
    "e": {"cr_in": 1, "cl_in": 0, "cl_null": 1, "cr_null": 0, "cbc": 0, "has_amount": 1, "ex_null": 1},
    "f": {"cr_in": 1, "cl_in": 0, "cl_null": 0, "cr_null": 0, "cbc": 0, "has_amount": 1, "ex_null": 1},
    "g": {"cr_in": 1, "cl_in": 1, "cl_null": 0, "cr_null": 0, "cbc": 0, "has_amount": 0, "ex_null": 1},
}
OUTCOME_FACTS = {
    "b": {"tl": 1, "has_amount": 1, "cyc_n": 1},
    "c": {"tl": 0, "has_amount": 0, "cyc_n": 0},
    "d": {"tl": 0, "has_amount": 1, "cyc_n": 0},
    "e": {"tl": 0, "has_amount": 1, "cyc_n": 0},
    "f": {"tl": 1, "has_amount": 1, "cyc_n": 1},
    "g": {"tl": 1, "has_amount": 0, "cyc_n": 1},
}


def _flag_deals() -> pd.DataFrame:
    rows = [
        {"deal_id": o, "owner": o, "status": s, "created": c, "closed": cl, "expected_close": ex, "amount": a}
        for o, s, c, cl, ex, a in FLAG_DEALS
    ]
    return ck.validate_deals(pd.DataFrame(rows))


def _inputs(deals: pd.DataFrame) -> dict[str, tuple[object, str]]:
    """The deals as each backend reads them, with the engine= that picks it."""
    pl = pytest.importorskip("polars")
    return {
        "numpy": (ck.prepare(deals), "auto"),  # prepared after the layout is set: it packs while coding
        "duckdb": (deals, "auto"),
        "pandas": (deals, "pandas"),
        "polars": (pl.from_pandas(deals.assign(status=deals["status"].astype(str))), "auto"),
    }


def _by_hand(layout: rules.FlagLayout, facts: dict[str, int]) -> int:
    return sum(1 << i for i, name in enumerate(layout.names) if facts[name])


LAYOUTS = {
    "as defined": (rules.CREATED_FLAGS.names, rules.OUTCOME_FLAGS.names),
    "reversed": (rules.CREATED_FLAGS.names[::-1], rules.OUTCOME_FLAGS.names[::-1]),
    "rotated": (rules.CREATED_FLAGS.names[3:] + rules.CREATED_FLAGS.names[:3], ("cyc_n", "tl", "has_amount")),
}


@pytest.mark.slow
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_engine_packs_and_unpacks_through_the_layouts(layout, monkeypatch):
    created_names, outcome_names = LAYOUTS[layout]
    monkeypatch.setattr(rules, "CREATED_FLAGS", rules.FlagLayout(created_names))
    monkeypatch.setattr(rules, "OUTCOME_FLAGS", rules.FlagLayout(outcome_names))
    deals = _flag_deals()
    q = make_query(by="owner", freq="M", start="2024-01-01", end="2024-06-30")
    needs = {"outcomes", "flows"}
    expected_created = {o: _by_hand(rules.CREATED_FLAGS, f) for o, f in CREATED_FACTS.items()}
    expected_outcomes = {o: _by_hand(rules.OUTCOME_FLAGS, f) for o, f in OUTCOME_FACTS.items()}
    for name, (table, engine) in _inputs(deals).items():
        tables = open_stage1(table, q, needs, engine=engine).passes().tables
        created = tables["created"]
        assert dict(zip(created["owner"], created["flags"].astype(int))) == expected_created, name
        outcomes = tables["outcomes"]
        assert dict(zip(outcomes["owner"], outcomes["oflags"].astype(int))) == expected_outcomes, name
        assert dict(zip(outcomes["owner"], outcomes["cl_in"].astype(int))) == {
            o: CREATED_FACTS[o]["cl_in"] for o in OUTCOME_FACTS
        }, name
        # unpacked again: the exclusion counts see each deal's facts
        status = aggregate(table, q, needs, engine=engine).status.astype({"status": str})
        got = {(r["status"], *(int(r[f]) for f in created_names)): int(r["n"]) for _, r in status.iterrows()}
        want: dict[tuple, int] = {}
        for owner, status_name, *_ in FLAG_DEALS:
            key = (status_name, *(CREATED_FACTS[owner][f] for f in created_names))
            want[key] = want.get(key, 0) + 1
        assert got == want, name


@pytest.mark.slow
def test_the_kpis_do_not_depend_on_the_layout(monkeypatch):
    deals = _flag_deals()
    before = ck.kpi_table(deals, by="owner", freq="M", start="2024-01-01", end="2024-06-30")
    monkeypatch.setattr(rules, "CREATED_FLAGS", rules.FlagLayout(rules.CREATED_FLAGS.names[::-1]))
    monkeypatch.setattr(rules, "OUTCOME_FLAGS", rules.FlagLayout(rules.OUTCOME_FLAGS.names[::-1]))
    for table in (deals, ck.prepare(deals)):
        after = ck.kpi_table(table, by="owner", freq="M", start="2024-01-01", end="2024-06-30")
        pd.testing.assert_frame_equal(after, before)
        assert after.attrs["channelkpi"]["excluded"] == before.attrs["channelkpi"]["excluded"]


def test_option_aliases_list_the_accepted_values():
    assert set(typing.get_args(Engine)) == set(ENGINES)
    periods, none = typing.get_args(rules.Freq)
    assert {*typing.get_args(periods), None} == set(rules.FREQS) and none is type(None)
    for freq in rules.FREQS:
        make_query(freq=freq)
    with pytest.raises(ck.ChannelKPIError, match="freq='D'"):
        make_query(freq="D")
