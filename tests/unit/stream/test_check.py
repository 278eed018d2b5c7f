"""`StreamScorer.check`: the pre-traffic hook's path scores exactly as a stream batch is scored and writes
nothing (docs/rollout.md)."""

import json

import pytest

from ride_scorer.core.model import load_model
from tests.shared.stream_scorer import batch, scorer, stream_record


@pytest.fixture(scope="module")
def model(trained_model_dir):
    return load_model(trained_model_dir)


def mixed_records() -> list[dict]:
    return [
        stream_record(0),
        stream_record(1, b"not json"),
        stream_record(2),
        stream_record(3, b'{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": -3.0}, "ride_id": 3}'),
    ]


def test_check_writes_nothing_and_answers_what_scoring_writes(model):
    checker, kinesis, sqs = scorer(model)
    answer = checker.check(batch(mixed_records()))
    assert (kinesis.calls, kinesis.written, sqs.calls, sqs.sent) == ([], [], 0, [])

    service, kinesis, sqs = scorer(model)
    service.score(batch(mixed_records()))
    assert answer == {
        "records": 4,
        "model_version": model.version,
        "predictions": [data.decode() for data, _ in kinesis.written],
        "dead_letters": sqs.sent,
    }
    assert [json.loads(letter)["reason_code"] for letter in answer["dead_letters"]] == [
        "invalid_json",
        "invalid_schema",
    ]
    assert [json.loads(text)["prediction"]["ride_id"] for text in answer["predictions"]] == [0, 2]


def test_check_is_json_as_lambda_returns_it(model):
    checker, _, _ = scorer(model)
    answer = checker.check(batch(mixed_records()))
    assert json.loads(json.dumps(answer)) == answer
