"""Proposing a mapping for a large export no preset knows: a bounded sample plus column counts.

Run on demand:

    .venv/bin/python benchmarks/propose_mapping.py [--rows 1000000] [--rounds 3]

Writes a CSV shaped like the issue's example (``ref, reseller, rep, customer, phase,
opened_on, closed_on, deal_value`` plus a free-text column), then reports the median of
``--rounds`` runs of: reading the file (``read_raw``), proposing from the read table
(``propose``), the two together (``propose_mapping(path)``, what a user calls), and
``load_crm(path)`` of the same file as the reference measured in the same run. Target:
``propose_mapping`` of 1 M rows in at most 2 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from channelkpi import load_crm
from channelkpi.ingest.meaning import propose, propose_mapping
from channelkpi.ingest.reader import read_raw


def write_export(path: Path, rows: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    phases = np.array(["Won", "Lost", "Negotiating", "Qualifying", "Proposal"])
    phase = phases[rng.integers(0, len(phases), rows)]
    opened = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D")
    closed = opened + pd.to_timedelta(rng.integers(5, 120, rows), unit="D")
    closed_text = np.where(np.isin(phase, ["Won", "Lost"]), closed.strftime("%Y-%m-%d"), "")
    frame = pd.DataFrame(
        {
            "ref": [f"Q-{i:07d}" for i in range(rows)],
            "reseller": np.array([f"Partner {i}" for i in range(400)])[rng.integers(0, 400, rows)],
            "rep": np.array([f"Rep {i}" for i in range(60)])[rng.integers(0, 60, rows)],
            "customer": np.array([f"Customer {i}" for i in range(20_000)])[rng.integers(0, 20_000, rows)],
            "phase": phase,
            "opened_on": opened.strftime("%Y-%m-%d"),
            "closed_on": closed_text,
            "deal_value": (rng.gamma(2.0, 5000.0, rows)).round(2),
            "notes": np.array(["call back", "", "price discussed", "needs legal review"])[rng.integers(0, 4, rows)],
        }
    )
    frame.to_csv(path, index=False)


def timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "custom_report.csv"
        write_export(path, args.rows)
        print(f"{args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB")
        m = propose_mapping(path)
        print("proposal:", m.columns, m.stage_map)
        times: dict[str, list[float]] = {"read_raw": [], "propose": [], "propose_mapping": [], "load_crm": []}
        for _ in range(args.rounds):
            raw = read_raw(path)
            times["read_raw"].append(timed(lambda: read_raw(path)))
            times["propose"].append(timed(lambda raw=raw: propose(raw)))
            times["propose_mapping"].append(timed(lambda: propose_mapping(path)))
            times["load_crm"].append(timed(lambda: load_crm(path)))
        med = {k: statistics.median(v) for k, v in times.items()}
        for name, value in med.items():
            print(f"{name:16s} {value:6.2f} s")
        print(f"propose_mapping / load_crm = {med['propose_mapping'] / med['load_crm']:.2f}")
        print(f"target: propose_mapping <= 2 s: {'met' if med['propose_mapping'] <= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
