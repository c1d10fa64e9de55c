"""A kept field as a level: ``kpi_table(by=<kept column>, freq="M")`` against ``by="partner"``.

Run on demand (not part of the test suite), under the shared lock:

    flock /tmp/channelkpi-bench.lock .venv/bin/python benchmarks/kept_levels.py [--rows 1000000] [--repeat 7]

Generates deals (~500 partners, 36 months) and adds a kept text column (``region``: as many
values as partners, spread at random) and a partner-table column (``tier``, three values, joined
by partner). On the prepared deals (``channelkpi.prepare``), a level column is coded on its first
use and kept; the first call of each level is reported (it pays for the coding), then the median
of the repeated calls, interleaved, and the ratio to ``by="partner"``. Target: a kept column
costs at most 1.3x the partner level. The same ratio on the DuckDB path over the pandas table is
printed for information. The numbers of both levels are checked against a plain pandas
group-by of the won amounts.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

import channelkpi as ck
from channelkpi.datasets import make_deals


def _timed(fn) -> tuple[float, pd.DataFrame]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    deals = make_deals(args.rows, seed=5)
    rng = np.random.default_rng(5)
    partners = sorted(deals["partner"].unique())
    regions = np.array([f"Region {i:03d}" for i in range(len(partners))], dtype=object)
    tier_of = dict(zip(partners, rng.choice(["gold", "silver", "bronze"], len(partners))))
    deals = ck.validate_deals(
        deals.assign(region=regions[rng.integers(0, len(regions), len(deals))], tier=deals["partner"].map(tier_of))
    )
    print(f"{len(deals):,} deals, {len(partners)} partners, {len(regions)} regions, 3 tiers")

    t0 = time.perf_counter()
    prepared = ck.prepare(deals)
    print(f"prepare: {time.perf_counter() - t0:.2f} s")
    levels = ("partner", "region", "tier")
    first = {}
    for level in levels:
        first[level], out = _timed(lambda level=level: ck.kpi_table(prepared, by=level, freq="M"))
        won = deals[deals["status"] == "won"].groupby(level)["amount"].sum()
        got = out.groupby(level)["won_amount"].sum()
        assert np.allclose(got.reindex(won.index).to_numpy(), won.to_numpy(), atol=0.5), level
    print("first call (codes the level): " + ", ".join(f"{lv} {first[lv] * 1000:.0f} ms" for lv in levels))

    times: dict[str, list[float]] = {lv: [] for lv in levels}
    for _ in range(args.repeat):
        for level in levels:
            times[level].append(_timed(lambda level=level: ck.kpi_table(prepared, by=level, freq="M"))[0])
    median = {lv: statistics.median(t) for lv, t in times.items()}
    print("prepared, median of", args.repeat, "interleaved runs:")
    for level in levels:
        print(
            f"  by={level!r:10} {median[level] * 1000:7.0f} ms   ratio to partner {median[level] / median['partner']:.2f}"
        )
    ratio = median["region"] / median["partner"]
    print(f"kept column / partner: {ratio:.2f} (target <= 1.3) {'OK' if ratio <= 1.3 else 'OVER'}")

    duck: dict[str, list[float]] = {lv: [] for lv in ("partner", "region")}
    for _ in range(max(2, args.repeat // 3)):
        for level in duck:
            duck[level].append(_timed(lambda level=level: ck.kpi_table(deals, by=level, freq="M"))[0])
    d = {lv: statistics.median(t) for lv, t in duck.items()}
    print(
        f"DuckDB over the pandas table (information): partner {d['partner'] * 1000:.0f} ms, "
        f"region {d['region'] * 1000:.0f} ms, ratio {d['region'] / d['partner']:.2f}"
    )


if __name__ == "__main__":
    main()
