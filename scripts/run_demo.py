"""`make run`: the whole pipeline on one machine, start to finish, then a summary and three next steps.

Starts moto's server in-process on 127.0.0.1 (unless AWS_ENDPOINT_URL names another endpoint, such as
LocalStack), creates the resources from infra/templates/resources.yaml, trains the model (or reuses one with
--model-dir), publishes it to S3, publishes real rides with a few poison records, runs the local event
source runner until every record is scored, and prints what happened. Everything it starts, it stops;
with --keep (`make run KEEP=1`) moto's server runs in a process of its own and the model stays in
--work-dir, so the streams, queues and model can be explored with the tools, and it says how to stop them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
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
from tools.local.embedded_moto import detached_moto, embedded_moto  # noqa: E402
from tools.local.mapping import MappingSettings  # noqa: E402
from tools.local.ride_source import mixed_records, poison_records, read_rides  # noqa: E402
from tools.producer import poison_kinds, publish  # noqa: E402
from tools.readers import read_dead_letters, read_stream  # noqa: E402
from tools.runner import EventSourceRunner  # noqa: E402


@contextmanager
def aws_endpoint(keep: bool, work: Path) -> Iterator[tuple[str, int | None]]:
    """The endpoint boto3 will use, and the pid of a server left running: the user's AWS_ENDPOINT_URL, or
    moto's server started here (in this process, or in its own with `keep`)."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        yield os.environ["AWS_ENDPOINT_URL"], None
    elif keep:
        server = detached_moto(work / "moto.log", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        yield f"{server.endpoint} (moto, process {server.pid}, left running)", server.pid
    else:
        with embedded_moto(os.environ.get("AWS_DEFAULT_REGION", "us-east-1")) as endpoint:
            yield endpoint + " (moto, in-process)", None


@contextmanager
def work_folder(keep: Path | None) -> Iterator[Path]:
    """Where the MLflow store and the trained model go: a temporary folder, or `keep`, left in place."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="ride-scorer-run-") as scratch:
            yield Path(scratch)
        return
    keep.mkdir(parents=True, exist_ok=True)
    yield keep


def next_steps(prefix: str, model_location: str, sha256: str, kept: Path | None, pid: int | None) -> list[str]:
    """Three things to do next: with the pipeline still up (`--keep`), or to go further."""
    python = ".venv/bin/python -m tools"
    if kept is None:
        return [
            "next steps:",
            "  1. make run KEEP=1    keep the emulator, streams and model up, and explore them with the tools",
            "  2. docs/local.md      the same pipeline step by step: provision, model, runner, producer, consumer,"
            " reconcile",
            "  3. make help          every target, by task",
        ]
    variables = {name: os.environ[name] for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                       "AWS_DEFAULT_REGION")}  # fmt: skip
    stop = f"kill {pid} && rm -rf {shlex.quote(str(kept))}" if pid else f"rm -rf {shlex.quote(str(kept))}"
    return [
        f"kept: streams, queues and bucket {prefix}-*, the model in {kept}. In another shell:",
        "  export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in variables.items()),
        "next steps:",
        f"  1. {python}.consumer --prefix {prefix} --from-start --until-idle",
        f"  2. {python}.reconcile --prefix {prefix} --since 1h",
        f"  3. start=$(date +%s) && {python}.producer --stream {prefix}-rides --limit 500 --poison 1 --no-progress"
        f" && {python}.runner --prefix {prefix} --starting-position AT_TIMESTAMP --starting-position-timestamp $start"
        f" --until-idle --model-location {model_location} --model-sha256 {sha256}",
        f"stop them: {stop}" + ("" if pid else " (and stop your emulator, e.g. make localstack-down)"),
    ]


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
    parser.add_argument(
        "--keep", action="store_true", help="leave the emulator, resources and model up (make run KEEP=1)"
    )
    parser.add_argument("--work-dir", type=Path, default=ROOT / ".cache" / "run", help="where --keep keeps the model")
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

    prefix = f"demo-{uuid.uuid4().hex[:6]}"
    kept = args.work_dir / prefix if args.keep else None
    with work_folder(kept) as work, aws_endpoint(args.keep, work) as (endpoint, pid):
        print(f"AWS endpoint: {endpoint}")
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
        print(f"\n{'OK' if ok else 'PROBLEM'}: {missing} rides without a prediction\n")
        print("\n".join(next_steps(prefix, published.model_location, published.sha256, kept, pid)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
