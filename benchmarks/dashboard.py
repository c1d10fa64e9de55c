"""Dashboard latency: time from a control change to all views updated.

Run on demand:

    .venv/bin/python benchmarks/dashboard.py [--rows 1000000] [--rounds 1] [--base-table]

Builds :class:`channelkpi.widgets.Dashboard` on synthetic deals (no browser: the widgets and
chart specs are updated in the kernel, which is what a change costs before the browser draws)
and reports the median time per change over partner, period, channel, level and frequency
changes (the tiles and the open tab are updated), then the time to open each other tab after
a change. Target: 200 ms per change at 1 M deals.

A kept level (a field kept from the export with ``keep=``, here ``region`` with as many values
as there are partners, spread at random) is compared with the partner level in the same run,
each round alternating the two: the same changes (level, period, channel, frequency, a click on
one value, clearing it) on the views layer (:func:`channelkpi.views.view_tables` for the tiles,
the trend and the ranking, and their chart specs, with the cache a dashboard keeps), and on the
dashboard itself when its level control offers the kept column. Target: 200 ms median per
change with the kept level.

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

import pandas as pd

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


def with_kept_level(deals, *, seed: int = 21):
    """The deals with a kept text column ``region`` holding as many values as there are partners."""
    import numpy as np

    import channelkpi as ck

    rng = np.random.default_rng(seed)
    count = max(int(deals["partner"].nunique()), 2)
    values = np.array([f"Region {i:03d}" for i in range(count)], dtype=object)
    return ck.validate_deals(deals.assign(region=values[rng.integers(0, count, len(deals))]))


def view_changes(prepared, level: str) -> list[float]:
    """The level comparison's changes on the views layer: tables and chart specs per change."""
    from channelkpi.tiles import TILE_TABLES
    from channelkpi.views import CHART_TABLES, View, table_key, view_charts, view_tables

    shown = {"trend", "ranking"}
    only = {*TILE_TABLES, *(t for name in shown for t in CHART_TABLES[name])}
    first_value = sorted(str(v) for v in prepared.deals[level].dropna().unique())[0]
    start, end = (str(d.date()) for d in prepared.date_span())
    middle = str((pd.Timestamp(start) + (pd.Timestamp(end) - pd.Timestamp(start)) / 4).date())
    states = [
        View(by=level, freq="Q"),
        View(by=level, freq="Q", start=middle, end=end),
        View(by=level, freq="Q", start=middle, end=end, where={"channel": ["partner"]}),
        View(by=level, freq="M", start=middle, end=end, where={"channel": ["partner"]}),
        View(by=level, freq="M", start=middle, end=end, where={"channel": ["partner"]}, selection=[first_value]),
        View(by=level, freq="M", start=middle, end=end, where={"channel": ["partner"]}),
    ]
    cache: dict = {}
    kept: dict = {}  # tables by their key, as the dashboard keeps them: a state seen before is reused
    times = []
    for view in states:
        t = time.perf_counter()
        keys = {name: table_key(name, view) for name in only}
        todo = [name for name, key in keys.items() if key not in kept]
        fresh = view_tables(prepared, view, only=todo, cache=cache) if todo else {}
        for name in todo:
            kept[keys[name]] = fresh.get(name)
        tables = {name: kept[key] for name, key in keys.items() if kept[key] is not None}
        view_charts(tables, by=level, only=shown)
        times.append(time.perf_counter() - t)
    return times


def dashboard_level_changes(deals, level: str) -> list[float] | None:
    """The same changes on a dashboard, or None when its level control does not offer ``level``."""
    from channelkpi.widgets import Dashboard

    dash = Dashboard(deals)
    if level not in [value for _label, value in dash.by.options]:
        return None
    months = dash.period.options
    first_value = sorted(str(v) for v in deals[level].dropna().unique())[0]
    changes = [
        lambda: setattr(dash.by, "value", level),
        lambda: setattr(dash.period, "value", (months[6][1], months[-7][1])),
        lambda: setattr(dash.channels, "value", ["partner"]),
        lambda: setattr(dash.freq, "value", "M"),
        lambda: dash.select([first_value]),
        dash.clear_selection,
    ]
    times = []
    for change in changes:
        t = time.perf_counter()
        change()
        times.append(time.perf_counter() - t)
    return times


def compare_levels(deals, rounds: int) -> None:
    """A kept level against the partner level, measured in the same run, rounds interleaved."""
    import channelkpi as ck

    kept = with_kept_level(deals)
    prepared = ck.prepare(kept)
    for level in ("partner", "region"):
        prepared.level(level)  # coded once, as a dashboard has done before the first change
    levels = ("partner", "region")
    views: dict[str, list[float]] = {lv: [] for lv in levels}
    widgets: dict[str, list[float]] = {lv: [] for lv in levels}
    offered = True
    for _ in range(rounds):
        for level in levels:
            views[level] += view_changes(prepared, level)
            if offered:
                got = dashboard_level_changes(kept, level)
                offered = got is not None
                widgets[level] += got or []
    median = {lv: statistics.median(views[lv]) * 1000 for lv in levels}
    print(f"views layer, median per change (tiles, trend, ranking; {len(views['partner'])} changes per level):")
    for level in levels:
        print(f"  by={level!r:10} {median[level]:6.0f} ms   max {max(views[level]) * 1000:6.0f} ms")
    print(f"  kept level / partner: {median['region'] / median['partner']:.2f}")
    if offered:
        wmedian = {lv: statistics.median(widgets[lv]) * 1000 for lv in levels}
        print("dashboard, median per change:")
        for level in levels:
            print(f"  by={level!r:10} {wmedian[level]:6.0f} ms (target 200 ms)")
        print(f"  kept level / partner: {wmedian['region'] / wmedian['partner']:.2f}")
    else:
        print("dashboard: its level control does not offer kept columns; only the views layer was measured")


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
    parser.add_argument("--levels-only", action="store_true", help="only compare a kept level with the partner level")
    args = parser.parse_args()
    deals = make_deals(args.rows, partners=args.partners, seed=21)
    if args.levels_only:
        compare_levels(deals, args.rounds)
        return
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
    compare_levels(deals, args.rounds)


if __name__ == "__main__":
    main()
