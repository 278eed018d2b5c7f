"""Streaming throughput: the vectorized handler against a course-style per-record baseline, one run.

Both paths run in this process against one moto server on 127.0.0.1 with the same model, so the
printed ratio is what to compare; absolute records/s depend on the machine and its load.
Baseline, as in the course's lambda_function.py: for each record decode, predict on one dict, put_record.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Before the handler module is imported: powertools reads its log level once, and per-batch INFO lines
# would be timed along with the work.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from bench.models import train_model  # noqa: E402
from infra.provision import provision  # noqa: E402
from lambda_function import app  # noqa: E402
from ride_scorer.core.integrity import directory_digest  # noqa: E402
from ride_scorer.core.model import load_model  # noqa: E402
from ride_scorer.core.rides import RideEvent, read_kinesis_data  # noqa: E402
from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record, ride_event_bytes  # noqa: E402
from tools.local.context import LocalLambdaContext  # noqa: E402
from tools.local.embedded_moto import embedded_moto  # noqa: E402

SIZES = (1, 100, 1_000, 10_000)
# The baseline's rate does not depend on the batch size (it is one record at a time), so it is measured
# on at most this many records of each event to keep the run short.
BASELINE_MAX_RECORDS = 1_000


def make_event(count: int) -> dict:
    frame = pd.read_parquet(ROOT / "data" / "green_tripdata_2023-01.parquet").head(count)
    records = [
        kinesis_record(
            KinesisRecordSpec(
                ride_event_bytes(i, int(row.PULocationID), int(row.DOLocationID), float(row.trip_distance)),
                str(i),
                f"4960{i:020d}",
                time.time(),
            )
        )
        for i, row in enumerate(frame.itertuples())
    ]
    return kinesis_event(records)


def course_baseline(event: dict, model, kinesis, stream: str) -> None:
    for record in event["Records"]:
        ride_event = read_kinesis_data(record["kinesis"]["data"], 16 * 1024)
        assert isinstance(ride_event, RideEvent)
        duration = model.predict([ride_event.ride.features()])[0]
        output = {
            "model": "ride_duration_prediction_model",
            "version": model.version,
            "prediction": {"ride_duration": duration, "ride_id": ride_event.ride_id},
        }
        kinesis.put_record(StreamName=stream, Data=json.dumps(output), PartitionKey=str(ride_event.ride_id))


def timed(action) -> float:
    with contextlib.redirect_stdout(io.StringIO()):  # powertools' JSON logs and EMF metrics
        started = time.perf_counter()
        action()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", choices=["linear", "forest"], default="forest")
    parser.add_argument("--train-rows", type=int, default=20_000, help="rows of 2021-01 to train on")
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    args = parser.parse_args()

    with embedded_moto() as endpoint:
        os.environ["POWERTOOLS_METRICS_NAMESPACE"] = "RideScorerBench"
        work = Path(tempfile.mkdtemp(prefix="ride-bench-"))
        print(f"training a {args.model} model on {args.train_rows} rides of 2021-01 ...", flush=True)
        model_dir = train_model(args.model, args.train_rows, work / "model")
        resources = provision(prefix=f"bench-{uuid.uuid4().hex[:6]}")
        os.environ.update(
            MODEL_LOCATION=str(model_dir),
            MODEL_SHA256=directory_digest(model_dir),
            PREDICTIONS_STREAM_NAME=resources.predictions_stream,
            DEAD_LETTER_QUEUE_URL=resources.dead_letter_queue_url,
        )
        app.reset()
        app.get_scorer()  # cold start outside the timings: both paths score with a loaded model
        warm_up = make_event(5)
        timed(
            lambda: app.lambda_handler(warm_up, LocalLambdaContext("bench", "us-east-1", "123456789012"))
        )  # first connections to the endpoint
        model = load_model(model_dir)
        kinesis = boto3.client("kinesis")

        print(f"\nstreaming bench ({args.model}, moto server at {endpoint})")
        print(f"{'records':>8} {'handler rec/s':>14} {'per-record rec/s':>17} {'ratio':>7}")
        for size in args.sizes:
            event = make_event(size)
            handler_seconds = timed(
                lambda event=event: app.lambda_handler(event, LocalLambdaContext("bench", "us-east-1", "123456789012"))
            )
            sample = {"Records": event["Records"][:BASELINE_MAX_RECORDS]}
            baseline_seconds = timed(
                lambda sample=sample: course_baseline(sample, model, kinesis, resources.predictions_stream)
            )
            handler_rate = size / handler_seconds
            baseline_rate = len(sample["Records"]) / baseline_seconds
            print(
                f"{size:>8} {handler_rate:>14,.0f} {baseline_rate:>17,.0f} {handler_rate / baseline_rate:>6.1f}x",
                flush=True,
            )

        features = [
            ride.ride.features()
            for r in make_event(1_000)["Records"]
            if isinstance(ride := read_kinesis_data(r["kinesis"]["data"], 16 * 1024), RideEvent)
        ]
        one_by_one = timed(lambda: [model.predict([f]) for f in features])
        vectorized = timed(lambda: model.predict(features))
        print(
            f"\nscoring alone, 1,000 rides: vectorized {1000 / vectorized:,.0f} rec/s, "
            f"per record {1000 / one_by_one:,.0f} rec/s, ratio {one_by_one / vectorized:.0f}x"
        )
        app.reset()


if __name__ == "__main__":
    main()
