"""The runner's event source mapping semantics, on moto's real Kinesis and SQS, with scripted handlers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.provision import provision
from tools.local.mapping import MappingSettings
from tools.local.ride_source import OutgoingRecord
from tools.producer import publish
from tools.readers import read_dead_letters
from tools.runner import EventSourceRunner

RECORDS = 10


@pytest.fixture
def stream(aws_env, moto_endpoint, unique_prefix):
    resources = provision(unique_prefix, shard_count=1)
    kinesis = moto_endpoint.client("kinesis")
    publish(kinesis, resources.rides_stream, [OutgoingRecord(f"r{n}".encode(), f"k{n}") for n in range(RECORDS)])
    return resources, kinesis, moto_endpoint.client("sqs")


class Scripted:
    """Records every batch it is given (as payload lists) and answers with `respond(batch)`."""

    def __init__(self, respond):
        self.respond = respond
        self.batches: list[list[str]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        import base64

        records = event["Records"]
        batch = [base64.b64decode(r["kinesis"]["data"]).decode() for r in records]
        self.batches.append(batch)
        return self.respond(batch, records)


def _runner(stream, handler, **settings):
    resources, kinesis, sqs = stream
    mapping = MappingSettings(resources.rides_stream, on_failure_queue_url=resources.on_failure_queue_url, **settings)
    return EventSourceRunner(mapping, handler, kinesis=kinesis, sqs=sqs, sleep=lambda _: None)


def _on_failure(stream) -> list[dict[str, Any]]:
    resources, _, sqs = stream
    return read_dead_letters(sqs, resources.on_failure_queue_url)


def test_batch_item_failures_redeliver_from_the_lowest_failed_record(stream) -> None:
    def respond(batch, records):
        if batch[0] == "r0":  # fail r7 and r4: the checkpoint is r4, the lower sequence number
            return {"batchItemFailures": [{"itemIdentifier": records[i]["kinesis"]["sequenceNumber"]} for i in (7, 4)]}
        return {"batchItemFailures": []}

    handler = Scripted(respond)
    stats = _runner(stream, handler, batch_size=RECORDS).run_until_idle(60)
    assert handler.batches == [[f"r{n}" for n in range(10)], [f"r{n}" for n in range(4, 10)]]
    assert (stats.checkpointed, stats.discarded) == (RECORDS, 0)


def test_unknown_item_identifier_fails_the_whole_batch(stream) -> None:
    calls = []

    def respond(batch, records):
        calls.append(len(batch))
        return {"batchItemFailures": [{"itemIdentifier": "1"}]} if len(calls) == 1 else None

    handler = Scripted(respond)
    _runner(stream, handler, batch_size=RECORDS).run_until_idle(60)
    assert handler.batches == [[f"r{n}" for n in range(10)]] * 2


def test_retries_exhausted_discards_the_batch_with_a_lambda_shaped_record(stream) -> None:
    def respond(batch, records):
        raise RuntimeError("model exploded")

    handler = Scripted(respond)
    runner = _runner(stream, handler, batch_size=RECORDS, maximum_retry_attempts=2)
    stats = runner.run_until_idle(60)
    assert len(handler.batches) == 3  # the first call and two retries
    [message] = _on_failure(stream)
    info = message.pop("KinesisBatchInfo")
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    assert message["requestContext"]["functionArn"] == runner.function_arn
    assert message["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    first, last = stats.discards[0].records[0], stats.discards[0].records[-1]
    assert (info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        first.shard_id,
        first.sequence_number,
        last.sequence_number,
        RECORDS,
    )
    assert info["streamArn"] == runner.stream_arn


def test_bisect_isolates_the_bad_record_and_delivers_the_rest_once(stream) -> None:
    def respond(batch, records):
        if "r6" in batch:
            raise ValueError("r6 is poison to this handler")
        return None

    handler = Scripted(respond)
    stats = _runner(
        stream, handler, batch_size=RECORDS, maximum_retry_attempts=0, bisect_batch_on_function_error=True
    ).run_until_idle(60)
    succeeded = [record for batch in handler.batches if "r6" not in batch for record in batch]
    assert sorted(succeeded) == sorted(f"r{n}" for n in range(10) if n != 6)
    [message] = _on_failure(stream)
    assert message["KinesisBatchInfo"]["batchSize"] == 1
    assert [record.data for record in stats.discards[0].records] == [b"r6"]


def test_records_older_than_the_maximum_age_are_discarded_unseen(stream) -> None:
    handler = Scripted(lambda batch, records: None)
    runner = _runner(stream, handler, maximum_record_age_seconds=60)
    runner.clock = lambda: 10**10  # far in the future: every record is too old
    runner.run_until_idle(60)
    assert handler.batches == []
    [message] = _on_failure(stream)
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["KinesisBatchInfo"]["batchSize"] == RECORDS


def test_batching_window_waits_for_more_records_until_it_elapses(stream) -> None:
    now = [1_000.0]
    handler = Scripted(lambda batch, records: None)
    runner = _runner(stream, handler, batch_size=100, maximum_batching_window_seconds=5)
    runner.clock = lambda: now[0]
    runner.step()
    runner.step()
    assert handler.batches == []  # 10 of 100 records, window still open
    now[0] += 5.1
    runner.step()
    assert handler.batches == [[f"r{n}" for n in range(10)]]


def test_the_event_has_lambdas_fields(stream) -> None:
    seen: list[dict[str, Any]] = []
    handler = Scripted(lambda batch, records: seen.extend(records))
    runner = _runner(stream, handler)
    runner.run_until_idle(60)
    record = seen[0]
    assert sorted(record) == sorted(
        [
            "kinesis",
            "eventSource",
            "eventVersion",
            "eventID",
            "eventName",
            "invokeIdentityArn",
            "awsRegion",
            "eventSourceARN",
        ]
    )
    assert sorted(record["kinesis"]) == sorted(
        ["kinesisSchemaVersion", "partitionKey", "sequenceNumber", "data", "approximateArrivalTimestamp"]
    )
    assert record["eventID"] == f"shardId-000000000000:{record['kinesis']['sequenceNumber']}"
    assert record["eventSourceARN"] == runner.stream_arn
    assert json.dumps(seen)  # JSON-serialisable, as Lambda delivers it
