"""The handler end to end on moto's real server: S3 model, Kinesis out, SQS dead letters."""

from __future__ import annotations

import base64
import json
from collections import Counter

import pandas as pd
import pytest

from lambda_function import app
from ride_scorer.core.features import ride_features
from ride_scorer.core.model import load_model
from tests.shared.lambda_context import lambda_context
from tests.shared.trips import first_rides
from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record, ride_event_bytes
from tools.readers import read_dead_letters, read_stream

BAD_KINDS = {
    "invalid_base64": None,  # data replaced after encoding
    "invalid_json": b"{not json",
    "missing_field": b'{"ride": {"PULocationID": 1, "DOLocationID": 2}, "ride_id": 7}',
    "mistyped_field": b'{"ride": {"PULocationID": "one", "DOLocationID": 2, "trip_distance": 1.0}, "ride_id": 7}',
    "nan_distance": b'{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": NaN}, "ride_id": 7}',
    "negative_distance": b'{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": -3.0}, "ride_id": 7}',
    "oversized": b'{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1.0}, "ride_id": 7, "pad": "'
    + b"x" * 40_000
    + b'"}',
}
EXPECTED_CODE = {
    "invalid_base64": "invalid_base64",
    "invalid_json": "invalid_json",
    "missing_field": "invalid_schema",
    "mistyped_field": "invalid_schema",
    "nan_distance": "invalid_json",
    "negative_distance": "invalid_schema",
    "oversized": "payload_too_large",
}


@pytest.fixture
def deployed(deploy_scorer):
    return deploy_scorer(shard_count=2).resources


def build_event(rides: pd.DataFrame, bad_every: int) -> tuple[dict, dict[str, str]]:
    """A real-shaped event; every `bad_every`-th record is a bad one, cycling through every kind."""
    records, bad_by_sequence = [], {}
    kinds = list(BAD_KINDS)
    for position, ride in rides.iterrows():
        sequence = f"4960{position:020d}"
        kind = kinds[(position // bad_every) % len(kinds)] if position % bad_every == bad_every - 1 else None
        raw = BAD_KINDS[kind] or b"" if kind else None
        data = (
            raw
            if raw is not None
            else ride_event_bytes(position, int(ride.PULocationID), int(ride.DOLocationID), float(ride.trip_distance))
        )
        record = kinesis_record(KinesisRecordSpec(data, str(position), sequence, 1764000000.0 + position / 1000))
        if kind == "invalid_base64":
            record["kinesis"]["data"] = "%%% not base64 %%%"
        if kind:
            bad_by_sequence[sequence] = kind
        records.append(record)
    return kinesis_event(records), bad_by_sequence


def test_ten_thousand_rides_one_prediction_each_and_every_bad_record_dead_lettered(
    deployed, aws_env, trained_model_dir
):
    rides = first_rides(10_000)
    event, bad = build_event(rides, bad_every=100)
    assert len(bad) == 100 and set(bad.values()) == set(BAD_KINDS)

    response = app.lambda_handler(event, lambda_context())

    assert response == {"batchItemFailures": []}
    outputs = read_stream(aws_env.client("kinesis"), deployed.predictions_stream)
    predictions = [json.loads(record.data) for record in outputs]
    valid_ids = [i for i in range(len(rides)) if f"4960{i:020d}" not in bad]
    assert sorted(p["prediction"]["ride_id"] for p in predictions) == valid_ids
    assert all(record.partition_key == str(json.loads(record.data)["prediction"]["ride_id"]) for record in outputs)

    model = load_model(trained_model_dir)
    expected = model.predict(
        [
            ride_features(int(rides.PULocationID[i]), int(rides.DOLocationID[i]), float(rides.trip_distance[i]))
            for i in valid_ids
        ]
    )
    by_id = {p["prediction"]["ride_id"]: p for p in predictions}
    for ride_id, duration in zip(valid_ids, expected, strict=True):
        assert by_id[ride_id] == {
            "model": "ride_duration_prediction_model",
            "version": model.version,
            "prediction": {"ride_duration": duration, "ride_id": ride_id},
            "source_sequence_number": f"4960{ride_id:020d}",
        }

    letters = read_dead_letters(aws_env.client("sqs"), deployed.dead_letter_queue_url, delete=True)
    assert Counter(letter["source"]["sequence_number"] for letter in letters) == Counter(bad.keys())
    for letter in letters:
        kind = bad[letter["source"]["sequence_number"]]
        assert letter["reason_code"] == EXPECTED_CODE[kind], letter
        assert letter["reason"]
        assert letter["source"]["shard_id"] == "shardId-000000000000"
        assert letter["source"]["event_source_arn"].startswith("arn:aws:kinesis:")
        if kind == "invalid_base64":
            assert letter["data"] == "%%% not base64 %%%"
        else:
            assert base64.b64decode(letter["data"]) == BAD_KINDS[kind]


def test_missing_output_stream_reports_every_valid_record_for_redelivery(deployed, monkeypatch):
    monkeypatch.setenv("PREDICTIONS_STREAM_NAME", "no-such-stream")
    app.reset()
    event, _ = build_event(first_rides(20), bad_every=1000)
    response = app.lambda_handler(event, lambda_context())
    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == [f"4960{i:020d}" for i in range(20)]


def test_model_that_cannot_load_fails_the_invocation(deployed, monkeypatch):
    monkeypatch.setenv("MODEL_LOCATION", f"s3://{deployed.model_bucket}/models/absent")
    app.reset()
    event, _ = build_event(first_rides(3), bad_every=1000)
    with pytest.raises(Exception, match="no MLmodel object"):
        app.lambda_handler(event, lambda_context())
