"""The deals behind one KPI cell on prepared deals: time per cell against the KPI call itself.

Run on demand (under the shared lock):

    flock /tmp/channelkpi-bench.lock .venv/bin/python benchmarks/deals_behind.py [--rows 1000000]

Prepares synthetic deals once, then times :func:`channelkpi.deals_behind` for cells of several
KPIs and shapes (a partner in a month, a whole month of every partner, a whole-range pipeline)
and, as the reference measured in the same run, the KPI function that produced the cell on the
same prepared deals. Target: at most 100 ms per cell on 1 M deals. Beside it, the time of the
page the dashboard's deals panel asks for (``limit=200``: the first rows and the count of all).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import channelkpi as ck
from channelkpi.datasets import make_deals


def _median_ms(call, rounds: int) -> float:
    call()  # first use codes the levels and period keys: the dashboard has done it already
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    deals = make_deals(args.rows, partners=500, months=36, seed=5)
    prepared = ck.prepare(deals)
    partner = deals["partner"].value_counts().index[0]
    period = "2024-06"
    cases = [
        ("win_rate", {"by": "partner", "freq": "M"}, {"partner": partner, "period": period}),
        ("average_deal_size", {"by": "partner", "freq": "M"}, {"partner": partner, "period": period}),
        ("deal_success", {"by": "partner", "freq": "Q"}, {"partner": partner, "period": "2024-Q2"}),
        ("pipeline", {"freq": "M"}, {"period": period}),
        ("deal_velocity", {"freq": "M"}, {"period": period}),
        ("pipeline", {}, {}),
    ]
    print(f"{args.rows:,} prepared deals, median of {args.rounds} rounds")
    print(f"{'kpi':<20}{'options':<32}{'rows':>8}{'behind ms':>11}{'page ms':>9}{'KPI ms':>9}{'ratio':>7}")
    worst = 0.0
    for kpi, options, cell in cases:
        rows = ck.deals_behind(prepared, kpi, cell=cell, **options)
        behind = _median_ms(functools.partial(ck.deals_behind, prepared, kpi, cell=cell, **options), args.rounds)
        page = _median_ms(
            functools.partial(ck.deals_behind, prepared, kpi, cell=cell, limit=200, **options), args.rounds
        )
        kpi_ms = _median_ms(functools.partial(getattr(ck, kpi), prepared, **options), args.rounds)
        worst = max(worst, behind)
        print(
            f"{kpi:<20}{str(options):<32}{len(rows):>8}{behind:>11.1f}{page:>9.1f}{kpi_ms:>9.1f}{behind / kpi_ms:>7.2f}"
        )
    print(f"slowest cell: {worst:.1f} ms (target 100 ms)")


if __name__ == "__main__":
    main()
