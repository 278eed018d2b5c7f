"""`make run`: the whole pipeline on one machine, start to finish, then a summary.

Starts moto's server in-process on 127.0.0.1 (unless AWS_ENDPOINT_URL names another endpoint, such as
LocalStack), creates the resources from infra/templates/resources.yaml, trains the model (or reuses one with
--model-dir), publishes it to S3, publishes real rides with a few poison records, runs the local event
source runner until every record is scored, and prints what happened. Everything it starts, it stops.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.provision import provision  # noqa: E402
from ride_scorer.adapters.aws_clients import client  # noqa: E402
from tools.local.context import lambda_environment  # noqa: E402
from tools.local.embedded_moto import embedded_moto  # noqa: E402
from tools.local.mapping import MappingSettings  # noqa: E402
from tools.local.ride_source import mixed_records, poison_records, read_rides  # noqa: E402
from tools.producer import poison_kinds, publish  # noqa: E402
from tools.readers import read_dead_letters, read_stream  # noqa: E402
from tools.runner import EventSourceRunner  # noqa: E402


@contextmanager
def aws_endpoint() -> Iterator[str]:
    """The endpoint boto3 will use: the user's AWS_ENDPOINT_URL, or moto's server started here."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        yield os.environ["AWS_ENDPOINT_URL"]
        return
    with embedded_moto(os.environ.get("AWS_DEFAULT_REGION", "us-east-1")) as endpoint:
        yield endpoint + " (moto, in-process)"


def train_model(work: Path) -> Path:
    """Train on 2021-01, validate on 2021-02, tracked in a throwaway MLflow store inside `work`."""
    from training.train import train

    result = train(
        str(ROOT / "data" / "green_tripdata_2021-01.parquet"),
        str(ROOT / "data" / "green_tripdata_2021-02.parquet"),
        kind="linear",
        tracking_uri=f"sqlite:///{work / 'mlflow.db'}",
        register=False,
    )
    print(f"trained linear model, run {result.run_id}, validation RMSE {result.rmse:.4f}")
    return result.model_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run ride-scorer end to end on a local AWS endpoint.")
    parser.add_argument("--rides", type=int, default=3000)
    kinds = poison_kinds()
    parser.add_argument(
        "--poison",
        type=int,
        default=1,
        metavar="N",
        help=f"also publish N bad records of every kind, as the producer does ({len(kinds)} kinds: {', '.join(kinds)})",
    )
    parser.add_argument("--input", type=Path, default=ROOT / "data" / "green_tripdata_2023-01.parquet")
    parser.add_argument("--model-dir", type=Path, help="reuse this MLflow model directory instead of training")
    parser.add_argument("--shards", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The handler's structured logs and metrics would drown the summary; warnings still show.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    # MLflow sets its loggers' level when it is imported (later, by training): the demo's own lines are the
    # summary, and MLflow's notes on the throwaway tracking store (its tables, the pickle format the digest
    # pin guards) are not. Errors still show.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    for noisy in ("werkzeug", "alembic"):  # moto's request log, the tracking store's migrations
        logging.getLogger(noisy).setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="ride-scorer-run-") as scratch, aws_endpoint() as endpoint:
        work = Path(scratch)
        print(f"AWS endpoint: {endpoint}")
        prefix = f"demo-{uuid.uuid4().hex[:6]}"
        resources = provision(prefix, shard_count=args.shards)
        print(f"created streams {resources.rides_stream}, {resources.predictions_stream}, bucket, queues")

        from training.publish import publish_model

        model_dir = args.model_dir or train_model(work)
        published = publish_model(model_dir, resources.model_bucket)
        print(f"model published to {published.model_location} (sha256 {published.sha256[:12]}...)")

        rides = read_rides(args.input, args.rides)
        poisons = poison_records(args.poison * len(kinds))
        report = publish(client("kinesis"), resources.rides_stream, mixed_records(rides, poisons), progress=True)
        print(f"published {report.records} records ({len(poisons)} poison) at {report.rate:.0f} rec/s")

        os.environ.update(lambda_environment("ride-scorer", client("kinesis").meta.region_name))
        os.environ.update(
            MODEL_LOCATION=published.model_location,
            MODEL_SHA256=published.sha256,
            PREDICTIONS_STREAM_NAME=resources.predictions_stream,
            DEAD_LETTER_QUEUE_URL=resources.dead_letter_queue_url,
        )
        settings = MappingSettings(
            resources.rides_stream,
            batch_size=500,
            maximum_retry_attempts=5,
            bisect_batch_on_function_error=True,
            on_failure_queue_url=resources.on_failure_queue_url,
        )
        stats = EventSourceRunner(settings).run_until_idle(timeout=900)
        outputs = read_stream(client("kinesis"), resources.predictions_stream)
        letters = read_dead_letters(client("sqs"), resources.dead_letter_queue_url)

        predictions = {}
        for record in outputs:
            body = json.loads(record.data)
            predictions[body["prediction"]["ride_id"]] = body["prediction"]["ride_duration"]
        reasons: dict[str, int] = {}
        for letter in letters:
            reasons[letter["reason_code"]] = reasons.get(letter["reason_code"], 0) + 1

        print("\n== summary")
        print(f"records in:        {stats.records_read} ({len(rides)} rides, {len(poisons)} poison)")
        print(f"predictions out:   {len(outputs)} records, {len(predictions)} distinct rides")
        print(f"dead-lettered:     {len(letters)} {json.dumps(reasons, sort_keys=True)}")
        print(f"discarded batches: {len(stats.discards)}")
        print(f"throughput:        {stats.checkpointed / stats.elapsed:.0f} records/s through the handler")
        print(
            f"batch latency:     p50 {stats.latency_percentile(50) * 1000:.0f} ms, "
            f"p99 {stats.latency_percentile(99) * 1000:.0f} ms over {len(stats.invocations)} invocations"
        )
        print("\n  ride_id   PU->DO     distance  predicted  actual (minutes)")
        for ride in rides[:8]:
            predicted = predictions.get(ride.ride_id)
            shown = f"{predicted:9.1f}" if predicted is not None else "  missing"
            print(
                f"  {ride.ride_id:<8}  {ride.pickup:>3}->{ride.dropoff:<3}  {ride.trip_distance:8.2f}  {shown}  "
                f"{ride.duration:6.1f}"
            )
        missing = len({ride.ride_id for ride in rides} - predictions.keys())
        ok = missing == 0 and len(letters) == len(poisons) and not stats.discards
        print(f"\n{'OK' if ok else 'PROBLEM'}: {missing} rides without a prediction")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
