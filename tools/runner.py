"""A local Kinesis event source mapping: read every shard, build Lambda's event, call the handler.

Lambda's event source mapping cannot run on a laptop or in CI, so this is its counterpart, faithful to
the documented semantics: batch size, batching window and the 6 MB payload cut; `batchItemFailures`
(checkpoint at the lowest failed sequence number, retry from there); MaximumRetryAttempts,
MaximumRecordAgeInSeconds and BisectBatchOnFunctionError; a Lambda-shaped on-failure record to an SQS
queue when records are discarded. It also runs the scorer as a plain consumer against LocalStack or
AWS without deploying. Where it differs from AWS is listed in docs/local.md.

    python -m tools.runner --stream ride-scorer-rides --until-idle
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tools.cli import ToolParser, fail
from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record
from tools.local.context import LocalLambdaContext, function_arn, lambda_environment
from tools.local.endpoints import AwsUnavailable, explain, tool_client
from tools.local.mapping import MAX_PAYLOAD_BYTES, MappingSettings, StartingPosition
from tools.local.on_failure import (
    RECORD_AGE_EXCEEDED,
    RETRY_ATTEMPTS_EXHAUSTED,
    Discard,
    SqsOnFailureDestination,
    invocation_record,
)
from tools.local.responses import Outcome, OutcomeKind, classify
from tools.local.shards import ShardInfo, ShardReader, ShardRecord, list_shards, stream_arn
from tools.readers import read_stream, receive_messages
from tools.resource_names import ResourceNames, queue_url

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
# Bytes an event adds around each record's base64 data (field names, ARNs, ids); keeps batches under 6 MB.
RECORD_ENVELOPE_BYTES = 700
RETRY_BASE_DELAY = 0.1
RETRY_MAX_DELAY = 5.0


@dataclass(frozen=True)
class Invocation:
    shard_id: str
    records: int
    seconds: float
    outcome: Outcome


@dataclass
class RunnerStats:
    """What the mapping did; `checkpointed` counts records it moved past after a successful invocation."""

    records_read: int = 0
    checkpointed: int = 0
    invocations: list[Invocation] = field(default_factory=list)
    discards: list[Discard] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    @property
    def discarded(self) -> int:
        return sum(len(discard.records) for discard in self.discards)

    @property
    def failed_invocations(self) -> int:
        return sum(1 for invocation in self.invocations if invocation.outcome.kind is not OutcomeKind.SUCCESS)

    @property
    def elapsed(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    def latency_percentile(self, percent: float) -> float:
        """Nearest-rank percentile of handler call durations, in seconds (0 when nothing ran)."""
        durations = sorted(invocation.seconds for invocation in self.invocations)
        if not durations:
            return 0.0
        rank = max(1, round(percent / 100 * len(durations) + 0.4999))
        return durations[min(rank, len(durations)) - 1]


@dataclass
class _ShardState:
    info: ShardInfo
    reader: ShardReader
    pending: deque[ShardRecord] = field(default_factory=deque)
    failed_attempts: int = 0
    # Exact sizes of the next batches while retrying part of a batch or after a bisection.
    planned: deque[int] = field(default_factory=deque)
    window_started: float | None = None
    not_before: float = 0.0

    @property
    def finished(self) -> bool:
        return self.reader.closed and not self.pending

    @property
    def idle(self) -> bool:
        return not self.pending and (self.reader.closed or self.reader.caught_up)


def default_handler() -> Handler:
    """Imported late: the handler's logger and metrics read their environment at import time."""
    from lambda_function.app import lambda_handler

    return lambda_handler


class EventSourceRunner:
    """One mapping from a stream to a handler; `run_until_idle()` for tests and demos, `run()` to serve."""

    def __init__(
        self,
        settings: MappingSettings,
        handler: Handler | None = None,
        kinesis: Any = None,
        sqs: Any = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = 0.2,
    ) -> None:
        self.settings = settings
        self.handler = handler or default_handler()
        self.kinesis = kinesis or tool_client("kinesis")
        self.clock = clock
        self.sleep = sleep
        self.poll_interval = poll_interval
        self.stats = RunnerStats()
        self.destination: SqsOnFailureDestination | None = None
        if settings.on_failure_queue_url:
            self.destination = SqsOnFailureDestination(sqs or tool_client("sqs"), settings.on_failure_queue_url)
        try:
            self.stream_arn = stream_arn(self.kinesis, settings.stream_name)
        except (ClientError, BotoCoreError) as error:
            raise explain(error, self.kinesis, f"Kinesis stream {settings.stream_name!r}") from None
        self.region = str(self.kinesis.meta.region_name)
        self.account = self.stream_arn.split(":")[4] or "000000000000"
        self.function_arn = function_arn(self.region, self.account, settings.function_name)
        self._shards: dict[str, _ShardState] = {}
        self._refresh_shards()

    # -- driving -------------------------------------------------------------------------------------

    def run_until_idle(self, timeout: float | None = None) -> RunnerStats:
        """Process until every shard is caught up with nothing pending (or `timeout` seconds pass)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            worked = self.step()
            if not worked and all(shard.idle for shard in self._shards.values()):
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"not idle after {timeout}s: {self._describe_pending()}")
            if not worked:
                self.sleep(self.poll_interval)
        self.stats.finished = time.perf_counter()
        return self.stats

    def run(self, max_records: int | None = None, should_stop: Callable[[], bool] | None = None) -> RunnerStats:
        """Serve like the real mapping: poll forever, or until `max_records` are checkpointed or
        discarded, or `should_stop()` says so (Ctrl-C in the CLI)."""
        while not (should_stop and should_stop()):
            if max_records is not None and self.stats.checkpointed + self.stats.discarded >= max_records:
                break
            if not self.step():
                self.sleep(self.poll_interval)
        self.stats.finished = time.perf_counter()
        return self.stats

    def step(self) -> bool:
        """One pass over the shards (one batch at most each); True if anything was read or invoked."""
        worked = False
        for shard in list(self._shards.values()):
            if shard.finished:
                continue
            worked |= self._advance(shard)
            if shard.finished:
                self._refresh_shards()  # a closed parent: its children may start now
        return worked

    # -- one shard -----------------------------------------------------------------------------------

    def _advance(self, shard: _ShardState) -> bool:
        now = self.clock()
        if now < shard.not_before:
            return False
        target = shard.planned[0] if shard.planned else self.settings.batch_size
        read = 0
        if len(shard.pending) < target and not shard.reader.closed:
            try:
                records = shard.reader.fetch(target - len(shard.pending))
            except (ClientError, BotoCoreError) as error:
                raise explain(error, self.kinesis, f"Kinesis stream {self.settings.stream_name!r}") from None
            shard.pending.extend(records)
            read = len(records)
            self.stats.records_read += read
        if not shard.pending:
            shard.window_started = None
            return read > 0
        if self._still_batching(shard, target, now):
            return read > 0
        if self._discard_expired(shard, target, now):
            return True
        batch = self._cut_batch(shard, target)
        self._invoke(shard, batch)
        return True

    def _still_batching(self, shard: _ShardState, target: int, now: float) -> bool:
        window = self.settings.maximum_batching_window_seconds
        if window <= 0 or shard.failed_attempts or len(shard.pending) >= target or shard.reader.closed:
            return False
        if shard.window_started is None:
            shard.window_started = now
        return now - shard.window_started < window

    def _discard_expired(self, shard: _ShardState, target: int, now: float) -> bool:
        expired = 0
        for record in islice(shard.pending, target):
            if not self.settings.too_old(record.approximate_arrival_timestamp, now):
                break
            expired += 1
        if not expired:
            return False
        self._discard(shard, expired, RECORD_AGE_EXCEEDED, None)
        shard.planned.clear()
        return True

    def _cut_batch(self, shard: _ShardState, target: int) -> list[ShardRecord]:
        batch: list[ShardRecord] = []
        size = 0
        for record in islice(shard.pending, target):
            record_size = (len(record.data) + 2) // 3 * 4 + RECORD_ENVELOPE_BYTES
            if batch and size + record_size > MAX_PAYLOAD_BYTES:
                break
            batch.append(record)
            size += record_size
        return batch

    def _invoke(self, shard: _ShardState, batch: list[ShardRecord]) -> None:
        event = build_event(batch, self.stream_arn, self.region)
        context = LocalLambdaContext(self.settings.function_name, self.region, self.account)
        started = time.perf_counter()
        try:
            response = self.handler(event, context)
            outcome = classify(
                response, [record.sequence_number for record in batch], self.settings.report_batch_item_failures
            )
        except Exception as error:  # the function failed: Lambda reports it as an Unhandled error
            logger.warning("handler raised on %d records of %s: %s", len(batch), shard.info.shard_id, error)
            outcome = Outcome(
                OutcomeKind.FAILURE, function_error="Unhandled", detail=f"{type(error).__name__}: {error}"
            )
        self.stats.invocations.append(
            Invocation(shard.info.shard_id, len(batch), time.perf_counter() - started, outcome)
        )
        shard.window_started = None
        self._apply(shard, batch, outcome)

    def _apply(self, shard: _ShardState, batch: list[ShardRecord], outcome: Outcome) -> None:
        if shard.planned:
            shard.planned.popleft()
        if outcome.kind is OutcomeKind.SUCCESS:
            self._checkpoint(shard, len(batch))
            return
        if outcome.kind is OutcomeKind.PARTIAL:
            assert outcome.first_failed is not None
            if outcome.first_failed:
                self._checkpoint(shard, outcome.first_failed)
            shard.failed_attempts += 1
            remaining = len(batch) - outcome.first_failed
        elif outcome.function_error and self.settings.bisect_batch_on_function_error and len(batch) > 1:
            # Splitting does not count towards the retry quota.
            half = len(batch) // 2
            shard.planned.appendleft(len(batch) - half)
            shard.planned.appendleft(half)
            return
        else:
            shard.failed_attempts += 1
            remaining = len(batch)
        if self.settings.retries_exhausted(shard.failed_attempts):
            self._discard(shard, remaining, RETRY_ATTEMPTS_EXHAUSTED, outcome.function_error)
            return
        shard.planned.appendleft(remaining)  # retry exactly the records from the checkpoint on
        delay = min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * 2 ** (shard.failed_attempts - 1))
        shard.not_before = self.clock() + delay

    def _checkpoint(self, shard: _ShardState, count: int) -> None:
        for _ in range(count):
            shard.pending.popleft()
        self.stats.checkpointed += count
        shard.failed_attempts = 0
        shard.not_before = 0.0

    def _discard(self, shard: _ShardState, count: int, condition: str, function_error: str | None) -> None:
        records = [shard.pending.popleft() for _ in range(count)]
        discard = Discard(records, condition, max(shard.failed_attempts, 0), function_error)
        self.stats.discards.append(discard)
        shard.failed_attempts = 0
        shard.not_before = 0.0
        logger.warning(
            "discarded %d records of %s (%s..%s): %s",
            count,
            shard.info.shard_id,
            records[0].sequence_number,
            records[-1].sequence_number,
            condition,
        )
        if self.destination is not None:
            self.destination.send(invocation_record(discard, self.stream_arn, self.function_arn))

    # -- shards --------------------------------------------------------------------------------------

    def _refresh_shards(self) -> None:
        """Start readers for shards whose parents are done (or gone), parents before children."""
        try:
            shards = list_shards(self.kinesis, self.settings.stream_name)
        except (ClientError, BotoCoreError) as error:
            raise explain(error, self.kinesis, f"Kinesis stream {self.settings.stream_name!r}") from None
        listed = {shard.shard_id for shard in shards}
        for info in shards:
            if info.shard_id in self._shards:
                continue
            parents = [parent for parent in info.parent_ids if parent in listed]
            if any(parent not in self._shards or not self._shards[parent].finished for parent in parents):
                continue
            # A child of a shard we read starts at its beginning, whatever the mapping's starting position.
            position = StartingPosition.TRIM_HORIZON if parents else self.settings.starting_position
            reader = ShardReader(
                self.kinesis,
                self.settings.stream_name,
                info.shard_id,
                position,
                self.settings.starting_position_timestamp,
            )
            self._shards[info.shard_id] = _ShardState(info, reader)

    def _describe_pending(self) -> str:
        return ", ".join(
            f"{shard_id}: {len(state.pending)} pending, {state.failed_attempts} failed attempts"
            for shard_id, state in self._shards.items()
        )


def build_event(records: Iterable[ShardRecord], stream_arn: str, region: str) -> dict[str, Any]:
    """Exactly the event Lambda sends, built by the same factory as the sample events and tests."""
    return kinesis_event(
        kinesis_record(
            KinesisRecordSpec(
                data=record.data,
                partition_key=record.partition_key,
                sequence_number=record.sequence_number,
                approximate_arrival_timestamp=record.approximate_arrival_timestamp,
                shard_id=record.shard_id,
            ),
            stream_arn=stream_arn,
            region=region,
        )
        for record in records
    )


# -- command line ------------------------------------------------------------------------------------

SCORER_OPTIONS = {
    "model_location": "MODEL_LOCATION",
    "model_sha256": "MODEL_SHA256",
    "model_name": "MODEL_NAME",
    "predictions_stream": "PREDICTIONS_STREAM_NAME",
    "dead_letter_queue_url": "DEAD_LETTER_QUEUE_URL",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ToolParser(
        prog="python -m tools.runner",
        description="Run the scorer's handler on a Kinesis stream like Lambda's event source mapping. "
        "Defaults follow template.yaml; endpoints come from AWS_ENDPOINT_URL.",
    )
    parser.add_argument(
        "--prefix",
        help="resource prefix of the resources stack: names the input stream, the predictions stream and both "
        "queues (explicit options win)",
    )
    parser.add_argument("--stream", help="input stream name (or --prefix)")
    parser.add_argument("--starting-position", choices=[p.value for p in StartingPosition], default="TRIM_HORIZON")
    parser.add_argument("--starting-position-timestamp", type=_timestamp, help="ISO time or Unix seconds")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batching-window", type=float, default=1.0, help="MaximumBatchingWindowInSeconds")
    parser.add_argument("--maximum-retry-attempts", type=int, default=5, help="-1 retries until the record expires")
    parser.add_argument("--maximum-record-age", type=int, default=3600, help="seconds; -1 for no limit")
    parser.add_argument("--no-bisect", action="store_true", help="turn off BisectBatchOnFunctionError")
    parser.add_argument("--on-failure-queue-url", help="SQS queue for discarded-batch records")
    parser.add_argument("--function-name", default="ride-scorer")
    for option, variable in SCORER_OPTIONS.items():
        parser.add_argument(f"--{option.replace('_', '-')}", dest=option, help=f"sets {variable} for the handler")
    parser.add_argument(
        "--handler-logs", action="store_true", help="show the handler's JSON logs and EMF metrics, as Lambda logs them"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--until-idle", action="store_true", help="stop once every shard is caught up")
    mode.add_argument("--max-records", type=int, help="stop after this many records are done")
    args = parser.parse_args(argv)
    if not (args.stream or args.prefix):
        parser.error("give --prefix, or --stream with the scorer's options")
    return args


def apply_prefix(args: argparse.Namespace, sqs: Any) -> None:
    """Fill what --prefix names into the options the user left out: explicit options always win."""
    names = ResourceNames.from_prefix(args.prefix)
    args.stream = args.stream or names.rides_stream
    args.predictions_stream = args.predictions_stream or names.predictions_stream
    for option, name in (
        ("dead_letter_queue_url", names.dead_letter_queue),
        ("on_failure_queue_url", names.on_failure_queue),
    ):
        if not getattr(args, option):
            setattr(args, option, queue_url(sqs, name))


def _timestamp(text: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass  # not a number: ISO 8601, below
    except (OverflowError, OSError):
        raise argparse.ArgumentTypeError(f"{text!r} seconds is not a time this machine can represent") from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither ISO 8601 nor Unix seconds") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Outcomes:
    """What reached the predictions stream and the dead-letter queue while the runner ran."""

    scored: int | None
    dead_lettered: int | None


def count_outcomes(since: datetime) -> Outcomes:
    """Read non-destructively from the stream and queue the handler writes to (its environment names them);
    a count is None when its destination is not set."""
    stream, queue = os.environ.get("PREDICTIONS_STREAM_NAME"), os.environ.get("DEAD_LETTER_QUEUE_URL")
    scored = len(read_stream(tool_client("kinesis"), stream, since)) if stream else None
    letters = len(receive_messages(tool_client("sqs"), queue, since)) if queue else None
    return Outcomes(scored, letters)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    for name, value in lambda_environment(args.function_name, region).items():
        os.environ.setdefault(name, value)
    if not args.handler_logs:  # the handler's JSON logs and EMF metrics, two lines a batch, would bury the summary
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    started = datetime.now(UTC)
    try:
        if args.prefix:
            apply_prefix(args, tool_client("sqs"))
        for option, variable in SCORER_OPTIONS.items():
            if getattr(args, option):
                os.environ[variable] = getattr(args, option)
        settings = MappingSettings(
            stream_name=args.stream,
            starting_position=StartingPosition(args.starting_position),
            starting_position_timestamp=args.starting_position_timestamp,
            batch_size=args.batch_size,
            maximum_batching_window_seconds=args.batching_window,
            maximum_retry_attempts=args.maximum_retry_attempts,
            maximum_record_age_seconds=args.maximum_record_age,
            bisect_batch_on_function_error=not args.no_bisect,
            on_failure_queue_url=args.on_failure_queue_url,
            function_name=args.function_name,
        )
        runner = EventSourceRunner(settings)
        if args.until_idle:
            stats = runner.run_until_idle()
        else:
            try:
                stats = runner.run(max_records=args.max_records)
            except KeyboardInterrupt:
                stats = runner.stats
        outcomes = count_outcomes(started)
    except (ValueError, AwsUnavailable) as error:
        return fail(error)
    except (ClientError, BotoCoreError) as error:
        return fail(explain(error, None, f"Kinesis stream {args.stream!r}, its outputs or queues"))
    print(summary_line(stats, outcomes), file=sys.stderr)
    return 0


def summary_line(stats: RunnerStats, outcomes: Outcomes | None = None) -> str:
    written = ""
    if outcomes is not None:
        counts = [
            f"{count} {label}"
            for count, label in ((outcomes.scored, "scored"), (outcomes.dead_lettered, "dead-lettered"))
            if count is not None
        ]
        written = f" ({', '.join(counts)})" if counts else ""
    return (
        f"read {stats.records_read} records, checkpointed {stats.checkpointed}{written}, discarded {stats.discarded}; "
        f"{len(stats.invocations)} invocations ({stats.failed_invocations} failed), "
        f"p50 {stats.latency_percentile(50) * 1000:.0f} ms, p99 {stats.latency_percentile(99) * 1000:.0f} ms, "
        f"{stats.elapsed:.1f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
