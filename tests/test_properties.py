"""Property-based tests: parsers round-trip the formats they claim, and KPI invariants hold for
any deal table Hypothesis can think of."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import channelkpi as ck
from channelkpi.ingest.parse import parse_amounts, parse_dates

pytestmark = pytest.mark.slow  # hypothesis tries hundreds of random tables

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# each example of a KPI property runs several KPI tables: fewer examples, same variety of shapes
KPI_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _us(v: float) -> str:
    return f"{v:,.2f}"


def _eu(v: float, sep: str = ".") -> str:
    return f"{v:,.2f}".replace(",", "\x00").replace(".", ",").replace("\x00", sep)


AMOUNT_STYLES = {
    "plain": lambda v: f"{v:.2f}",
    "us": _us,
    "us_dollar": lambda v: ("-" if v < 0 else "") + "$" + _us(abs(v)),
    "us_code": lambda v: "USD " + _us(v),
    "us_parens": lambda v: f"({_us(-v)})" if v < 0 else _us(v),
    "us_trailing_space": lambda v: f"${_us(v)} " if v >= 0 else f"-${_us(-v)} ",
    "eu": _eu,
    "eu_euro": lambda v: _eu(v) + " €",
    "eu_nbsp": lambda v: _eu(v, "\u00a0") + "\u00a0€",
    "swiss": lambda v: f"{v:,.2f}".replace(",", "'"),
}


@SETTINGS
@given(
    cents=st.lists(st.integers(min_value=-(10**11), max_value=10**11), min_size=1, max_size=30),
    style=st.sampled_from(sorted(AMOUNT_STYLES)),
)
def test_amounts_round_trip(cents, style):
    values = [c / 100 for c in cents]
    texts = pd.Series([AMOUNT_STYLES[style](v) for v in values])
    parsed = parse_amounts(texts)
    assert not parsed.bad.any(), list(texts[parsed.bad])
    np.testing.assert_allclose(parsed.values.to_numpy(), values, atol=0.005, rtol=0)


DATE_STYLES = {
    "iso": ("%Y-%m-%d", None),
    "iso_time": ("%Y-%m-%dT%H:%M:%S", None),
    "iso_offset": ("%Y-%m-%dT%H:%M:%S.000+0000", None),
    "us": ("{m}/{d}/%Y", False),
    "us_time": ("{m}/{d}/%Y %I:%M %p", False),
    "us_two_digit": ("%m/%d/%y", False),
    "eu_dot": ("%d.%m.%Y", True),
    "eu_slash": ("%d/%m/%Y", True),
}


def _fmt(d: dt.datetime, pattern: str) -> str:
    return d.strftime(pattern.replace("{m}", str(d.month)).replace("{d}", str(d.day)))


@SETTINGS
@given(
    days=st.lists(st.integers(min_value=0, max_value=28_000), min_size=1, max_size=25),
    style=st.sampled_from(sorted(DATE_STYLES)),
    hour=st.integers(0, 23),
)
def test_dates_round_trip(days, style, hour):
    pattern, dayfirst = DATE_STYLES[style]
    first = dt.datetime(1990, 1, 1) if "%y" not in pattern else dt.datetime(1970, 1, 1)
    dates = [first + dt.timedelta(days=d % (36_000 if "%y" not in pattern else 35_000), hours=hour) for d in days]
    texts = pd.Series([_fmt(d, pattern) for d in dates])
    expected = [pd.Timestamp(d.date()) for d in dates]
    told = parse_dates(texts, dayfirst=dayfirst)
    assert not told.bad.any(), list(texts[told.bad])
    assert list(told.values) == expected
    guessed = parse_dates(texts)  # without being told: right, or flagged as ambiguous
    assert list(guessed.values) == expected or guessed.ambiguous


# --------------------------------------------------------------------------- random deal tables
PARTNERS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli"]


@st.composite
def deal_tables(draw):
    n = draw(st.integers(min_value=0, max_value=60))
    rows = []
    for i in range(n):
        status = draw(st.sampled_from(["open", "won", "lost"]))
        created = dt.date(2023, 1, 1) + dt.timedelta(days=draw(st.integers(0, 700)))
        if draw(st.booleans()) and draw(st.booleans()):
            created_value = None
        else:
            created_value = created
        closed = None
        if status != "open" and draw(st.integers(0, 9)) > 0:
            closed = created + dt.timedelta(days=draw(st.integers(-20, 200)))  # sometimes before created
        amount = draw(st.one_of(st.none(), st.integers(0, 10**7).map(lambda c: c / 100)))
        rows.append(
            {
                "deal_id": f"D{i}",
                "partner": draw(st.sampled_from(PARTNERS)),
                "channel": draw(st.sampled_from(["paid", "earned", "owned", "partner", "unknown"])),
                "status": status,
                "created": created_value,
                "closed": closed,
                "expected_close": created + dt.timedelta(days=90) if status == "open" else None,
                "amount": amount,
                "probability": {"won": 1.0, "lost": 0.0}.get(status, draw(st.sampled_from([0.1, 0.5, 0.9]))),
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "deal_id",
            "partner",
            "channel",
            "status",
            "created",
            "closed",
            "expected_close",
            "amount",
            "probability",
        ],
    )
    for col in ("created", "closed", "expected_close"):
        frame[col] = pd.to_datetime(frame[col])
    return ck.validate_deals(frame)


ADDITIVE = [
    "won_count",
    "lost_count",
    "created_count",
    "closed_count",
    "open_count",
    "won_amount",
    "open_amount",
    "weighted_amount",
]
RANGE = {"start": "2023-01-01", "end": "2024-12-31"}


@KPI_SETTINGS
@given(deals=deal_tables(), seed=st.integers(0, 2**16))
def test_kpi_invariants(deals, seed):
    before = deals.copy(deep=True)
    by_partner = ck.kpi_table(deals, by="partner", freq="Q", **RANGE)
    total = ck.kpi_table(deals, freq="Q", **RANGE)
    pd.testing.assert_frame_equal(deals, before)  # input never mutated
    # sum over partners = total
    summed = by_partner.groupby("period", sort=False)[ADDITIVE].sum().reindex(total["period"], fill_value=0)
    np.testing.assert_allclose(summed.to_numpy(float), total[ADDITIVE].to_numpy(float), atol=1e-6)
    # rates stay in [0, 1] and the interval contains the rate
    for frame in (by_partner, total):
        for col in ("win_rate", "success_rate", "pending_share", "win_rate_shrunk", "win_rate_low", "win_rate_high"):
            values = frame[col].dropna()
            assert ((values >= 0) & (values <= 1)).all(), col
        rated = frame[frame["win_rate"].notna()]
        assert (rated["win_rate_low"] <= rated["win_rate"] + 1e-12).all()
        assert (rated["win_rate"] <= rated["win_rate_high"] + 1e-12).all()
        assert frame["quality_score"].between(0, 100).all()
    # the result does not depend on row order
    shuffled = deals.sample(frac=1, random_state=seed).reset_index(drop=True)
    pd.testing.assert_frame_equal(ck.kpi_table(shuffled, by="partner", freq="Q", **RANGE), by_partner)
    # one partner alone equals its rows of the grouped table
    if len(deals):
        partner = deals["partner"].iloc[0]
        alone = ck.kpi_table(deals, freq="Q", where={"partner": partner}, **RANGE)
        mine = by_partner[by_partner["partner"] == partner].drop(columns="partner").reset_index(drop=True)
        cols = [
            *ADDITIVE,
            "win_rate",
            "avg_deal_size",
            "median_deal_size",
            "cycle_days_median",
            "success_rate",
            "sales_velocity",
        ]
        pd.testing.assert_frame_equal(alone[cols], mine[cols], check_dtype=False)


@KPI_SETTINGS
@given(deals=deal_tables())
def test_waterfall_balances_and_pipeline_is_consistent(deals):
    wf = ck.pipeline_waterfall(deals, by="partner", freq="M", **RANGE)
    np.testing.assert_allclose(wf["start"] + wf["created"] - wf["won"] - wf["lost"], wf["end"], atol=1e-6)
    assert (wf["start_count"] + wf["created_count"] - wf["won_count"] - wf["lost_count"] == wf["end_count"]).all()
    assert (wf[["start_count", "created_count", "won_count", "lost_count", "end_count"]] >= 0).all().all()
    pipe = ck.pipeline(deals, by="partner", freq="M", **RANGE)
    assert (pipe["open_count"].to_numpy() == wf["end_count"].to_numpy()).all()


@st.composite
def export_rows(draw):
    n = draw(st.integers(min_value=0, max_value=40))
    rows = []
    for _ in range(n):
        deal_id = draw(st.one_of(st.just(""), st.sampled_from([f"D{i}" for i in range(12)])))
        status = draw(st.sampled_from(["Won", "Lost", "Open", "", "won", "OPEN"]))
        amount = draw(st.one_of(st.just(""), st.integers(0, 10**6).map(str)))
        partner = draw(st.sampled_from(["Acme", "", "Café", "<b>x</b>", "=1+1"]))
        rows.append((deal_id, partner, status, amount))
    return rows


@SETTINGS
@given(rows=export_rows())
def test_every_row_is_accounted_for(rows):
    lines = ["Deal ID,Partner,Status,Amount"] + [",".join(r) for r in rows]
    result = ck.load_crm(("\n".join(lines) + "\n").encode())
    s = result.summary()
    non_blank = sum(1 for r in rows if any(r))
    assert s["rows_read"] == non_blank
    assert s["rows_read"] == s["kept"] + s["merged"] + s["rejected"]
    assert len(result.ledger) == s["merged"] + s["rejected"]
    assert result.deals["deal_id"].is_unique


@pytest.mark.parametrize("seed", range(3))
def test_sparse_random_tables_hit_the_empty_paths(seed):
    """Sparse data (many partners, few deals) reaches empty months, zeros and missing values."""
    from channelkpi.datasets import make_deals

    deals = make_deals(300, partners=200, seed=seed)
    table = ck.kpi_table(deals, by="partner", freq="M")
    assert (table["won_count"] == 0).mean() > 0.5
    assert table.loc[table["n"] == 0, "win_rate"].isna().all()
    assert table.loc[table["created_count"] == 0, "success_rate"].isna().all()


LEVEL_CHOICES = [None, "partner", "channel", ["partner", "channel"]]


@KPI_SETTINGS
@given(
    deals=deal_tables(),
    by=st.sampled_from(LEVEL_CHOICES),
    freq=st.sampled_from([None, "W", "M", "Q", "Y"]),
    start=st.sampled_from([None, "2023-03-15", "2024-01-01"]),
    end=st.sampled_from([None, "2023-11-30", "2024-06"]),
    fys=st.sampled_from([1, 4]),
    where=st.sampled_from([None, {"channel": ["paid", "partner"]}, {"partner": PARTNERS[:1]}, {"status": ["won"]}]),
)
def test_prepared_deals_give_the_general_engines_aggregates(deals, by, freq, start, end, fys, where):
    """The prepared backend's stage-1 tables equal the lazy backend's, row for row."""
    from channelkpi.metrics.query import make_query
    from channelkpi.metrics.stage1 import aggregate, open_stage1

    if start and end and pd.Timestamp(start) > pd.Timestamp(end):
        start = None
    q = make_query(
        by=by, freq=freq, start=start, end=end, fiscal_year_start=fys, where=where, compare="previous" if freq else None
    )
    needs = {"outcomes", "flows", "lost_cycle", "cycle_hist", "coverage", "open_expected"}
    fast = aggregate(ck.prepare(deals), q, needs)
    slow = aggregate(deals, q, needs, engine="pandas")
    assert fast.engine == "numpy"
    assert (fast.rows, fast.filtered_out) == (slow.rows, slow.filtered_out)
    pd.testing.assert_frame_equal(fast.groups, slow.groups, check_dtype=False)
    assert set(fast.tables) == set(slow.tables)
    for name in slow.tables:
        a, b = fast.tables[name], slow.tables[name]
        assert list(a.columns) == list(b.columns), name
        a, b = (t.assign(status=t["status"].astype(str)) if "status" in t else t for t in (a, b))
        # the same rows in any order: sorted by every column
        a, b = (t.sort_values(list(t.columns), kind="stable").reset_index(drop=True) for t in (a, b))
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=name)
    status_keys = list(slow.status.columns[:-1])
    pd.testing.assert_frame_equal(
        fast.status.sort_values(status_keys).reset_index(drop=True).astype({"status": str}),
        slow.status.sort_values(status_keys).reset_index(drop=True).astype({"status": str}),
        check_dtype=False,
    )
    assert fast.as_of == slow.as_of
    assert set(fast.snapshots) == set(slow.snapshots)
    for name in slow.snapshots:
        pd.testing.assert_frame_equal(fast.snapshots[name], slow.snapshots[name], check_dtype=False, obj=name)
    # the backends' answers for any day, not only those a query asks
    fast_stage1 = open_stage1(ck.prepare(deals), q, needs)
    slow_stage1 = open_stage1(deals, q, needs, engine="pandas")
    assert fast_stage1.last_date() == slow_stage1.last_date()
    for day in ("2023-06-30", "2024-02-29"):
        pd.testing.assert_frame_equal(
            fast_stage1.snapshot(pd.Timestamp(day)), slow_stage1.snapshot(pd.Timestamp(day)), check_dtype=False
        )


def _mid_percentiles_by_hand(values: list, groups: list) -> list:
    """(rank - 0.5) / count within each group, ties sharing the mean of their ranks, missing
    values lowest and a row without a group without a value: counted one row at a time."""
    out = []
    for v, g in zip(values, groups):
        if g is None:
            out.append(None)
            continue
        peers = [-np.inf if p is None else p for p, h in zip(values, groups) if h == g]
        me = -np.inf if v is None else v
        below, same = sum(p < me for p in peers), sum(p == me for p in peers)
        out.append((below + (same + 1) / 2 - 0.5) / len(peers))
    return out


@SETTINGS
@given(
    rows=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(-3, 3)), st.one_of(st.none(), st.integers(0, 3))), max_size=40
    )
)
def test_mid_percentile_counts_ranks_like_a_person_would(rows):
    from channelkpi.metrics.stats import mid_percentile

    values = [v for v, _g in rows]
    groups = [g for _v, g in rows]
    got = mid_percentile(pd.Series(values, dtype="float64"), pd.Series(groups, dtype="Int64")).tolist()
    want = _mid_percentiles_by_hand(values, groups)
    assert [None if np.isnan(x) else round(x, 12) for x in got] == [None if w is None else round(w, 12) for w in want]
    alone = mid_percentile(pd.Series(values, dtype="float64")).tolist()
    assert [round(x, 12) for x in alone] == [round(w, 12) for w in _mid_percentiles_by_hand(values, [0] * len(rows))]
