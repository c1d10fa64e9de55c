"""Dashboard latency: time from a control change to all views updated.

Run on demand:

    .venv/bin/python benchmarks/dashboard.py [--rows 1000000] [--rounds 1] [--base-table]

Builds :class:`channelkpi.widgets.Dashboard` on synthetic deals (no browser: the widgets and
chart specs are updated in the kernel, which is what a change costs before the browser draws)
and reports the median time per change over partner, period, channel, level and frequency
changes (the tiles and the open tab are updated), then the time to open each other tab after
a change. Target: 200 ms per change at 1 M deals.

``--base-table`` also runs the same changes with stage 1 on the lazy backend over a prepared
base table instead of the prepared numpy backend: the deals with every row rule that does not
depend on the query already applied (day numbers, month indexes, cents, flags) in a DuckDB
table, the period keys derived per query. The rounds alternate between the two, and the
ratio of their medians says whether the numpy backend earns its keep (it would be removed if
the base table cost at most 20 % more).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from contextlib import contextmanager

from channelkpi.datasets import make_deals


@functools.cache
def base_table_backend():
    """The prepared deals, answered by the lazy backend over a DuckDB base table."""
    import duckdb
    import narwhals.stable.v2 as nw

    from channelkpi.metrics.lazy import LazyStage1, derive_rows
    from channelkpi.metrics.prepared import PreparedDeals
    from channelkpi.metrics.stage1 import open_stage1

    class BaseTableDeals(PreparedDeals):
        def __init__(self, deals, **kwargs):
            super().__init__(deals, **kwargs)  # (the views read its labels and date span)
            self.con = duckdb.connect()
            rows = derive_rows(nw.from_native(self.con.from_df(self.deals)), expected=True).to_native()
            rows.create("base")
            self.base = nw.from_native(self.con.table("base"))

    def over_base_table(deals, q, needs, *, engine="auto", columns=None):
        # separate queries: 1.96x the numpy backend at 1 M deals, one stacked query 2.59x
        return LazyStage1(deals.base, [], q, needs, engine="duckdb", together=False, derived=True, connection=deals.con)

    open_stage1.register(BaseTableDeals, over_base_table)
    return BaseTableDeals


@contextmanager
def backend(name: str):
    """Dashboards built inside prepare their deals for ``name``'s stage 1."""
    import channelkpi.widgets as widgets

    saved = widgets.prepare
    if name == "base-table":
        widgets.prepare = base_table_backend()
    try:
        yield
    finally:
        widgets.prepare = saved


def run_changes(deals, *, verbose: bool) -> tuple[list[float], list[float], float]:
    from channelkpi.widgets import Dashboard

    t0 = time.perf_counter()
    dash = Dashboard(deals)
    built = time.perf_counter() - t0
    months = dash.period.options
    partners = [value for value, _label in dash.picker.options]
    changes = [
        ("partner", lambda: setattr(dash.picker, "value", partners[:3])),
        ("period", lambda: setattr(dash.period, "value", (months[6][1], months[-7][1]))),
        ("channel", lambda: setattr(dash.channels, "value", ["partner"])),
        ("freq", lambda: setattr(dash.freq, "value", "M")),
        ("level", lambda: setattr(dash.by, "value", "unit")),
        ("click", lambda: dash.select([sorted(deals["unit"].dropna().unique())[0]])),
        ("partner off", lambda: setattr(dash.picker, "value", [])),
        ("clear", dash.clear_selection),
    ]
    times = []
    for name, change in changes:
        t = time.perf_counter()
        change()
        times.append(time.perf_counter() - t)
        if verbose:
            print(f"  {name:<12}{times[-1] * 1000:8.0f} ms")
    tabs = dash.tabs
    opened = []
    for i in range(1, len(tabs.children)):
        t = time.perf_counter()
        tabs.selected_index = i
        opened.append(time.perf_counter() - t)
        if verbose:
            print(f"  open {tabs.get_title(i):<14}{opened[-1] * 1000:6.0f} ms")
    return times, opened, built


def same_numbers(deals) -> None:
    """The base-table backend gives the prepared backend's numbers."""
    import pandas as pd

    import channelkpi as ck

    fast, base = ck.prepare(deals), base_table_backend()(deals)
    for options in ({"by": "partner", "freq": "Q"}, {"freq": "M", "where": {"channel": ["partner"]}}, {"by": "unit"}):
        for kpi in (ck.kpi_table, ck.pipeline, ck.win_rate):
            pd.testing.assert_frame_equal(kpi(base, **options), kpi(fast, **options), check_dtype=False, rtol=1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=1, help="runs of every change (the medians are over all)")
    parser.add_argument("--base-table", action="store_true", help="also run stage 1 over a DuckDB base table")
    args = parser.parse_args()
    deals = make_deals(args.rows, partners=args.partners, seed=21)
    names = ["prepared", "base-table"] if args.base_table else ["prepared"]
    if args.base_table:
        same_numbers(deals.head(50_000))
    changes: dict[str, list[float]] = {n: [] for n in names}
    tabs: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        for name in names:
            verbose = r == 0 and name == "prepared"
            with backend(name):
                times, opened, built = run_changes(deals, verbose=verbose)
            changes[name] += times
            tabs[name] += opened
            if verbose:
                print(f"{args.rows:,} deals: dashboard built in {built:.2f} s")
    for name in names:
        label = "" if len(names) == 1 else f" [{name}]"
        print(f"median per change{label}: {statistics.median(changes[name]) * 1000:.0f} ms (target 200 ms)")
        print(f"median to open a tab after a change{label}: {statistics.median(tabs[name]) * 1000:.0f} ms")
    if args.base_table:
        ratio = statistics.median(changes["base-table"]) / statistics.median(changes["prepared"])
        print(f"base table / prepared, median per change: {ratio:.2f}x (the base table replaces it at <= 1.20x)")


if __name__ == "__main__":
    main()
