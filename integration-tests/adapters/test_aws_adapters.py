"""The AWS adapters against moto's real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from infra.provision import provision
from ride_scorer.adapters.aws_clients import client
from ride_scorer.adapters.kinesis import KinesisPredictionSink
from ride_scorer.adapters.retrying import RetryPolicy
from ride_scorer.adapters.sqs import SqsDeadLetterQueue
from ride_scorer.core.interfaces import DeadLetter, OutputRecord, RecordOrigin
from ride_scorer.core.rides import Rejection, RejectionCode
from tests.shared.faults import PutRecordsThrottler
from tools.readers import read_dead_letters, read_stream

FAST = RetryPolicy(max_attempts=6, base_delay=0.001, max_delay=0.01)


@pytest.fixture
def resources(aws_env, unique_prefix):
    return provision(prefix=unique_prefix, shard_count=2)


def outputs(count: int) -> list[OutputRecord]:
    return [OutputRecord(json.dumps({"n": i}).encode(), f"ride-{i}") for i in range(count)]


def test_sink_writes_every_record_once_across_chunks(resources):
    kinesis = client("kinesis")
    result = KinesisPredictionSink(kinesis, resources.predictions_stream, FAST).write(outputs(1_234))
    assert result.first_unwritten is None
    written = read_stream(kinesis, resources.predictions_stream)
    assert sorted(json.loads(r.data)["n"] for r in written) == list(range(1_234))
    assert {r.partition_key for r in written} == {f"ride-{i}" for i in range(1_234)}


def test_throttled_entries_are_retried_alone_and_written_exactly_once(resources):
    kinesis = client("kinesis")
    rng = random.Random(7)
    throttler = PutRecordsThrottler(lambda call, record: call < 3 and rng.random() < 0.3)
    throttler.install(kinesis)
    result = KinesisPredictionSink(kinesis, resources.predictions_stream, FAST).write(outputs(800))
    assert result.first_unwritten is None
    assert throttler.throttled > 100 and result.retried == throttler.throttled
    counts = Counter(json.loads(r.data)["n"] for r in read_stream(kinesis, resources.predictions_stream))
    assert counts == Counter(range(800))


def test_throttling_that_never_ends_is_reported_from_the_earliest_unwritten(resources):
    kinesis = client("kinesis")
    PutRecordsThrottler(lambda call, record: json.loads(record["Data"])["n"] >= 640).install(kinesis)
    result = KinesisPredictionSink(kinesis, resources.predictions_stream, FAST).write(outputs(800))
    assert result.first_unwritten == 640
    written = sorted(json.loads(r.data)["n"] for r in read_stream(kinesis, resources.predictions_stream))
    assert written[:640] == list(range(640)) and all(n < 800 for n in written)


def test_dead_letters_reach_sqs_with_reason_and_origin(resources):
    sqs = client("sqs")
    letters = [
        DeadLetter(f"raw-{i}", Rejection(RejectionCode.INVALID_JSON, "data is not JSON"), RecordOrigin(str(i), f"k{i}"))
        for i in range(23)
    ]
    assert SqsDeadLetterQueue(sqs, resources.dead_letter_queue_url, FAST).send(letters) == []
    received = read_dead_letters(sqs, resources.dead_letter_queue_url, delete=True)
    assert sorted((m["data"], m["source"]["sequence_number"]) for m in received) == sorted(
        (f"raw-{i}", str(i)) for i in range(23)
    )
    assert {m["reason_code"] for m in received} == {"invalid_json"}


def test_unreachable_queue_returns_every_letter_as_unsent(resources):
    letters = [DeadLetter("x", Rejection(RejectionCode.INVALID_JSON, "no"), RecordOrigin("1", "k"))]
    missing = resources.dead_letter_queue_url + "-gone"
    assert SqsDeadLetterQueue(client("sqs"), missing, FAST).send(letters) == [0]
