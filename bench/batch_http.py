"""Batch rows/s on real TLC months, the HTTP service's latency (one ride) and throughput (1,000 rides), and
what a maximal bad body costs it.

The batch job runs in this process on the raw published 2023-01 and 2023-02 months (local files, default
chunk size). The HTTP service runs as users run it: gunicorn with the project's config (2 sync workers),
called over loopback by this process. The bad body (`[0,0,...]` up to the default MAX_REQUEST_BYTES, half a
million rides that are not events) goes to the app in this process: its 400 is timed against parsing the same
body with msgspec, as a ratio measured in the same run. Figures depend on the machine and its load; run on a
quiet one.
Model: MODEL_LOCATION if set, else a linear model trained here on 2021-01.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.parquet as pq
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ride_scorer.batch.job import BatchJob, score_file  # noqa: E402
from ride_scorer.core.integrity import directory_digest  # noqa: E402
from ride_scorer.core.model import load_model  # noqa: E402
from ride_scorer.core.settings import ModelSettings  # noqa: E402
from ride_scorer.http_service.app import create_app  # noqa: E402
from ride_scorer.http_service.settings import DEFAULT_MAX_REQUEST_BYTES, ServiceSettings  # noqa: E402
from tools.local.gunicorn_service import gunicorn_service  # noqa: E402

MONTHS = ("green_tripdata_2023-01.parquet", "green_tripdata_2023-02.parquet")


def model_directory(work: Path) -> Path:
    if os.environ.get("MODEL_LOCATION", "").strip() and not os.environ["MODEL_LOCATION"].startswith("s3://"):
        return Path(os.environ["MODEL_LOCATION"])
    from bench.models import train_model

    return train_model("linear", None, work / "model")


def bench_batch(model_dir: Path, work: Path, repeats: int) -> None:
    model = load_model(model_dir)
    print(f"batch: {repeats} runs per month, default chunk size, local parquet in and out")
    for month in MONTHS:
        path = ROOT / "data" / month
        rates = []
        for _ in range(repeats):
            job = BatchJob(str(path), str(work / "out.parquet"), str(work / "rej.parquet"), progress=False)
            summary = score_file(job, model, "bench")
            rates.append(summary.rows_per_second)
        print(
            f"  {month}: {summary.rows:,} rows, {summary.scored:,} scored, {summary.rejected:,} rejected; "
            f"median {statistics.median(rates):,.0f} rows/s (best {max(rates):,.0f})"
        )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed_post(session: requests.Session, url: str, body: object) -> float:
    started = time.perf_counter()
    response = session.post(url, json=body, timeout=60)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def bench_http(model_dir: Path, work: Path, singles: int, batches: int) -> None:
    rides = pq.read_table(ROOT / "data" / MONTHS[0], columns=["PULocationID", "DOLocationID", "trip_distance"])
    events = [{"ride": ride, "ride_id": i} for i, ride in enumerate(rides.slice(0, 1_000).to_pylist())]
    environment = {
        "MODEL_LOCATION": str(model_dir),
        "MODEL_SHA256": directory_digest(model_dir),
        "WEB_CONCURRENCY": "2",
    }
    quiet = ("--access-logfile", "/dev/null")
    with gunicorn_service(environment, work / "gunicorn.log", quiet) as url:
        with requests.Session() as session:
            for event in events[:50]:  # warm-up: imports, first predictions, connection setup
                timed_post(session, f"{url}/predict", event)
            one = [timed_post(session, f"{url}/predict", events[i % len(events)]) for i in range(singles)]
            thousand = [timed_post(session, f"{url}/predict", events) for _ in range(batches)]
        print(f"http: gunicorn, 2 sync workers, loopback, client in this process ({singles} single-ride requests)")
        print(
            f"  one ride per request: p50 {percentile(one, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(one, 0.99) * 1000:.1f} ms ({len(one) / sum(one):,.0f} requests/s, one client)"
        )
        print(
            f"  1,000 rides per request: p50 {percentile(thousand, 0.5) * 1000:.0f} ms, "
            f"{len(thousand) * 1000 / sum(thousand):,.0f} rides/s with one client"
        )
        with ThreadPoolExecutor(2) as pool, requests.Session() as a, requests.Session() as b:
            started = time.perf_counter()
            list(pool.map(lambda s: [timed_post(s, f"{url}/predict", events) for _ in range(batches)], (a, b)))
            elapsed = time.perf_counter() - started
        print(f"  1,000 rides per request, two clients: {2 * batches * 1000 / elapsed:,.0f} rides/s")


def median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_bad_body(model_dir: Path, repeats: int) -> None:
    """The error path of the largest body of bad rides against parsing it: it once took 8.9 s and 54 MB."""
    import msgspec

    rides = DEFAULT_MAX_REQUEST_BYTES // 2 - 1  # as many as fit the default limit
    body = b"[" + b"0," * (rides - 1) + b"0]"
    settings = ServiceSettings(ModelSettings(str(model_dir)))
    client = create_app(settings, load_model(model_dir)).test_client()
    answer = client.post("/predict", data=body)
    assert answer.status_code == 400, answer.status_code
    error = median_seconds(lambda: client.post("/predict", data=body), repeats)
    parse = median_seconds(lambda: msgspec.json.decode(body), repeats)
    print(f"http, a {len(body):,}-byte body of {rides:,} bad rides, in-process, median of {repeats}")
    print(
        f"  400 in {error * 1000:.1f} ms, {len(answer.get_data()):,}-byte answer; parsing the body alone "
        f"{parse * 1000:.1f} ms: the error path costs {error / parse:.1f}x the parse"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="batch runs per month")
    parser.add_argument("--singles", type=int, default=1_000, help="single-ride requests")
    parser.add_argument("--batches", type=int, default=20, help="1,000-ride requests (per client)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ride-scorer-bench-") as folder:
        work = Path(folder)
        model_dir = model_directory(work)
        bench_batch(model_dir, work, args.repeats)
        bench_http(model_dir, work, args.singles, args.batches)
        bench_bad_body(model_dir, args.repeats)


if __name__ == "__main__":
    main()
