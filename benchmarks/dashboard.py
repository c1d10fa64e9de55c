"""Dashboard latency: time from a control change to all views updated.

Run on demand:

    .venv/bin/python benchmarks/dashboard.py [--rows 1000000] [--changes 6]

Builds :class:`channelkpi.widgets.Dashboard` on synthetic deals (no browser: the widgets and
chart specs are updated in the kernel, which is what a change costs before the browser draws)
and reports the median time per change over partner, period, channel, level and frequency
changes (the tiles and the open tab are updated), then the time to open each other tab after
a change. Target: 200 ms per change at 1 M deals.
"""

from __future__ import annotations

import argparse
import statistics
import time

from channelkpi.datasets import make_deals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=500)
    args = parser.parse_args()
    from channelkpi.widgets import Dashboard

    deals = make_deals(args.rows, partners=args.partners, seed=21)
    t0 = time.perf_counter()
    dash = Dashboard(deals)
    print(f"{args.rows:,} deals: dashboard built in {time.perf_counter() - t0:.2f} s")
    months = dash.period.options
    partners = [value for value, _label in dash.picker.options]
    changes = [
        ("partner", lambda: setattr(dash.picker, "value", partners[:3])),
        ("period", lambda: setattr(dash.period, "value", (months[6][1], months[-7][1]))),
        ("channel", lambda: setattr(dash.channels, "value", ["partner"])),
        ("freq", lambda: setattr(dash.freq, "value", "M")),
        ("level", lambda: setattr(dash.level, "value", "unit")),
        ("click", lambda: dash.select([sorted(deals["unit"].dropna().unique())[0]])),
        ("partner off", lambda: setattr(dash.picker, "value", [])),
        ("clear", dash.clear_selection),
    ]
    times = []
    for name, change in changes:
        t = time.perf_counter()
        change()
        times.append(time.perf_counter() - t)
        print(f"  {name:<12}{times[-1] * 1000:8.0f} ms")
    median = statistics.median(times) * 1000
    print(f"median per change: {median:.0f} ms (target 200 ms)")
    tabs = dash.tabs
    opened = []
    for i in range(1, len(tabs.children)):
        t = time.perf_counter()
        tabs.selected_index = i
        opened.append(time.perf_counter() - t)
        print(f"  open {tabs.get_title(i):<14}{opened[-1] * 1000:6.0f} ms")
    print(f"median to open a tab after a change: {statistics.median(opened) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
