"""Helpers for the reliability tests: a provisioned stack on the emulator, rides put on the input stream,
and a minimal event-source-mapping loop that delivers a shard to the real handler.

The delivery loop follows Lambda's Kinesis semantics that matter for accounting: batches in shard order,
a raised error re-delivers the whole batch, `batchItemFailures` re-delivers from the earliest failed
record, and the checkpoint only moves past what the handler accepted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambda_function import app
from lambda_function.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class LambdaContextStub:
    """The attributes powertools' logger reads from the context object Lambda passes."""

    function_name: str = "ride-scorer"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ride-scorer"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def put_payloads(kinesis: Any, stream: str, payloads: Sequence[tuple[str, bytes]]) -> list[str]:
    """Put (partition key, data) pairs in order; returns the sequence numbers."""
    numbers: list[str] = []
    for start in range(0, len(payloads), 500):
        chunk = payloads[start : start + 500]
        response = kinesis.put_records(
            StreamName=stream, Records=[{"PartitionKey": key, "Data": data} for key, data in chunk]
        )
        assert not response.get("FailedRecordCount"), response
        numbers.extend(entry["SequenceNumber"] for entry in response["Records"])
    return numbers


def stream_arn(kinesis: Any, stream: str) -> str:
    return str(kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"])


@dataclass
class DeliveryLog:
    invocations: int = 0
    errors: list[str] = field(default_factory=list)
    partial_failures: int = 0
    checkpoints: dict[str, str] = field(default_factory=dict)


def deliver(
    kinesis: Any,
    stream: str,
    handler: Handler = app.lambda_handler,
    batch_size: int = 100,
    max_invocations: int = 200,
    on_error: Callable[[int], None] | None = None,
) -> DeliveryLog:
    """Deliver every shard until it is drained; errors and partial failures re-deliver, as Lambda does."""
    log = DeliveryLog()
    arn = stream_arn(kinesis, stream)
    for shard in [item["ShardId"] for item in kinesis.list_shards(StreamName=stream)["Shards"]]:
        after: str | None = None
        while log.invocations < max_invocations:
            batch = _read_batch_patiently(kinesis, stream, shard, after, batch_size)
            if not batch:
                break
            event = kinesis_event(kinesis_record(spec, arn) for spec in _specs(batch, shard))
            log.invocations += 1
            try:
                response = handler(event, LambdaContextStub())
            except Exception as error:  # what Lambda does with any failed invocation: retry the batch
                log.errors.append(f"{type(error).__name__}: {error}")
                if on_error:
                    on_error(len(log.errors))
                continue
            failed = [item["itemIdentifier"] for item in response.get("batchItemFailures", [])]
            if failed:
                log.partial_failures += 1
                position = [record["SequenceNumber"] for record in batch].index(failed[0])
                if position == 0:
                    continue
                after = batch[position - 1]["SequenceNumber"]
            else:
                after = batch[-1]["SequenceNumber"]
            log.checkpoints[shard] = after
        else:
            raise AssertionError(f"shard {shard} not drained after {max_invocations} invocations: {log}")
    return log


def _read_batch_patiently(
    kinesis: Any, stream: str, shard: str, after: str | None, limit: int, patience: float = 60.0
) -> list[dict[str, Any]]:
    """The event source mapping keeps polling through an outage; so does this."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return _read_batch(kinesis, stream, shard, after, limit)
        except (BotoCoreError, ClientError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _read_batch(kinesis: Any, stream: str, shard: str, after: str | None, limit: int) -> list[dict[str, Any]]:
    arguments: dict[str, Any] = {"StreamName": stream, "ShardId": shard}
    if after is None:
        arguments["ShardIteratorType"] = "TRIM_HORIZON"
    else:
        arguments.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after)
    iterator = kinesis.get_shard_iterator(**arguments)["ShardIterator"]
    return list(kinesis.get_records(ShardIterator=iterator, Limit=limit)["Records"])


def _specs(batch: Iterable[dict[str, Any]], shard: str) -> list[KinesisRecordSpec]:
    return [
        KinesisRecordSpec(
            data=record["Data"],
            partition_key=record["PartitionKey"],
            sequence_number=record["SequenceNumber"],
            approximate_arrival_timestamp=record["ApproximateArrivalTimestamp"].timestamp(),
            shard_id=shard,
        )
        for record in batch
    ]


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, step: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(step)


def handler_in_process_killed_after_first_put(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run one invocation in a child process that SIGKILLs itself right after its first PutRecords call
    succeeded: part of the batch's predictions are on the stream, the rest never will be from this run."""
    child = subprocess.run(
        [sys.executable, str(Path(__file__)), "die-after-first-put"],
        input=json.dumps(event).encode(),
        capture_output=True,
        timeout=300,
        check=False,
    )
    if child.returncode != 0:
        raise RuntimeError(f"handler process ended with {child.returncode}: {child.stderr.decode()[-500:]}")
    return dict(json.loads(child.stdout.decode().strip().splitlines()[-1]))


def _die_after_first_put() -> None:
    event = json.loads(sys.stdin.read())
    sink_client = app.get_scorer().sink.client  # type: ignore[attr-defined]
    sink_client.meta.events.register("after-call.kinesis.PutRecords", lambda **_: os.kill(os.getpid(), signal.SIGKILL))
    print(json.dumps(app.lambda_handler(event, LambdaContextStub())))


if __name__ == "__main__" and sys.argv[1:] == ["die-after-first-put"]:
    _die_after_first_put()
