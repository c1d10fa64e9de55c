"""Peak memory and time of loading a 1 M-row CRM export, against a stated budget.

Run on demand:

    .venv/bin/python benchmarks/load_memory.py [--rows 1000000] [--budget-mb 2048]

Writes a Salesforce-report-style CSV of synthetic deals (about 190 MB at 1 M rows), loads it
with ``channelkpi.load_crm`` in a fresh Python process, and reports that process's peak resident
memory beside the file size and a plain ``pandas.read_csv`` of the same file in another fresh
process (the reference). Exits non-zero when the peak is over the budget.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import resource, sys, time
t0 = time.perf_counter()
if sys.argv[1] == "channelkpi":
    import channelkpi
    result = channelkpi.load_crm(sys.argv[2])
    rows = result.summary()["kept"]
else:
    import pandas
    rows = len(pandas.read_csv(sys.argv[2], dtype=str))
print(rows, time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def measure(kind: str, path: Path) -> tuple[int, float, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(path)], check=True, capture_output=True, text=True)
    rows, seconds, peak_mb = out.stdout.split()
    return int(rows), float(seconds), float(peak_mb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--budget-mb", type=float, default=2048)
    args = parser.parse_args()
    from channelkpi.datasets import make_deals, salesforce_report_frame

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.csv"
        t0 = time.perf_counter()
        salesforce_report_frame(make_deals(args.rows, seed=3)).to_csv(path, index=False)
        size_mb = path.stat().st_size / 2**20
        print(f"wrote {args.rows:,} rows, {size_mb:.0f} MB, in {time.perf_counter() - t0:.1f} s")
        rows_ref, t_ref, peak_ref = measure("pandas", path)
        rows, t, peak = measure("channelkpi", path)
    assert rows == rows_ref == args.rows, (rows, rows_ref)
    print(f"{'pandas.read_csv(dtype=str)':<28}{t_ref:7.1f} s  peak {peak_ref:7.0f} MB")
    print(
        f"{'channelkpi.load_crm':<28}{t:7.1f} s  peak {peak:7.0f} MB  ({t / t_ref:.1f}x time, {peak / size_mb:.1f}x file size)"
    )
    verdict = "within" if peak <= args.budget_mb else "OVER"
    print(f"budget {args.budget_mb:.0f} MB: {verdict}")
    if peak > args.budget_mb:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
