"""Time and peak memory of loading 1 M-row CRM exports, against Arrow's CSV reader.

Run on demand (under the shared benchmark lock):

    flock /tmp/channelkpi-bench.lock .venv/bin/python benchmarks/load_memory.py [--rows 1000000]

Writes three exports of the same synthetic deals (``channelkpi.datasets.make_deals``, seeded):

* ``salesforce`` -- a Salesforce "Opportunities" report (labels, ``10,000.00`` amounts with an
  ``Amount Currency`` column, ``M/D/YYYY`` dates, ``90%`` probabilities), about 190 MB;
* ``dynamics365`` -- a Dynamics 365 "Export to Excel" re-saved as CSV: UTF-8 BOM, CRLF, the three
  ``(Do Not Modify)`` columns, ``M/D/YYYY`` dates with an optional ``H:MM`` in the same column,
  ``Status``/``Status Reason``, won deals at ``"$7,450.00 "`` in ``Actual Revenue``, the currency
  as a name (``US Dollar``);
* ``hubspot`` -- a HubSpot deals export: every value quoted, property labels (``Deal Stage``,
  ``Deal owner``), ``YYYY-MM-DD`` close dates and ``YYYY-MM-DD HH:MM`` create dates, plain amounts.

For each file, in fresh processes (the fastest of ``--repeat`` runs each): the seconds of
``pyarrow.csv.read_csv(path)`` (all defaults, the reference), the seconds of
``channelkpi.load_crm(path)``, their ratio, and the load's peak resident memory. Imports are
not timed: ``pyarrow.csv`` is imported before its clock starts, and ``channelkpi.load_crm`` is
looked up (which imports pandas and the loader, as ``channelkpi`` imports on first use) before
its clock starts. Exits non-zero when a load is slower than ``--max-ratio`` times the reference or
peaks above ``--budget-mb``, or when it does not keep every row as a deal.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CHILD = """
import resource, sys, time
kind, path = sys.argv[1], sys.argv[2]
if kind == "pyarrow":
    import pyarrow.csv
    t0 = time.perf_counter()
    rows = pyarrow.csv.read_csv(path).num_rows
else:
    import channelkpi
    load_crm = channelkpi.load_crm  # imported on first use (PEP 562): pandas and all, not timed
    t0 = time.perf_counter()
    rows = load_crm(path).summary()["kept"]
seconds = time.perf_counter() - t0
print(rows, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

FILES = ("salesforce", "dynamics365", "hubspot")


def _us_date(d: pd.Series, times: np.ndarray | None = None) -> pd.Series:
    """``M/D/YYYY``, with `` H:MM`` where ``times`` (minutes of the day) is not negative."""
    filled = d.fillna(pd.Timestamp("2000-01-01"))
    text = filled.dt.month.astype(str) + "/" + filled.dt.day.astype(str) + "/" + filled.dt.year.astype(str)
    if times is not None:
        clock = " " + (times // 60).astype(str) + ":" + np.char.zfill((times % 60).astype(str), 2)
        text = text + np.where(times >= 0, clock, "")
    return text.where(d.notna(), "")


def _money(amount: pd.Series, fmt: str) -> pd.Series:
    return amount.map(lambda a: fmt.format(a) if pd.notna(a) else "")


def dynamics365_frame(deals: pd.DataFrame, *, seed: int = 3) -> pd.DataFrame:
    """The deals as a Dynamics 365 opportunity view exported to Excel and saved as CSV."""
    rng = np.random.default_rng(seed)
    n = len(deals)
    i = np.arange(n)
    status = deals["status"].astype(str)
    won, lost = (status == "won").to_numpy(), (status == "lost").to_numpy()
    reason = np.where(won, "Won", np.where(lost, rng.choice(["Canceled", "Out-Sold"], n), "In Progress"))
    minutes = rng.integers(0, 24 * 60, n)
    with_time = np.where(rng.random(n) < 0.6, minutes, -1)  # some rows carry a time, some do not
    customers = np.array([f"Customer {k:05d}" for k in range(5000)], dtype=object)[i % 5000]
    return pd.DataFrame(
        {
            "(Do Not Modify) Opportunity": [f"{k:08x}-6f1e-ee11-a81c-{(k * 2654435761) % 16**12:012x}" for k in i],
            "(Do Not Modify) Row Checksum": [f"{(k * 40503) % 2**31:x}+{k % 997:03d}==" for k in i],
            "(Do Not Modify) Modified On": _us_date(pd.Series(np.datetime64("2026-01-05") - i % 400), minutes),
            "Created On": _us_date(deals["created"], with_time),
            "Topic": customers + " | " + deals["source"].astype(str),
            "Owner": deals["owner"],
            "Potential Customer": customers,
            "Channel Partner": deals["partner"],
            "Status": status.str.capitalize(),
            "Status Reason": reason,
            "Est. revenue": _money(deals["amount"], "{:.2f}"),
            "Est. close date": _us_date(deals["closed"].fillna(deals["expected_close"])),
            "Actual Revenue": np.where(won, _money(deals["amount"], "${:,.2f} "), np.where(lost, "0", "")),
            "Actual Close Date": _us_date(deals["closed"], np.where(rng.random(n) < 0.3, minutes, -1)),
            "Probability": (deals["probability"] * 100).round().astype(int).astype(str),
            "Sales Stage": np.where(won | lost, "Close", rng.choice(["Qualify", "Develop", "Propose"], n)),
            "Source Campaign": deals["source"],
            "Currency": "US Dollar",
            "Revenue": np.where(i % 4 == 0, "System Calculated", "User Provided"),
        }
    )


_HUBSPOT_STAGES = ["Appointment Scheduled", "Qualified to Buy", "Presentation Scheduled", "Contract Sent"]


def hubspot_frame(deals: pd.DataFrame, *, seed: int = 3) -> pd.DataFrame:
    """The deals as a HubSpot deals export (labels, not internal names)."""
    rng = np.random.default_rng(seed)
    n = len(deals)
    status = deals["status"].astype(str).to_numpy()
    stage = np.where(
        status == "won", "Closed Won", np.where(status == "lost", "Closed Lost", rng.choice(_HUBSPOT_STAGES, n))
    )
    created = deals["created"] + pd.to_timedelta(rng.integers(8 * 60, 19 * 60, n), unit="min")
    close = deals["closed"].fillna(deals["expected_close"])
    return pd.DataFrame(
        {
            "Record ID": (14_000_000_000 + np.arange(n)).astype(str),
            "Deal Name": "Deal " + pd.Series(np.arange(n)).astype(str),
            "Deal Stage": stage,
            "Pipeline": np.where(deals["partner"] == "(direct)", "Sales Pipeline", "Partner Pipeline"),
            "Close Date": close.dt.strftime("%Y-%m-%d").fillna(""),
            "Create Date": created.dt.strftime("%Y-%m-%d %H:%M"),
            "Deal owner": deals["owner"],
            "HubSpot Team": deals["department"],
            "Region": deals["unit"],
            "Partner": deals["partner"].where(deals["partner"] != "(direct)", ""),
            "Original Traffic Source": deals["source"],
            "Amount": _money(deals["amount"], "{:.2f}"),
            "Is Closed Won": np.where(status == "won", "true", "false"),
        }
    )


def write(kind: str, rows: int, path: Path) -> None:
    import csv

    from channelkpi.datasets import make_deals, salesforce_report_frame

    deals = make_deals(rows, seed=3)
    if kind == "salesforce":
        salesforce_report_frame(deals).to_csv(path, index=False)
    elif kind == "dynamics365":
        dynamics365_frame(deals).to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    else:
        hubspot_frame(deals).to_csv(path, index=False, quoting=csv.QUOTE_ALL)


def measure(kind: str, path: Path) -> tuple[int, float, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(path)], check=True, capture_output=True, text=True)
    rows, seconds, peak_mb = out.stdout.split()
    return int(rows), float(seconds), float(peak_mb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--max-ratio", type=float, default=3.0, help="load_crm seconds / pyarrow seconds")
    parser.add_argument("--budget-mb", type=float, default=1536, help="peak resident memory of a load")
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per measurement (fastest kept)")
    parser.add_argument("--files", default=",".join(FILES), help=f"a subset of {','.join(FILES)}")
    parser.add_argument("--data-dir", type=Path, help="keep the written files here and reuse them")
    args = parser.parse_args()
    kinds = [k for k in args.files.split(",") if k]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data_dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        results, failed = [], []
        for kind in kinds:
            path = folder / f"{kind}_{args.rows}.csv"
            if not path.exists():
                t0 = time.perf_counter()
                write(kind, args.rows, path)
                print(f"wrote {path.name}: {path.stat().st_size / 2**20:.0f} MB in {time.perf_counter() - t0:.0f} s")
            ref, load, peak = [], [], []
            for _ in range(args.repeat):  # alternate, so that a busy moment hits both
                rows_ref, t, _ = measure("pyarrow", path)
                ref.append(t)
                rows, t, mb = measure("channelkpi", path)
                load.append(t)
                peak.append(mb)
            if rows != args.rows or rows_ref != args.rows:
                failed.append(f"{kind}: {rows:,} deals kept and {rows_ref:,} rows read by pyarrow, not {args.rows:,}")
            results.append((kind, min(ref), min(load), max(peak)))
    print(f"\n{'file':<13}{'pyarrow s':>10}{'load_crm s':>12}{'ratio':>8}{'peak MB':>9}")
    for kind, ref, load, peak in results:
        ratio = load / ref
        print(f"{kind:<13}{ref:>10.2f}{load:>12.2f}{ratio:>7.1f}x{peak:>9.0f}")
        if ratio > args.max_ratio:
            failed.append(f"{kind}: load_crm took {ratio:.1f}x pyarrow.csv.read_csv, over {args.max_ratio:g}x")
        if peak > args.budget_mb:
            failed.append(f"{kind}: load_crm peaked at {peak:.0f} MB, over {args.budget_mb:.0f} MB")
    print(f"targets: <= {args.max_ratio:g}x the reader, <= {args.budget_mb:.0f} MB peak")
    if failed:
        print("FAILED:\n  " + "\n  ".join(failed))
        raise SystemExit(1)
    print("all within the targets")


if __name__ == "__main__":
    main()
