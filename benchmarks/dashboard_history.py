"""Dashboard latency with a deal history: a control change with the Movement tab shown.

Run on demand (under the shared benchmark lock):

    flock /tmp/channelkpi-bench.lock .venv/bin/python benchmarks/dashboard_history.py [--deals 1000000]

Builds the synthetic history of ``benchmarks/movement.py`` (``--deals`` deals x five states over
three years, 500 partners, two currencies), the dashboard on its latest state with
``history=``, opens the Movement tab, then times each control change from the moment it is
set until every view shown is up to date (the tiles and the part of the Movement tab shown
first -- the waterfall, the deals of its bars and the top movers -- are redrawn in the kernel;
the funnel and time in stage are made when their part is shown; the browser's drawing is not
included): partners, level, date range, frequency, back. The same changes without history
(the Movement tab shown, nothing to draw) are timed in the same run as the reference.
Target: 300 ms median per change. Exits non-zero when the median is over.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from movement import synthetic_history  # noqa: E402


def changes(dash) -> list[tuple[str, object]]:
    """Control changes a channel manager makes in a meeting, in order."""
    months = dash.period.options
    partners = [value for value, _label in dash.picker.options]
    return [
        ("partners", lambda: setattr(dash.picker, "value", partners[:3])),
        ("level", lambda: setattr(dash.by, "value", "owner")),
        ("date range", lambda: setattr(dash.period, "value", (months[12][1], months[-7][1]))),
        # the period size the dashboard does not show yet (it opens by quarter): a real change
        ("frequency", lambda: setattr(dash.freq, "value", "M" if dash.freq.value != "M" else "Q")),
        ("level back", lambda: setattr(dash.by, "value", "partner")),
        ("one partner", lambda: setattr(dash.picker, "value", partners[3:4])),
        ("date range 2", lambda: setattr(dash.period, "value", (months[24][1], months[-1][1]))),
        ("partners off", lambda: setattr(dash.picker, "value", [])),
    ]


def run(deals, history, *, verbose: bool) -> tuple[list[float], float, float]:
    """Times of each change with the Movement tab shown; the build and first draw of the tab."""
    from channelkpi.widgets import Dashboard

    t0 = time.perf_counter()
    dash = Dashboard(deals, history=history)
    built = time.perf_counter() - t0
    names = [dash.tabs.get_title(i) for i in range(len(dash.tabs.children))]
    t0 = time.perf_counter()
    dash.tabs.selected_index = names.index("Movement")
    opened = time.perf_counter() - t0
    if history is not None:
        assert dash.movement.widget is not None
    times = []
    for name, change in changes(dash):
        t = time.perf_counter()
        change()
        times.append(time.perf_counter() - t)
        if verbose:
            print(f"  {name:<14}{times[-1] * 1000:8.0f} ms")
    return times, built, opened


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1, help="runs of every change (the medians are over all)")
    parser.add_argument("--max-ms", type=float, default=300.0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    history = synthetic_history(args.deals)
    deals = history.state(history.as_of)
    print(f"history of {args.deals:,} deals x 5 states built in {time.perf_counter() - t0:.1f} s")
    with_history, without = [], []
    for r in range(args.rounds):
        print(f"round {r + 1}: with history")
        times, built, opened = run(deals, history, verbose=True)
        with_history += times
        print(f"  (dashboard built in {built:.1f} s, Movement tab first drawn in {opened * 1000:.0f} ms)")
        print(f"round {r + 1}: without history (reference)")
        times, _, _ = run(deals, None, verbose=False)
        without += times
    median = statistics.median(with_history)
    reference = statistics.median(without)
    ok = median <= args.max_ms / 1000
    print(
        f"median control change with the Movement tab shown: {median * 1000:.0f} ms "
        f"({median / reference:.1f}x the same change without history, {reference * 1000:.0f} ms) "
        f"[target {args.max_ms:.0f} ms] {'ok' if ok else 'OVER'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
