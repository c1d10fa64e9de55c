"""Time and peak memory of building a deal history, against Arrow's CSV reader.

Run on demand (under the shared benchmark lock):

    flock /tmp/channelkpi-bench.lock .venv/bin/python benchmarks/history_load.py [--deals 1000000]

Two cases, each in a fresh process (imports not timed):

* ``opportunity_history`` -- a Salesforce ``OpportunityHistory`` export of ``--deals`` deals with
  five rows each (stage moves, amount changes, close-date slips, ISO date-times) and the current
  ``Opportunity`` export: ``load_history(history, current=current)``. Budget: 30 s, 2 GB peak.
* ``snapshots`` -- twelve monthly exports of ``--snapshot-deals`` deals of the same report (a
  tenth of the open deals change each month, a few leave and come back):
  ``load_history([...twelve files...])``. Budget: 20 s.

The reference is ``pyarrow.csv.read_csv`` of the same files, timed in the same run; the ratio is
printed beside the seconds (absolute seconds are noisy on a shared machine). ``--against DIR``
also times both cases with the channelkpi of another source tree (e.g. an earlier commit
unpacked with ``git archive``), in the same run, to quote a change before and after. Exits
non-zero when a budget is exceeded or the history does not account for every row.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

CHILD = """
import resource, sys, time, json
kind, paths = sys.argv[1], json.loads(sys.argv[2])
if kind == "pyarrow":
    import pyarrow.csv
    t0 = time.perf_counter()
    rows = sum(pyarrow.csv.read_csv(p).num_rows for p in paths)
else:
    import channelkpi
    t0 = time.perf_counter()
    if kind == "opportunity_history":
        h = channelkpi.load_history(paths[0], current=paths[1])
    else:
        h = channelkpi.load_history(paths)
    s = h.summary()
    assert s["rows_read"] == s["kept"] + s["merged"] + s["rejected"], s
    rows = s["rows_read"]
seconds = time.perf_counter() - t0
print(rows, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

STAGES = np.array(["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"])


def write_opportunity_history(folder: Path, deals: int, seed: int = 7) -> tuple[Path, Path]:
    """Five history rows per deal and the current export that ends them."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("006", np.char.zfill(np.arange(deals).astype(str), 12))
    start = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365 * 24 * 60, deals), "min")
    rows = []
    amount = rng.integers(1_000, 200_000, deals).astype(float)
    close = start.normalize() + pd.to_timedelta(rng.integers(30, 180, deals), "D")
    t = start
    for k in range(5):
        stage = STAGES[np.minimum(k, 3)] if k < 4 else STAGES[4 + rng.integers(0, 2, deals) * 1]
        if k == 4:
            stage = np.where(rng.random(deals) < 0.6, stage, STAGES[3])
        rows.append(
            pd.DataFrame(
                {
                    "OpportunityId": ids,
                    "CreatedDate": t.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                    "StageName": stage,
                    "Amount": amount,
                    "CloseDate": close.strftime("%Y-%m-%d"),
                    "Probability": 10 * (k + 1),
                }
            )
        )
        t = t + pd.to_timedelta(rng.integers(60, 30 * 24 * 60, deals), "min")
        amount = np.where(rng.random(deals) < 0.3, np.round(amount * rng.uniform(0.5, 1.5, deals)), amount)
        close = close + pd.to_timedelta(np.where(rng.random(deals) < 0.3, rng.integers(1, 60, deals), 0), "D")
    history = pd.concat(rows, ignore_index=True).sample(frac=1, random_state=seed)
    last = rows[-1]
    won, lost = last["StageName"].eq("Closed Won"), last["StageName"].eq("Closed Lost")
    current = pd.DataFrame(
        {
            "Id": ids,
            "StageName": last["StageName"],
            "Amount": last["Amount"],
            "CloseDate": last["CloseDate"],
            "Probability": last["Probability"],
            "IsClosed": (won | lost).map({True: "true", False: "false"}),
            "IsWon": won.map({True: "true", False: "false"}),
            "CreatedDate": rows[0]["CreatedDate"].str[:10],
        }
    )
    hp, cp = folder / "OpportunityHistory.csv", folder / "Opportunity.csv"
    history.to_csv(hp, index=False)
    current.to_csv(cp, index=False)
    return hp, cp


def write_snapshots(folder: Path, deals: int, months: int = 12, seed: int = 11) -> list[Path]:
    """Monthly exports of the same generic report; each month some open deals change or close."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("D", np.arange(deals).astype(str))
    status = np.full(deals, "Open", dtype=object)
    amount = rng.integers(1_000, 100_000, deals).astype(float)
    close = pd.Timestamp("2025-01-31") + pd.to_timedelta(rng.integers(0, 365, deals), "D")
    partner = np.array([f"Partner {i}" for i in range(200)])[rng.integers(0, 200, deals)]
    paths = []
    for m in range(months):
        date = pd.Timestamp("2025-01-01") + pd.DateOffset(months=m)
        open_ = status == "Open"
        change = open_ & (rng.random(deals) < 0.1)
        amount = np.where(change, np.round(amount * rng.uniform(0.7, 1.3, deals)), amount)
        close = close + pd.to_timedelta(np.where(change, rng.integers(1, 45, deals), 0), "D")
        ends = open_ & (rng.random(deals) < 0.05)
        status = np.where(ends, np.where(rng.random(deals) < 0.5, "Won", "Lost"), status)
        present = rng.random(deals) > 0.002  # a few deals leave one export and come back
        frame = pd.DataFrame(
            {
                "Deal ID": ids,
                "Partner": partner,
                "Status": status,
                "Amount": amount,
                "Close Date": close.strftime("%Y-%m-%d"),
                "Created": "2024-12-01",
            }
        )[present]
        path = folder / f"deals_{date.date()}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def run(kind: str, paths: list[Path], tree: str | None = None) -> tuple[int, float, float]:
    """Rows, seconds and peak MB of one case in a fresh process (``tree``: import channelkpi from there)."""
    import json

    env = dict(os.environ, PYTHONPATH=tree) if tree else None
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, json.dumps([str(p) for p in paths])],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=paths[0].parent,  # not the repository: "python -c" imports from the working directory first
    )
    rows, seconds, mb = out.stdout.split()
    return int(rows), float(seconds), float(mb)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--snapshot-deals", type=int, default=100_000)
    parser.add_argument("--max-seconds", type=float, default=30.0)
    parser.add_argument("--budget-mb", type=float, default=2048.0)
    parser.add_argument("--max-snapshot-seconds", type=float, default=20.0)
    parser.add_argument("--against", metavar="DIR", help="also time channelkpi imported from this source tree")
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hp, cp = write_opportunity_history(folder, args.deals)
        ref = run("pyarrow", [hp, cp])
        got = run("opportunity_history", [hp, cp])
        ok = got[1] <= args.max_seconds and got[2] <= args.budget_mb and got[0] == 5 * args.deals
        failed |= not ok
        if args.against:
            was = run("opportunity_history", [hp, cp], args.against)
            print(
                f"opportunity_history with {args.against}: {was[1]:.1f} s ({was[1] / ref[1]:.1f}x pyarrow), "
                f"peak {was[2]:,.0f} MB; this tree: {got[1] / was[1]:.2f}x the time, {got[2] / was[2]:.2f}x the peak"
            )
        print(
            f"opportunity_history: {args.deals:,} deals x 5 rows: {got[1]:.1f} s "
            f"({got[1] / ref[1]:.1f}x pyarrow's {ref[1]:.2f} s), peak {got[2]:,.0f} MB "
            f"[budget {args.max_seconds:.0f} s, {args.budget_mb:,.0f} MB] {'ok' if ok else 'OVER'}"
        )
        snap_folder = folder / "snapshots"
        snap_folder.mkdir()
        paths = write_snapshots(snap_folder, args.snapshot_deals)
        ref = run("pyarrow", paths)
        got = run("snapshots", paths)
        ok = got[1] <= args.max_snapshot_seconds and got[0] == ref[0]
        failed |= not ok
        if args.against:
            was = run("snapshots", paths, args.against)
            print(
                f"snapshots with {args.against}: {was[1]:.1f} s, peak {was[2]:,.0f} MB; this tree: {got[1] / was[1]:.2f}x"
            )
        print(
            f"snapshots: 12 exports of {args.snapshot_deals:,} deals: {got[1]:.1f} s "
            f"({got[1] / ref[1]:.1f}x pyarrow's {ref[1]:.2f} s), peak {got[2]:,.0f} MB "
            f"[budget {args.max_snapshot_seconds:.0f} s] {'ok' if ok else 'OVER'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
