"""Monthly pipeline movement by partner over three years: time against DuckDB SQL of the same buckets.

Run on demand (under the shared lock):

    flock /tmp/channelkpi-bench.lock .venv/bin/python benchmarks/movement.py [--deals 1000000]

Builds a synthetic history (numpy: each deal created over 36 months, five states -- amount and
expected-close changes, some partner changes, then won, lost, still open or removed), then times
:func:`channelkpi.pipeline_movement` (``by="partner"``, ``freq="M"``) and, as the reference
measured in the same run, the same buckets written as DuckDB SQL over the same intervals. Both
results are compared cell by cell (cents and counts) before any time is printed. Target: at
most 3 s for 1 M deals x 5 history rows.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

import channelkpi as ck
from channelkpi.history import INTERVAL_DTYPES, History
from channelkpi.metrics.movement import MEASURES

MONTHS = 36
DAY0 = np.datetime64("2023-01-01", "ns")


def synthetic_history(n: int, *, partners: int = 500, seed: int = 7) -> History:
    rng = np.random.default_rng(seed)
    k = 5
    created = rng.integers(0, MONTHS * 30, n)
    gaps = rng.integers(1, 45, (n, k))
    gaps[:, 0] = 0
    day = created[:, None] + np.cumsum(gaps, axis=1)
    seconds = rng.integers(0, 86400, (n, k))
    valid_from = DAY0 + (day * 86400 + seconds).astype("timedelta64[s]").astype("timedelta64[ns]")
    end = rng.choice(4, n, p=[0.45, 0.25, 0.2, 0.1])  # won, lost, still open, removed
    status = np.full((n, k), "open", dtype=object)
    status[:, -1] = np.array(["won", "lost", "open", "open"], dtype=object)[end]
    removed = np.zeros((n, k), dtype=bool)
    removed[:, -1] = end == 3
    base = rng.integers(1_000, 5_000_000, n)
    change = rng.choice([0, 0, 1], (n, k)) * rng.integers(-50_000, 50_000, (n, k))
    cents = np.maximum(base[:, None] + np.cumsum(change, axis=1), 0)
    partner0 = rng.integers(0, partners, n)
    moved = rng.random((n, k)) < 0.03
    partner = np.where(np.cumsum(moved, axis=1) > 0, (partner0[:, None] + 1) % partners, partner0[:, None])
    close = day + rng.integers(10, 120, (n, k))
    currency = np.where(rng.random(n) < 0.1, "EUR", "USD")
    deal_ids = np.char.add("D", np.arange(n).astype(str)).astype(object)
    names = np.char.add("P", np.arange(partners).astype(str)).astype(object)
    closed = np.where(np.isin(status, ["won", "lost"]), valid_from, np.datetime64("NaT"))
    flat = {
        "deal_id": np.repeat(deal_ids, k),
        "valid_from": valid_from.ravel(),
        "valid_to": np.concatenate([valid_from[:, 1:], np.full((n, 1), np.datetime64("NaT"))], axis=1).ravel(),
        "removed": removed.ravel(),
        "stage": np.where(status == "open", "Proposal", status).ravel(),
        "status": status.ravel(),
        "amount": cents.ravel() / 100,
        "amount_cents": cents.ravel(),
        "currency": np.repeat(currency, k),
        "expected_close": (DAY0 + close.astype("timedelta64[D]")).ravel(),
        "closed": closed.ravel(),
        "created": np.repeat(valid_from[:, 0], k),
        "partner": names[partner].ravel(),
        "owner": np.full(n * k, "Ann", dtype=object),
        "probability": np.full(n * k, 0.5),
    }
    intervals = pd.DataFrame({c: pd.Series(v).astype(INTERVAL_DTYPES[c]) for c, v in flat.items()})
    deals = (
        intervals.groupby("deal_id", sort=False)
        .tail(1)
        .drop(columns=["valid_from", "valid_to", "removed", "amount_cents"])
    )
    return History(
        intervals=intervals,
        deals=deals.reset_index(drop=True),
        ledger=pd.DataFrame(),
        source="synthetic",
        known=frozenset({"stage", "status", "amount", "expected_close", "partner"}),
        stages=None,
        as_of=pd.Timestamp(DAY0) + pd.DateOffset(months=MONTHS),
    )


#: The buckets of pipeline_movement (no window, no filter) as SQL over the intervals.
SQL = """
WITH b AS (
    SELECT range AS k, (DATE '2023-01-01' + to_months(range::INTEGER))::TIMESTAMP_NS AS t FROM range(0, {K} + 1)
), iv AS (
    SELECT *, coalesce(valid_to, TIMESTAMP_NS '2200-01-01') AS vt, status = 'open' AND NOT removed AS is_open,
           min(valid_from) OVER (PARTITION BY deal_id) AS first_from
    FROM intervals
), st AS (  -- every deal's state at every period end (the last instant before a boundary)
    SELECT iv.*, b.k FROM iv JOIN b ON iv.valid_from < b.t AND b.t <= iv.vt
), pairs AS (
    SELECT DISTINCT deal_id, p FROM (
        SELECT deal_id, k AS p FROM st WHERE is_open AND k < {K}
        UNION ALL SELECT deal_id, k - 1 FROM st WHERE is_open AND k >= 1)
), both_ends AS (
    SELECT pairs.p, s0.is_open AS in0, s1.is_open AS in1, s0.deal_id IS NOT NULL AS has0,
           coalesce(s0.amount_cents, 0) AS a0, coalesce(s1.amount_cents, 0) AS a1,
           s0.partner AS g0, s0.currency AS c0, s1.partner AS g1, s1.currency AS c1, s1.status AS st1, s1.removed AS rm1
    FROM pairs
    LEFT JOIN st s0 ON s0.deal_id = pairs.deal_id AND s0.k = pairs.p
    JOIN st s1 ON s1.deal_id = pairs.deal_id AND s1.k = pairs.p + 1
), flows AS (
    SELECT g0 AS g, c0 AS c, p, 'start' AS m, a0 AS x FROM both_ends WHERE in0
    UNION ALL SELECT g1, c1, p, 'end', a1 FROM both_ends WHERE in1
    UNION ALL SELECT g0, c0, p, CASE WHEN rm1 THEN 'removed' ELSE st1 END, a0
        FROM both_ends WHERE in0 AND NOT in1
    UNION ALL SELECT g1, c1, p, 'new', a1 FROM both_ends WHERE in1 AND NOT coalesce(in0, false)
    UNION ALL SELECT g0, c0, p, 'transferred_out', a0 FROM both_ends WHERE in0 AND in1 AND (g0 <> g1 OR c0 <> c1)
    UNION ALL SELECT g1, c1, p, 'transferred_in', a1 FROM both_ends WHERE in0 AND in1 AND (g0 <> g1 OR c0 <> c1)
    UNION ALL SELECT g0, c0, p, CASE WHEN a1 > a0 THEN 'increased' WHEN a1 < a0 THEN 'decreased' ELSE 'unchanged' END,
        CASE WHEN a1 = a0 THEN a0 ELSE abs(a1 - a0) END
        FROM both_ends WHERE in0 AND in1 AND g0 = g1 AND c0 = c1
    UNION ALL SELECT s.partner, s.currency, s.k - 1, 'memo', coalesce(s.amount_cents, 0) FROM st s
        JOIN b b0 ON b0.k = s.k - 1
        WHERE s.k >= 1 AND s.first_from >= b0.t AND s.status IN ('won', 'lost') AND NOT s.removed
          AND s.first_from < (SELECT t FROM b WHERE k = s.k)
)
SELECT g AS partner, c AS currency, p, m, sum(x)::BIGINT AS cents, count(*) AS n FROM flows GROUP BY ALL
"""


def _best(call, rounds: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import duckdb

    t0 = time.perf_counter()
    history = synthetic_history(args.deals)
    print(
        f"{args.deals:,} deals x 5 states = {len(history.intervals):,} intervals, built in {time.perf_counter() - t0:.1f} s"
    )
    ours, table = _best(
        lambda: ck.pipeline_movement(history, by="partner", freq="M", start="2023-01", end="2025-12"), args.rounds
    )
    con = duckdb.connect()
    con.register("intervals", history.intervals)
    sql = SQL.format(K=MONTHS)
    ref, reference = _best(lambda: con.execute(sql).df(), args.rounds)
    # the same numbers, cell by cell, before any time counts
    got = table.melt(id_vars=["partner", "currency", "period"], value_vars=[f"{m}_cents" for m in MEASURES])
    counts = table.melt(id_vars=["partner", "currency", "period"], value_vars=[f"{m}_count" for m in MEASURES])
    got = got.assign(m=got["variable"].str.removesuffix("_cents"), n=counts["value"].to_numpy())
    got = got[got["n"] > 0]
    periods = pd.Series(table["period"].unique())
    reference["period"] = periods.iloc[reference["p"].to_numpy()].to_numpy()
    a = got.set_index(["partner", "currency", "period", "m"])[["value", "n"]].astype("int64").sort_index()
    b = reference.set_index(["partner", "currency", "period", "m"])[["cents", "n"]].astype("int64").sort_index()
    b.columns = ["value", "n"]
    pd.testing.assert_frame_equal(a, b)
    print(f"{len(table):,} rows (partner x currency x month), {len(a):,} non-empty cells equal to the SQL's")
    print(f"pipeline_movement  {ours:6.2f} s  (target <= 3 s)")
    print(f"DuckDB SQL         {ref:6.2f} s  (reference, same run)")
    print(f"ratio              {ours / ref:6.2f}")


if __name__ == "__main__":
    main()
