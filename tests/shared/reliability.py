"""Helpers for the reliability tests: a provisioned stack on an emulator, rides put on the input stream, and
the local event source runner (`tools.runner`) delivering them to the real handler.

Records reach the handler only through `EventSourceRunner`, so the faults exercise the same mapping
semantics as `make run` and the soak: batches in shard order, a raised error retries the batch, and
`batchItemFailures` retries from the lowest failed record. The fixture built on `provision_scorer`
(`stack`) is in integration-tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from infra.provision import Resources, provision
from lambda_function import app
from ride_scorer.core.integrity import directory_digest
from tests.shared.paths import ROOT
from tools.local.context import LocalLambdaContext
from tools.local.mapping import MappingSettings
from tools.local.responses import OutcomeKind
from tools.readers import read_stream
from tools.runner import EventSourceRunner, RunnerStats

Handler = Callable[[dict[str, Any], Any], Any]
SHARDS = 2
# A guard against a hung run, not a performance assertion: the slowest fault run takes well under this.
RUN_TIMEOUT_SECONDS = 600.0


def provision_scorer(prefix: str, model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Resources:
    """The scorer's streams and queues (SHARDS shards) on the emulator boto3 points at, and the handler's
    environment naming them and `model_dir`, pinned by its digest."""
    resources = provision(prefix, shard_count=SHARDS)
    monkeypatch.setenv("MODEL_LOCATION", str(model_dir))
    monkeypatch.setenv("MODEL_SHA256", directory_digest(model_dir))
    monkeypatch.setenv("PREDICTIONS_STREAM_NAME", resources.predictions_stream)
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", resources.dead_letter_queue_url)
    app.reset()
    return resources


def put_payloads(kinesis: Any, stream: str, payloads: Sequence[tuple[str, bytes]]) -> list[str]:
    """Put (partition key, data) pairs in order; returns the sequence numbers (the tests name records by them)."""
    numbers: list[str] = []
    for start in range(0, len(payloads), 500):
        chunk = payloads[start : start + 500]
        response = kinesis.put_records(
            StreamName=stream, Records=[{"PartitionKey": key, "Data": data} for key, data in chunk]
        )
        assert not response.get("FailedRecordCount"), response
        numbers.extend(entry["SequenceNumber"] for entry in response["Records"])
    return numbers


def run_mapping(
    resources: Resources, kinesis: Any, sqs: Any, handler: Handler | None = None, batch_size: int = 100
) -> RunnerStats:
    """Deliver the input stream with Lambda's defaults (retry until it succeeds, no bisection) until idle."""
    settings = MappingSettings(
        resources.rides_stream, batch_size=batch_size, on_failure_queue_url=resources.on_failure_queue_url
    )
    runner = EventSourceRunner(settings, handler or app.lambda_handler, kinesis=kinesis, sqs=sqs)
    return runner.run_until_idle(timeout=RUN_TIMEOUT_SECONDS)


def function_errors(stats: RunnerStats) -> list[str]:
    """What each invocation that raised said, in order ("RuntimeError: ...")."""
    return [
        invocation.outcome.detail for invocation in stats.invocations if invocation.outcome.kind is OutcomeKind.FAILURE
    ]


def partial_failures(stats: RunnerStats) -> int:
    return sum(1 for invocation in stats.invocations if invocation.outcome.kind is OutcomeKind.PARTIAL)


def checkpointed_per_shard(stats: RunnerStats) -> dict[str, int]:
    """How far the runner moved each shard's checkpoint, counted in records from the shard's start: a success
    passes the whole batch, a partial failure the records before the lowest failed one."""
    moved: Counter[str] = Counter()
    for invocation in stats.invocations:
        if invocation.outcome.kind is OutcomeKind.SUCCESS:
            moved[invocation.shard_id] += invocation.records
        elif invocation.outcome.kind is OutcomeKind.PARTIAL:
            moved[invocation.shard_id] += invocation.outcome.first_failed or 0
    return dict(moved)


def records_per_shard(kinesis: Any, stream: str) -> dict[str, int]:
    return dict(Counter(record.shard_id for record in read_stream(kinesis, stream)))


def on_error(callback: Callable[[int], None], handler: Handler = app.lambda_handler) -> Handler:
    """The real handler; after its n-th raised error, `callback(n)` runs before the runner retries (an
    operator repairing the cause between Lambda's retries)."""
    errors = 0

    def invoke(event: dict[str, Any], context: Any) -> Any:
        nonlocal errors
        try:
            return handler(event, context)
        except Exception:
            errors += 1
            callback(errors)
            raise

    return invoke


class ChildProcessHandler:
    """Runs each invocation in a fresh Python process, as a new execution environment would. The first
    `deaths` children SIGKILL themselves right after their first successful PutRecords: part of the batch's
    predictions are on the stream and the rest (and its dead letters) never will be from that run."""

    def __init__(self, deaths: int = 1) -> None:
        self.deaths = deaths
        self.killed_events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: LocalLambdaContext) -> Any:
        die = len(self.killed_events) < self.deaths
        request = {
            "event": event,
            "context": [context.function_name, context.region, context.account, context.aws_request_id],
            "die_after_first_put": die,
        }
        child = subprocess.run(
            [sys.executable, "-m", "tests.shared.reliability", "invoke"],
            cwd=ROOT,
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=300,
            check=False,
        )
        if child.returncode != 0:
            if die:
                self.killed_events.append(event)
            raise RuntimeError(f"handler process ended with {child.returncode}: {child.stderr.decode()[-500:]}")
        return json.loads(child.stdout.decode().strip().splitlines()[-1])


def _invoke_in_this_process() -> None:
    request = json.loads(sys.stdin.read())
    function_name, region, account, request_id = request["context"]
    context = LocalLambdaContext(function_name, region, account, aws_request_id=request_id)
    if request["die_after_first_put"]:
        sink_client = app.get_scorer().sink.client
        sink_client.meta.events.register(
            "after-call.kinesis.PutRecords", lambda **_: os.kill(os.getpid(), signal.SIGKILL)
        )
    print(json.dumps(app.lambda_handler(request["event"], context)))


if __name__ == "__main__" and sys.argv[1:] == ["invoke"]:
    _invoke_in_this_process()
