"""The Spark backfill's rows/s on local[1] and local[2] against the single-process batch job, on the same real
TLC months, and what Spark costs per row on top of the scoring itself.

Both engines score the raw published 2023-01 and 2023-02 months (local parquet in, local parquet out) with
the same pinned model. The batch job runs in this process, file by file. The backfill runs through its own
`run()` on a local Spark session per master: a first run starts the Python workers and loads the model in
each (reported apart), then the timed runs. rows/s per core = rows/s / cores, the figure to size a cluster
with (docs/backfill.md). Figures depend on the machine and its load; run on a quiet one.
Model: MODEL_LOCATION if set (a local directory), else the project's default model (.cache/default-model).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ride_scorer.batch.job import BatchJob, score_file  # noqa: E402
from ride_scorer.core.integrity import directory_digest  # noqa: E402
from ride_scorer.core.model import load_model  # noqa: E402
from ride_scorer.core.settings import ModelSettings  # noqa: E402

MONTHS = ("green_tripdata_2023-01.parquet", "green_tripdata_2023-02.parquet")
MASTERS = ("local[1]", "local[2]")


def model_directory() -> Path:
    location = os.environ.get("MODEL_LOCATION", "").strip()
    if location and not location.startswith("s3://"):
        return Path(location)
    printed = subprocess.run([sys.executable, "-m", "tools.default_model"], check=True, capture_output=True, text=True)
    return Path(printed.stdout.strip())


def bench_batch(model_dir: Path, work: Path, repeats: int) -> float:
    model = load_model(model_dir, directory_digest(model_dir))
    rates = []
    for _ in range(repeats):
        rows = 0
        seconds = 0.0
        for month in MONTHS:
            job = BatchJob(str(ROOT / "data" / month), str(work / "b.parquet"), str(work / "r.parquet"), progress=False)
            summary = score_file(job, model, "bench")
            rows, seconds = rows + summary.rows, seconds + summary.seconds
        rates.append(rows / seconds)
    rate = statistics.median(rates)
    print(f"  batch job, 1 process:  {rows:,} rows, median {rate:,.0f} rows/s (best {max(rates):,.0f})")
    return rate


def copies_of_the_months(work: Path, copies: int) -> list[Path]:
    """`copies` copies of each month, as separate files (what a backfill reads: many months)."""
    folder = work / f"months-x{copies}"
    folder.mkdir(exist_ok=True)
    paths = []
    for copy in range(copies):
        for month in MONTHS:
            path = folder / f"{copy}-{month}"
            if not path.exists():
                shutil.copyfile(ROOT / "data" / month, path)
            paths.append(path)
    return paths


def bench_spark(master: str, model_dir: Path, work: Path, repeats: int, copies: int) -> tuple[float, float]:
    """(seconds per row, fixed seconds per run): timed on the months once and `copies` times, so the
    per-row cost is the slope between the two and the rest is the run's fixed cost (job scheduling, the two
    writes, the counts)."""
    from ride_scorer.backfill.job import run
    from ride_scorer.backfill.session import spark_session
    from ride_scorer.backfill.settings import BackfillSettings

    model = ModelSettings(str(model_dir), model_sha256=directory_digest(model_dir))
    inputs = {1: [ROOT / "data" / month for month in MONTHS], copies: copies_of_the_months(work, copies)}
    spark = spark_session(master, {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2"})
    spark.sparkContext.setLogLevel("ERROR")
    timings: dict[int, tuple[int, float]] = {}
    try:
        for count, paths in inputs.items():
            settings = BackfillSettings(
                inputs=tuple(str(path) for path in paths),
                output=str(work / f"predictions-{master}"),
                rejects=str(work / f"rejects-{master}"),
                model=model,
                overwrite=True,
            )
            if count == 1:
                first = run(spark, settings, "bench")
            summaries = [run(spark, settings, "bench") for _ in range(repeats)]
            timings[count] = (summaries[0].rows, statistics.median(summary.seconds for summary in summaries))
    finally:
        spark.stop()
    (small_rows, small_seconds), (large_rows, large_seconds) = timings[1], timings[copies]
    per_row = (large_seconds - small_seconds) / (large_rows - small_rows)
    fixed = max(0.0, small_seconds - per_row * small_rows)
    print(
        f"  backfill, {master}: {large_rows:,} rows in {large_seconds:.1f} s "
        f"({large_rows / large_seconds:,.0f} rows/s), "
        f"{small_rows:,} in {small_seconds:.1f} s; {1 / per_row:,.0f} rows/s past a fixed {fixed:.1f} s a run; "
        f"first run {first.seconds:.1f} s (workers start, model loads)"
    )
    return per_row, fixed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per engine and input")
    parser.add_argument("--copies", type=int, default=3, help="copies of the months in the larger input")
    args = parser.parse_args()
    try:
        import pyspark
    except ImportError:
        print("bench/spark.py: PySpark is not installed (pip install -e '.[spark]'); skipped")
        return
    print(f"backfill on PySpark {pyspark.__version__} vs the batch job: {len(MONTHS)} months, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="ride-scorer-bench-spark-") as folder:
        work = Path(folder)
        model_dir = model_directory()
        batch = bench_batch(model_dir, work, args.repeats + 1)
        costs = {master: bench_spark(master, model_dir, work, args.repeats, args.copies) for master in MASTERS}
    one, two = 1 / costs["local[1]"][0], 1 / costs["local[2]"][0]
    print(
        f"  past the fixed cost: local[1] / batch job {one / batch:.2f}, local[2] / batch job {two / batch:.2f}, "
        f"local[2] / local[1] {two / one:.2f}"
    )
    print(
        f"  per row and core: batch job {1e6 / batch:.1f} us; backfill {1e6 / one:.1f} us on local[1], "
        f"{2e6 / two:.1f} us on local[2]: Spark adds {1e6 / one - 1e6 / batch:.1f} us (local[1])"
    )
    print(f"  rows/s per executor core: {one:,.0f} (local[1]), {two / 2:,.0f} (local[2])")


if __name__ == "__main__":
    main()
