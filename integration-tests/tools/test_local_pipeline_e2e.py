"""Real rides and poison records through the whole local path, on moto and on LocalStack:
S3 model -> Kinesis in -> local event source runner -> handler -> Kinesis out / dead-letter queue.

moto carries the volume (20,000 rides over two shards); LocalStack, whose Kinesis is another implementation
(kinesis-mock) and which `make localstack-up` offers users, runs the same path on 2,000, for what only it
could get wrong: its shard iterators, sequence numbers and errors under the runner."""

from __future__ import annotations

import base64
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.provision import Resources, provision
from ride_scorer.core.model import load_model
from tests.shared.emulators import Emulator, emulator_environment
from tests.shared.paths import ROOT
from tools.local.mapping import MappingSettings
from tools.local.ride_source import Poison, Ride, mixed_records, poison_records, read_rides
from tools.local.shards import ShardRecord
from tools.producer import publish
from tools.readers import read_dead_letters, read_stream
from tools.runner import EventSourceRunner, RunnerStats
from training.publish import publish_model

RIDES = {"moto": 20_000, "localstack": 2_000}
POISONS = 24  # four of each kind


@dataclass(frozen=True)
class PipelineRun:
    resources: Resources
    rides: list[Ride]
    poisons: list[Poison]
    model_location: str
    run_id: str
    stats: RunnerStats
    stream_arn: str
    outputs: list[ShardRecord]
    dead_letters: list[dict[str, Any]]
    on_failure: list[dict[str, Any]]


@pytest.fixture(scope="module")
def pipeline_run(emulator: Emulator, trained_model_dir: Path) -> PipelineRun:
    session = emulator.session()
    with emulator_environment(emulator):
        resources = provision(f"e2e-{emulator.name}", shard_count=2, session=session)
        published = publish_model(trained_model_dir, resources.model_bucket, s3_client=emulator.client("s3"))
    rides = read_rides(ROOT / "data" / "green_tripdata_2023-01.parquet", RIDES[emulator.name])
    poisons = poison_records(POISONS)
    scorer_env = {
        "MODEL_LOCATION": published.model_location,
        "MODEL_SHA256": published.sha256,
        "PREDICTIONS_STREAM_NAME": resources.predictions_stream,
        "DEAD_LETTER_QUEUE_URL": resources.dead_letter_queue_url,
    }
    with emulator_environment(emulator, **scorer_env):
        kinesis = emulator.client("kinesis")
        publish(kinesis, resources.rides_stream, mixed_records(rides, poisons, seed=7))
        settings = MappingSettings(
            resources.rides_stream,
            batch_size=500,
            maximum_retry_attempts=5,
            bisect_batch_on_function_error=True,
            on_failure_queue_url=resources.on_failure_queue_url,
        )
        runner = EventSourceRunner(settings, kinesis=kinesis, sqs=emulator.client("sqs"))
        stats = runner.run_until_idle(timeout=600)
    sqs = emulator.client("sqs")
    return PipelineRun(
        resources=resources,
        rides=rides,
        poisons=poisons,
        model_location=published.model_location,
        run_id=published.run_id,
        stats=stats,
        stream_arn=runner.stream_arn,
        outputs=read_stream(kinesis, resources.predictions_stream),
        dead_letters=read_dead_letters(sqs, resources.dead_letter_queue_url),
        on_failure=read_dead_letters(sqs, resources.on_failure_queue_url),
    )


def test_model_is_loaded_from_s3_and_names_its_run(pipeline_run: PipelineRun) -> None:
    assert pipeline_run.model_location.startswith(f"s3://{pipeline_run.resources.model_bucket}/")
    versions = {json.loads(record.data)["version"] for record in pipeline_run.outputs}
    assert versions == {pipeline_run.run_id}


def test_every_valid_ride_has_exactly_one_prediction(pipeline_run: PipelineRun) -> None:
    by_ride: dict[int, set[bytes]] = defaultdict(set)
    for record in pipeline_run.outputs:
        by_ride[json.loads(record.data)["prediction"]["ride_id"]].add(record.data)
    assert sorted(by_ride) == sorted(ride.ride_id for ride in pipeline_run.rides)
    # A re-delivery may write a prediction twice, but only byte-for-byte the same record.
    assert [ride_id for ride_id, payloads in by_ride.items() if len(payloads) > 1] == []
    assert pipeline_run.stats.checkpointed == len(pipeline_run.rides) + POISONS
    assert pipeline_run.stats.discarded == 0 and pipeline_run.on_failure == []


def test_every_poison_record_is_dead_lettered_with_its_reason(pipeline_run: PipelineRun) -> None:
    received = Counter(
        (base64.b64decode(letter["data"]), letter["reason_code"]) for letter in pipeline_run.dead_letters
    )
    expected = Counter((poison.data, str(poison.expected_code)) for poison in pipeline_run.poisons)
    assert received == expected
    assert all(letter["reason"] for letter in pipeline_run.dead_letters)
    assert {letter["source"]["event_source_arn"] for letter in pipeline_run.dead_letters} == {pipeline_run.stream_arn}


def test_prediction_equals_the_models_own_prediction(pipeline_run: PipelineRun, trained_model_dir: Path) -> None:
    model = load_model(trained_model_dir)
    expected = dict(
        zip(
            (ride.ride_id for ride in pipeline_run.rides),
            model.predict([_features(ride) for ride in pipeline_run.rides]),
            strict=True,
        )
    )
    served = {
        body["prediction"]["ride_id"]: body["prediction"]["ride_duration"]
        for body in (json.loads(record.data) for record in pipeline_run.outputs)
    }
    assert served == expected


def _features(ride: Ride) -> Any:
    from ride_scorer.core.features import ride_features

    return ride_features(ride.pickup, ride.dropoff, ride.trip_distance)
