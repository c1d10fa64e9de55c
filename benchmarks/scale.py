"""kpi_table(by="partner", freq="M") where the data lives: pandas, polars, DuckDB and Spark.

Run on demand (several minutes; 10 M rows need about 8 GB free):

    .venv/bin/python benchmarks/scale.py [--rows 1000000 10000000] [--engines pandas polars duckdb spark]

Writes synthetic deals (~500 partners, 36 months) as a Parquet dataset, then for each size
runs, each in a fresh process (so peak memory is that engine's alone): the native DuckDB SQL
reference of benchmarks/kpi_engine.py over the Parquet files, and channelkpi.kpi_table on a
pandas table (read first; stage 1 on DuckDB), a polars LazyFrame, a DuckDB relation and a
Spark DataFrame over the same files. Prints median seconds, the ratio to the reference, peak
memory, and checks every engine's numbers against the reference.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, os, resource, statistics, sys, time
sys.path.insert(0, sys.argv[3])
engine, folder, repeat = sys.argv[1], sys.argv[2], int(sys.argv[4])
glob = os.path.join(folder, "*.parquet")

def run():
    if engine == "reference":
        import duckdb
        from kpi_engine import SQL
        con = duckdb.connect()
        con.execute(f"CREATE VIEW deals AS SELECT * FROM read_parquet('{glob}')")
        return con.execute(SQL).df()
    import channelkpi as ck
    return ck.kpi_table(FRAME, by="partner", freq="M")

if engine == "pandas":
    import pandas as pd
    FRAME = pd.read_parquet(folder)
elif engine == "polars":
    import polars as pl
    FRAME = pl.scan_parquet(glob)
elif engine == "duckdb":
    import duckdb
    FRAME = duckdb.connect().read_parquet(glob)
elif engine == "spark":
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.driver.memory", "6g").config("spark.sql.shuffle.partitions", "8")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    FRAME = spark.read.parquet(folder)
times = []
for _ in range(repeat):
    t0 = time.perf_counter()
    out = run()
    times.append(time.perf_counter() - t0)
key = out["period_start"].dt.year * 12 + out["period_start"].dt.month - 1 if "period_start" in out else out["key"]
cols = ["won_count", "won_amount", "open_count", "open_amount", "win_rate", "median_deal_size", "cycle_days_median"]
result = {c: [None if v != v else float(v) for v in out[c]] for c in cols}
result["partner"] = [str(p) for p in out["partner"]]
result["key"] = [int(k) for k in key]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Spark's JVM
print(json.dumps({"seconds": statistics.median(times), "peak_mb": peak, "child_peak_mb": children, "result": result}))
"""


def write_dataset(rows: int, folder: Path) -> None:
    import channelkpi as ck
    from channelkpi.datasets import make_deals

    chunk = 1_000_000
    for i, start in enumerate(range(0, rows, chunk)):
        n = min(chunk, rows - start)
        part = make_deals(n, partners=500, months=36, seed=100 + i)
        part = part.assign(deal_id="C" + str(i) + "-" + part["deal_id"])
        ck.to_parquet(part, folder)


def measure(engine: str, folder: Path, repeat: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, engine, str(folder), str(HERE), str(repeat)], capture_output=True, text=True
    )
    if out.returncode:
        raise SystemExit(f"{engine} failed:\n{out.stderr[-3000:]}")
    # the result is the last JSON object (an engine may print progress bars before it, on
    # the same line: DuckDB draws one for queries over two seconds)
    at = out.stdout.rfind('{"seconds"')
    if at < 0:
        raise SystemExit(f"{engine} printed no result:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout[at:].splitlines()[0])


def compare(name: str, mine: dict, ref: dict) -> float:
    import numpy as np

    index = {(p, k): i for i, (p, k) in enumerate(zip(ref["result"]["partner"], ref["result"]["key"]))}
    worst = 0.0
    for col in mine["result"]:
        if col in ("partner", "key"):
            continue
        for p, k, v in zip(mine["result"]["partner"], mine["result"]["key"], mine["result"][col]):
            r = ref["result"][col][index[(p, k)]]
            if (v is None) != (r is None):
                raise SystemExit(f"{name}: {col} missing for {p} {k} on one side only")
            if v is not None:
                worst = max(worst, abs(v - r) / max(1.0, abs(r)))
    if not np.isfinite(worst) or worst > 1e-9:
        raise SystemExit(f"{name}: numbers differ from the reference (max relative {worst:.1e})")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--engines", nargs="+", default=["pandas", "polars", "duckdb", "spark"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'rows':>11} {'engine':<26}{'seconds':>9}{'vs SQL':>8}{'peak MB':>9}")
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "deals"
            t0 = time.perf_counter()
            # in its own process: a child's peak memory counter starts at its parent's
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    f"import sys; sys.path.insert(0, {str(HERE)!r}); "
                    f"from scale import write_dataset; from pathlib import Path; "
                    f"write_dataset({rows}, Path({str(folder)!r}))",
                ],
                check=True,
            )
            print(f"{rows:>11,} dataset written in {time.perf_counter() - t0:.0f} s")
            ref = measure("reference", folder, args.repeat)
            print(f"{rows:>11,} {'DuckDB SQL reference':<26}{ref['seconds']:9.2f}{1:8.2f}x{ref['peak_mb']:9.0f}")
            for engine in args.engines:
                repeat = 1 if engine == "spark" and rows > 2_000_000 else args.repeat
                mine = measure(engine, folder, repeat)
                compare(engine, mine, ref)
                peak = mine["peak_mb"] + (mine["child_peak_mb"] if engine == "spark" else 0)
                label = {
                    "pandas": "pandas table (DuckDB stage 1)",
                    "polars": "polars LazyFrame",
                    "duckdb": "DuckDB relation",
                    "spark": "Spark DataFrame (local[2])",
                }[engine]
                print(
                    f"{rows:>11,} {label:<26}{mine['seconds']:9.2f}{mine['seconds'] / ref['seconds']:8.2f}x{peak:9.0f}"
                )
    print("every engine's numbers equal the reference's (max relative difference <= 1e-9)")


if __name__ == "__main__":
    main()
