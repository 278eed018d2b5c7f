"""Soak: real TLC rides through the local event source runner and the real handler on moto, several
shards, producer and consumer running at once; then the reconciliation must find nothing missing.

Reports throughput and iterator age (how old a batch's newest record is when the handler gets it, which
is what Lambda's IteratorAge metric measures). Bounded in time: it stops at --max-seconds and says so.

    .venv/bin/python bench/soak.py --rides 200000 --shards 4 --max-seconds 1500
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MONTHS = sorted((ROOT / "data").glob("green_tripdata_*.parquet"))


def load_records(limit: int, poison: int) -> list[Any]:
    """Real rides from every bundled month, with unique ride ids, and a few poison records mixed in."""
    from tools.event_factory import ride_event_bytes
    from tools.local.ride_source import OutgoingRecord, poison_records, read_rides

    rides = [ride for path in MONTHS for ride in read_rides(path)][:limit]
    if len(rides) < limit:
        raise SystemExit(f"only {len(rides)} usable rides in data/, asked for {limit}")
    rides_records = [
        OutgoingRecord(ride_event_bytes(number, ride.pickup, ride.dropoff, ride.trip_distance), str(number))
        for number, ride in enumerate(rides)
    ]
    return spread(rides_records, [bad.record() for bad in poison_records(poison)])


def spread(rides: list[Any], poisons: list[Any]) -> list[Any]:
    """Poison records at even intervals, so every shard and most of the run sees some."""
    spacing = max(1, len(rides) // (len(poisons) + 1))
    out = list(rides)
    for index, poison in enumerate(poisons, start=1):
        out.insert(index * spacing + index - 1, poison)
    return out


def train_model(directory: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.shared.trained_models import read_training_slice, save_mlflow_model
    from training.pipeline import build_pipeline

    features, target = read_training_slice(ROOT / "data" / "green_tripdata_2021-01.parquet", 10_000)
    return save_mlflow_model(build_pipeline("linear").fit(features, target), directory / "model", "soak-model")


def patient_kinesis() -> Any:
    """moto's Kinesis is not thread-safe: a GetRecords racing a PutRecords on the same shard can get a 500.
    Lambda's poller retries GetRecords indefinitely; give the runner's and producer's clients enough
    retries to ride it out."""
    import boto3
    from botocore.config import Config

    from ride_scorer.adapters.aws_clients import CLIENT_CONFIG

    # Legacy mode: standard mode's retry quota runs dry after a burst of these 500s and stops retrying.
    config = CLIENT_CONFIG.merge(Config(retries={"mode": "legacy", "max_attempts": 30}))
    return boto3.session.Session().client("kinesis", config=config)


def percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered) + 0.4999) - 1))] if ordered else 0.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tools.local.embedded_moto import embedded_moto

    with embedded_moto():
        os.environ.update(POWERTOOLS_LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")
        return soak(args)


def soak(args: argparse.Namespace) -> dict[str, Any]:
    from infra.provision import provision
    from lambda_function.app import lambda_handler
    from tools.local.mapping import MappingSettings
    from tools.producer import publish
    from tools.reconcile import Sources, reconcile_sources
    from tools.runner import EventSourceRunner

    deadline = time.monotonic() + args.max_seconds
    resources = provision("soak", shard_count=args.shards)
    from ride_scorer.core.integrity import directory_digest

    model_dir = train_model(Path(tempfile.mkdtemp(prefix="soak-model-")))
    os.environ.update(
        MODEL_LOCATION=str(model_dir),
        MODEL_SHA256=directory_digest(model_dir),
        PREDICTIONS_STREAM_NAME=resources.predictions_stream,
        DEAD_LETTER_QUEUE_URL=resources.dead_letter_queue_url,
    )
    records = load_records(args.rides, args.poison)
    since = datetime.now(UTC) - timedelta(seconds=1)

    ages: list[float] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        newest = max(record["kinesis"]["approximateArrivalTimestamp"] for record in event["Records"])
        ages.append(time.time() - newest)
        with contextlib.redirect_stdout(io.StringIO()):  # EMF metrics and logs: CloudWatch's, not ours
            return lambda_handler(event, context)

    producer_errors: list[BaseException] = []
    published: dict[str, float] = {}

    def produce() -> None:
        try:
            report = publish(patient_kinesis(), resources.rides_stream, records, rate=args.rate)
            published.update(records=report.records, seconds=report.seconds)
        except BaseException as error:  # reported below; the consumer must not wait forever for it
            producer_errors.append(error)

    producer = threading.Thread(target=produce, name="producer", daemon=True)
    started = time.perf_counter()
    producer.start()
    runner = EventSourceRunner(
        MappingSettings(
            resources.rides_stream, batch_size=args.batch_size, on_failure_queue_url=resources.on_failure_queue_url
        ),
        handler=handler,
        kinesis=patient_kinesis(),
        poll_interval=0.05,
    )
    stats = runner.run(
        max_records=len(records),
        should_stop=lambda: time.monotonic() > deadline or bool(producer_errors),
    )
    elapsed = time.perf_counter() - started
    producer.join(timeout=5)
    timed_out = stats.checkpointed + stats.discarded < len(records)

    report = reconcile_sources(
        Sources(resources.rides_stream, resources.predictions_stream, resources.dead_letter_queue_url,
                resources.on_failure_queue_url),
        since,
    )  # fmt: skip
    counts = report.to_json()["counts"]
    return {
        "rides": args.rides,
        "poison_records": args.poison,
        "records": len(records),
        "shards": args.shards,
        "batch_size": args.batch_size,
        "producer_rate_limit": args.rate,
        "published_per_second": round(published.get("records", 0) / published["seconds"], 1) if published else None,
        "elapsed_seconds": round(elapsed, 1),
        "checkpointed": stats.checkpointed,
        "throughput_records_per_second": round(stats.checkpointed / elapsed, 1),
        "invocations": len(stats.invocations),
        "failed_invocations": stats.failed_invocations,
        "handler_p50_ms": round(stats.latency_percentile(50) * 1000, 1),
        "handler_p99_ms": round(stats.latency_percentile(99) * 1000, 1),
        "iterator_age_p50_s": round(percentile(ages, 50), 2),
        "iterator_age_p99_s": round(percentile(ages, 99), 2),
        "iterator_age_max_s": round(max(ages, default=0.0), 2),
        "iterator_age_mean_s": round(statistics.fmean(ages), 2) if ages else 0.0,
        "timed_out": timed_out,
        "producer_error": repr(producer_errors[0]) if producer_errors else None,
        "reconciliation": counts,
        "ok": report.ok and not timed_out and not producer_errors and counts["inputs"] == len(records),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rides", type=int, default=200_000)
    parser.add_argument("--poison", type=int, default=60, help="bad records mixed in (must be dead-lettered)")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--rate", type=float, default=None, help="producer records/s (default: as fast as it can)")
    parser.add_argument("--max-seconds", type=float, default=1500, help="hard bound on the run")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
