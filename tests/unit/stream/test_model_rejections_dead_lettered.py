"""The stream scorer with in-memory Kinesis and SQS: a ride the model cannot score is dead-lettered with its
reason_code like any invalid record, the others are published in order, and nothing is re-delivered."""

from __future__ import annotations

import json

import pytest

from lambda_function import app
from ride_scorer.adapters.kinesis import KinesisPredictionSink
from ride_scorer.adapters.sqs import SqsDeadLetterQueue
from ride_scorer.core.model import FLOAT32_MAX
from ride_scorer.stream.kinesis_event import KinesisEventRecords
from ride_scorer.stream.scorer import StreamScorer
from tests.shared.fakes.aws import NO_WAIT, FakeKinesis, FakeSqs
from tests.shared.fakes.models import FAKE_VERSION, PAST_FLOAT32_DISTANCE, POISON_PU_DO, expected_minutes
from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record, ride_event_bytes
from tools.local.context import LocalLambdaContext

ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/rides"
MODEL_NAME = "ride_duration_prediction_model"
QUEUE_URL = "http://sqs.local/dlq"

# (ride_id, PULocationID, DOLocationID, trip_distance) and the outcome each must get.
RIDES = [
    ((0, 130, 205, 1.0), "predicted"),
    ((1, 666, 666, 2.0), "model_error"),
    ((2, 130, 205, PAST_FLOAT32_DISTANCE), "input_out_of_range"),
    ((3, 131, 206, 3.0), "predicted"),
    ((4, 777, 777, 4.0), "non_finite_prediction"),
    ((5, 132, 207, 5.0), "predicted"),
]
REASONS = {
    "model_error": f"the model cannot score this ride: unknown zone pair: {POISON_PU_DO}",
    "input_out_of_range": f"ride.trip_distance: 1e+39 is larger than the model accepts ({FLOAT32_MAX!r})",
    "non_finite_prediction": "the model predicted inf minutes; only finite durations can be published",
}


def sequence_number(position: int) -> str:
    return str(49_600_000_000_000_000_000 + position)


def stream_records() -> KinesisEventRecords:
    return KinesisEventRecords(
        kinesis_event(
            kinesis_record(
                KinesisRecordSpec(
                    ride_event_bytes(*ride),
                    str(ride[0]),
                    sequence_number(position),
                    1_700_000_000.5,
                    "shardId-000000000001",
                ),
                ARN,
            )
            for position, (ride, _) in enumerate(RIDES)
        )
    )


@pytest.fixture
def kinesis() -> FakeKinesis:
    return FakeKinesis()


@pytest.fixture
def sqs() -> FakeSqs:
    return FakeSqs()


@pytest.fixture
def scorer(picky_model, kinesis, sqs) -> StreamScorer:
    return StreamScorer(
        model=picky_model,
        model_name=MODEL_NAME,
        sink=KinesisPredictionSink(kinesis, "predictions", NO_WAIT),
        dead_letters=SqsDeadLetterQueue(sqs, QUEUE_URL, NO_WAIT),
        max_event_bytes=16 * 1024,
    )


def test_model_stage_rejections_are_dead_lettered_with_their_reason_code(scorer, sqs):
    records = stream_records()

    scorer.score(records)

    letters = [json.loads(body) for body in sqs.sent]
    rejected = [(position, code) for position, (_, code) in enumerate(RIDES) if code != "predicted"]
    assert [letter["reason_code"] for letter in letters] == [code for _, code in rejected]
    assert [letter["reason"] for letter in letters] == [REASONS[code] for _, code in rejected]
    # Each letter carries the record exactly as received and where it sits in the stream, to be replayed.
    assert [letter["data"] for letter in letters] == [records.data[position] for position, _ in rejected]
    assert [letter["source"]["sequence_number"] for letter in letters] == [
        sequence_number(position) for position, _ in rejected
    ]
    assert all(letter["source"]["event_source_arn"] == ARN for letter in letters)


def test_the_other_rides_are_published_in_order_and_nothing_is_re_delivered(scorer, kinesis):
    result = scorer.score(stream_records())

    assert result.failed_sequence_numbers == []
    assert (result.records, result.scored, result.written, result.invalid, result.dead_lettered) == (6, 3, 3, 3, 3)
    assert [json.loads(data) for data, _ in kinesis.written] == [
        {
            "model": MODEL_NAME,
            "version": FAKE_VERSION,
            "prediction": {"ride_duration": expected_minutes(distance), "ride_id": ride_id},
            "source_sequence_number": sequence_number(position),
        }
        for position, ((ride_id, _, _, distance), code) in enumerate(RIDES)
        if code == "predicted"
    ]
    assert [key for _, key in kinesis.written] == ["0", "3", "5"]


def test_the_published_records_are_strict_json(scorer, kinesis):
    scorer.score(stream_records())

    def refuse(name: str):
        raise AssertionError(f"published record contains {name}")

    for data, _ in kinesis.written:
        json.loads(data, parse_constant=refuse)


def test_the_lambda_handler_reports_no_batch_item_failures(scorer, sqs, kinesis, monkeypatch):
    monkeypatch.setattr(app, "_scorer", scorer)  # the container's scorer, already built
    event = kinesis_event(
        kinesis_record(
            KinesisRecordSpec(ride_event_bytes(*ride), str(ride[0]), sequence_number(position), 1_700_000_000.5),
            stream_arn=ARN,
        )
        for position, (ride, _) in enumerate(RIDES)
    )

    response = app.lambda_handler(event, LocalLambdaContext("ride-scorer", "us-east-1", "123456789012"))

    assert response == {"batchItemFailures": []}
    assert sorted(json.loads(body)["reason_code"] for body in sqs.sent) == [
        "input_out_of_range",
        "model_error",
        "non_finite_prediction",
    ]
    assert len(kinesis.written) == 3
