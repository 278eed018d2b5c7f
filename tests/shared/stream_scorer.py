"""A stream scorer over in-memory fakes of Kinesis and SQS, and Kinesis events to give it: the unit tests of
the stream mode and of the rollout check score through the same wiring."""

from __future__ import annotations

from ride_scorer.adapters.kinesis import KinesisPredictionSink
from ride_scorer.adapters.sqs import SqsDeadLetterQueue
from ride_scorer.core.model import RideDurationModel
from ride_scorer.stream.kinesis_event import KinesisEventRecords
from ride_scorer.stream.scorer import StreamScorer
from tests.shared.fakes.aws import NO_WAIT, FakeKinesis, FakeSqs
from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record, ride_event_bytes

# The stream every record comes from.
ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/rides"


def stream_record(position: int, raw: bytes | None = None) -> dict:
    raw = raw if raw is not None else ride_event_bytes(position, 130 + position % 5, 205, 1.0 + position / 10)
    spec = KinesisRecordSpec(
        raw, str(position), f"{49600000000000000000 + position}", 1700000000.5, "shardId-000000000001"
    )
    return kinesis_record(spec, ARN)


def batch(records: list[dict]) -> KinesisEventRecords:
    return KinesisEventRecords(kinesis_event(records))


def scorer(
    model: RideDurationModel, kinesis: FakeKinesis | None = None, sqs: FakeSqs | None = None
) -> tuple[StreamScorer, FakeKinesis, FakeSqs]:
    kinesis = kinesis or FakeKinesis()
    sqs = sqs or FakeSqs()
    return (
        StreamScorer(
            model=model,
            model_name="ride_duration_prediction_model",
            sink=KinesisPredictionSink(kinesis, "out", NO_WAIT),
            dead_letters=SqsDeadLetterQueue(sqs, "http://sqs/dlq", NO_WAIT),
            max_event_bytes=16 * 1024,
        ),
        kinesis,
        sqs,
    )
