"""kpi_table(by="partner", freq="M") on synthetic deals, against a native DuckDB SQL reference.

Run on demand (not part of the test suite):

    .venv/bin/python benchmarks/kpi_engine.py [--rows 1000000] [--repeat 5]

Generates deals (~500 partners, 36 months), computes the KPI table with channelkpi (DuckDB
stage 1, and the pure-pandas fallback), computes the same aggregates with hand-written DuckDB
SQL over the same pandas frame in the same process, checks that the numbers agree, and prints
median times and the ratio to the SQL reference (machines are noisy: compare ratios, not seconds).

Then the same deals as a warehouse query returns them (text as pandas' ``str``, the status as
text, once ``object`` and once ``str``, second-resolution timestamps, no optional columns)
against the validated table, the runs interleaved: a plain frame should cost at most 1.15x.
A table whose every text column is ``object`` is shown too, for information.
"""

from __future__ import annotations

import argparse
import statistics
import time

import duckdb
import numpy as np
import pandas as pd

import channelkpi as ck
from channelkpi.datasets import make_deals, warehouse_frame

SQL = """
WITH d AS (
    SELECT partner, status, channel, amount, probability,
           year(closed) * 12 + month(closed) - 1 AS cl_key,
           year(created) * 12 + month(created) - 1 AS cr_key,
           date_diff('day', created, closed) AS cycle
    FROM deals
),
keys AS (SELECT range AS key FROM range((SELECT min(cr_key) FROM d), (SELECT max(greatest(cr_key, coalesce(cl_key, cr_key))) FROM d) + 1)),
grid AS (SELECT p.partner, k.key FROM (SELECT DISTINCT partner FROM d) p CROSS JOIN keys k),
outcome AS (
    SELECT partner, cl_key AS key,
           count(*) FILTER (WHERE status = 'won') AS won_count,
           count(*) FILTER (WHERE status = 'lost') AS lost_count,
           sum(round(amount * 100)) FILTER (WHERE status = 'won') / 100.0 AS won_amount,
           avg(amount) FILTER (WHERE status = 'won') AS avg_deal_size,
           median(amount) FILTER (WHERE status = 'won') AS median_deal_size,
           median(cycle) FILTER (WHERE status = 'won' AND cycle >= 0) AS cycle_days_median,
           avg(cycle) FILTER (WHERE status = 'won' AND cycle >= 0) AS cycle_days_mean,
           sum(round(amount * 100)) FILTER (WHERE status = 'won' AND channel = 'partner') / 100.0 AS won_amount_partner
    FROM d WHERE status IN ('won', 'lost') AND cl_key IS NOT NULL GROUP BY ALL
),
cohort AS (
    SELECT partner, cr_key AS key, count(*) AS created_count,
           count(*) FILTER (WHERE status = 'won') AS cohort_won,
           count(*) FILTER (WHERE status = 'open') AS cohort_open
    FROM d WHERE cr_key IS NOT NULL GROUP BY ALL
),
flows AS (
    SELECT partner, key, sum(n) AS n, sum(cents) AS cents, sum(wcents) AS wcents FROM (
        SELECT partner, cr_key AS key, 1 AS n, coalesce(round(amount * 100), 0) AS cents,
               coalesce(round(amount * probability * 100), 0) AS wcents FROM d
        UNION ALL
        SELECT partner, cl_key, -1, -coalesce(round(amount * 100), 0), -coalesce(round(amount * probability * 100), 0)
        FROM d WHERE cl_key IS NOT NULL
    ) GROUP BY ALL
),
stock AS (
    SELECT g.partner, g.key,
           sum(coalesce(f.n, 0)) OVER w AS open_count,
           sum(coalesce(f.cents, 0)) OVER w / 100.0 AS open_amount,
           sum(coalesce(f.wcents, 0)) OVER w / 100.0 AS weighted_amount
    FROM grid g LEFT JOIN flows f USING (partner, key)
    WINDOW w AS (PARTITION BY g.partner ORDER BY g.key ROWS UNBOUNDED PRECEDING)
)
SELECT s.partner, s.key,
       coalesce(o.won_count, 0) AS won_count, coalesce(o.lost_count, 0) AS lost_count,
       coalesce(o.won_amount, 0) AS won_amount, o.avg_deal_size, o.median_deal_size,
       coalesce(c.created_count, 0) AS created_count,
       s.open_count, s.open_amount, s.weighted_amount,
       o.won_count / nullif(o.won_count + o.lost_count, 0) AS win_rate,
       o.cycle_days_median, o.cycle_days_mean,
       c.cohort_won / nullif(c.created_count, 0) AS success_rate,
       c.cohort_open / nullif(c.created_count, 0) AS pending_share,
       coalesce(o.won_amount_partner, 0) AS won_amount_partner
FROM stock s LEFT JOIN outcome o USING (partner, key) LEFT JOIN cohort c USING (partner, key)
ORDER BY s.partner, s.key
"""

COMPARED = [
    "won_count",
    "lost_count",
    "won_amount",
    "avg_deal_size",
    "median_deal_size",
    "created_count",
    "open_count",
    "open_amount",
    "weighted_amount",
    "win_rate",
    "cycle_days_median",
    "cycle_days_mean",
    "success_rate",
    "pending_share",
    "won_amount_partner",
]


def reference(deals: pd.DataFrame) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("deals", deals.assign(status=deals["status"].astype(str)))
    return con.execute(SQL).df()


def interleaved(fns: dict, repeat: int) -> dict[str, float]:
    """Median seconds of each function, run in turn (so a busy spell hits them all alike)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    deals = make_deals(args.rows, partners=args.partners, months=36, seed=11)
    print(f"{args.rows:,} deals, {deals['partner'].nunique()} partners, {args.repeat} runs each (median)")
    t_sql, ref = timed(lambda: reference(deals), args.repeat)
    t_duck, ours = timed(lambda: ck.kpi_table(deals, by="partner", freq="M"), args.repeat)
    t_pd, ours_pd = timed(
        lambda: ck.kpi_table(deals, by="partner", freq="M", engine="pandas"), max(1, args.repeat // 2)
    )
    # the same numbers: align on partner and month
    mine = ours.assign(key=ours["period_start"].dt.year * 12 + ours["period_start"].dt.month - 1)
    mine = mine.set_index(["partner", "key"]).sort_index()
    theirs = ref.set_index(["partner", "key"]).sort_index().reindex(mine.index)
    worst = 0.0
    for col in COMPARED:
        a = mine[col].to_numpy(float)
        b = theirs[col].to_numpy(float)
        same_nan = np.isnan(a) == np.isnan(b)
        if not same_nan.all():
            raise SystemExit(f"{col}: missing values differ in {int((~same_nan).sum())} rows")
        ok = ~np.isnan(a)
        rel = np.abs(a[ok] - b[ok]) / np.maximum(1.0, np.abs(b[ok]))
        worst = max(worst, float(rel.max()) if len(rel) else 0.0)
    if worst > 1e-9:
        raise SystemExit(f"numbers differ from the SQL reference: max relative difference {worst:.2e}")
    pd.testing.assert_frame_equal(ours, ours_pd, check_dtype=False, rtol=1e-12)
    print(
        f"numbers agree with the SQL reference on {len(COMPARED)} measures x {len(mine):,} rows "
        f"(max relative difference {worst:.1e}); DuckDB and pandas paths identical"
    )
    print(f"{'DuckDB SQL reference':<34}{t_sql:8.3f} s   1.00x")
    print(f"{'channelkpi (DuckDB stage 1)':<34}{t_duck:8.3f} s   {t_duck / t_sql:.2f}x")
    print(f"{'channelkpi (pandas fallback)':<34}{t_pd:8.3f} s   {t_pd / t_sql:.2f}x")

    plain = {
        "validated": deals,
        "plain, status object": warehouse_frame(deals, status=object),
        "plain, status str": warehouse_frame(deals, status="str"),
        "plain, every text column object": warehouse_frame(deals, status=object, text=object),
    }
    for name, frame in plain.items():
        got = ck.kpi_table(frame, by="partner", freq="M")
        pd.testing.assert_frame_equal(got, ours, check_dtype=False, rtol=1e-12, obj=name)
    t = interleaved(
        {name: lambda f=frame: ck.kpi_table(f, by="partner", freq="M") for name, frame in plain.items()},
        args.repeat + 2,
    )
    print("a plain frame (as a warehouse query returns it) against the validated table, interleaved runs:")
    for name in plain:
        target = "" if name == "validated" else ("   (target <= 1.15x)" if "every" not in name else "   (information)")
        print(f"  {name:<32}{t[name]:8.3f} s   {t[name] / t['validated']:.2f}x{target}")


if __name__ == "__main__":
    main()
