"""What users see when the local AWS path breaks: no endpoint, or no output stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.provision import provision
from lambda_function.app import lambda_handler
from tests.shared.emulators import Emulator, emulator_environment, wait_for_stream
from tests.shared.paths import ROOT
from tools.local.localstack import LocalStackError, wait_healthy
from tools.local.loopback import free_port
from tools.local.mapping import MappingSettings
from tools.local.ride_source import mixed_records, poison_records, read_rides
from tools.producer import publish
from tools.readers import read_dead_letters, read_stream
from tools.runner import EventSourceRunner
from training.publish import publish_model


def _cli(module: str, *args: str, endpoint: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("tools.runner", ["--stream", "rides", "--until-idle"]),
        ("tools.producer", ["--stream", "rides", "--limit", "5", "--no-progress"]),
    ],
)
def test_unreachable_localstack_is_one_clear_error(module: str, args: list[str]) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    completed = _cli(module, *args, endpoint=endpoint)
    assert completed.returncode == 2
    assert f"error: cannot reach Kinesis stream 'rides' at {endpoint} (AWS_ENDPOINT_URL)" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_localstack_health_wait_names_the_endpoint_when_nothing_answers() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(LocalStackError, match=rf"LocalStack at {url} not healthy after 1s"):
        wait_healthy(url, timeout=1.0)


@pytest.mark.parametrize("emulator", ["moto"], indirect=True)  # moto returns the missing stream's error as AWS does
def test_missing_output_stream_gives_batch_item_failures_not_lost_records(
    emulator: Emulator,
    trained_model_dir: Path,
    unique_prefix: str,
) -> None:
    session = emulator.session()
    with emulator_environment(emulator):
        resources = provision(unique_prefix, shard_count=1, session=session)
        published = publish_model(trained_model_dir, resources.model_bucket, s3_client=emulator.client("s3"))
    late_stream = f"{unique_prefix}-late-predictions"  # does not exist when the first batch arrives
    rides = read_rides(ROOT / "data" / "green_tripdata_2023-01.parquet", 300)
    poisons = poison_records(6)
    kinesis, sqs = emulator.client("kinesis"), emulator.client("sqs")
    responses: list[tuple[list[str], Any]] = []

    def handler_then_create_stream(event: dict[str, Any], context: Any) -> Any:
        response = lambda_handler(event, context)
        responses.append(([r["kinesis"]["sequenceNumber"] for r in event["Records"]], response))
        if len(responses) == 1:
            kinesis.create_stream(StreamName=late_stream, ShardCount=1)
            wait_for_stream(kinesis, late_stream)
        return response

    scorer_env = {
        "MODEL_LOCATION": published.model_location,
        "MODEL_SHA256": published.sha256,
        "PREDICTIONS_STREAM_NAME": late_stream,
        "DEAD_LETTER_QUEUE_URL": resources.dead_letter_queue_url,
    }
    with emulator_environment(emulator, **scorer_env):
        publish(kinesis, resources.rides_stream, mixed_records(rides, poisons, seed=3))
        settings = MappingSettings(
            resources.rides_stream,
            batch_size=100,
            maximum_retry_attempts=3,
            on_failure_queue_url=resources.on_failure_queue_url,
        )
        stats = EventSourceRunner(settings, handler_then_create_stream, kinesis=kinesis, sqs=sqs).run_until_idle(600)

    first_batch, first_response = responses[0]
    first_ride = min(
        position
        for position, number in enumerate(first_batch)
        if number not in _poison_sequence_numbers(kinesis, resources.rides_stream)
    )
    assert first_response == {"batchItemFailures": [{"itemIdentifier": n} for n in first_batch[first_ride:]]}
    assert responses[1][0][0] == first_batch[first_ride]  # re-delivered from the lowest failed record
    outputs = [json.loads(record.data) for record in read_stream(kinesis, late_stream)]
    assert sorted(body["prediction"]["ride_id"] for body in outputs) == sorted(ride.ride_id for ride in rides)
    letters = read_dead_letters(sqs, resources.dead_letter_queue_url)
    assert sorted(letter["reason_code"] for letter in letters) == sorted(str(p.expected_code) for p in poisons)
    assert stats.discards == [] and read_dead_letters(sqs, resources.on_failure_queue_url) == []


def _poison_sequence_numbers(kinesis: Any, stream: str) -> set[str]:
    return {
        record.sequence_number for record in read_stream(kinesis, stream) if record.partition_key.startswith("poison-")
    }
