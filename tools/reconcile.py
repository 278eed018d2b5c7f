"""Account for every ride: read the input stream, the prediction stream and the queues over a time range
and say which inputs were scored, dead-lettered, discarded, missing or duplicated, and which outputs have
no input at all.

The scorer's promise is "every ride is scored or dead-lettered"; this is how an operator (or a test)
checks it. Predictions carry `source_sequence_number` and dead letters carry `source.shard_id` and
`source.sequence_number`, which is what ties them to their input. Reading is non-destructive: streams are
read with AT_TIMESTAMP iterators, and queue messages are received with a visibility timeout and made
visible again afterwards unless the caller asks to delete them.

    python -m tools.reconcile --prefix ride-scorer --since 30m
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ride_scorer.adapters.aws_clients import client
from tools.cli import ToolParser, fail, non_negative_int, output_file
from tools.local.endpoints import AwsUnavailable, explain, tool_client
from tools.local.shards import list_shards
from tools.readers import json_document, read_stream, receive_messages
from tools.resource_names import ResourceNames, queue_url

LISTED_ITEMS = 50

InputKey = tuple[str, str]  # (shard id, sequence number)


@dataclass(frozen=True)
class InputRecord:
    shard_id: str
    sequence_number: str
    partition_key: str
    arrival: float
    data: bytes

    @property
    def key(self) -> InputKey:
        return (self.shard_id, self.sequence_number)

    def ride_id(self) -> Any:
        """Best effort: only used to tell apart inputs of different shards with the same sequence number
        (emulators number each shard from 1; AWS sequence numbers are unique per stream). An input that is
        not a JSON object, however hostile, has none."""
        document = json_object(self.data)
        return None if document is None else document.get("ride_id")


@dataclass(frozen=True)
class Prediction:
    shard_id: str
    sequence_number: str
    data: bytes

    def document(self) -> dict[str, Any] | None:
        return json_object(self.data)

    def ride_id(self) -> Any:
        """The ride id the record names, or None when its `prediction` is not an object (a foreign writer)."""
        prediction = (self.document() or {}).get("prediction")
        return prediction.get("ride_id") if isinstance(prediction, dict) else None


@dataclass(frozen=True)
class DeadLetterMessage:
    message_id: str
    body: str

    def source(self) -> tuple[str | None, str | None]:
        """The input the scorer dead-lettered; (None, None) for anything else someone put in the queue."""
        source = (json_object(self.body) or {}).get("source")
        if not isinstance(source, dict):
            return None, None
        return _text(source.get("shard_id")), _text(source.get("sequence_number"))


@dataclass(frozen=True)
class DiscardedBatch:
    """A batch the event source mapping gave up on (its on-failure destination message)."""

    shard_id: str
    start_sequence_number: str
    end_sequence_number: str

    def covers(self, key: InputKey) -> bool:
        shard_id, number = key
        start, end, position = map(_number, (self.start_sequence_number, self.end_sequence_number, number))
        if shard_id != self.shard_id or start is None or end is None or position is None:
            return False  # a range that is not numbers covers nothing
        return start <= position <= end


@dataclass
class Report:
    since: str
    until: str | None
    inputs: int
    predictions: int
    dead_lettered: int
    discarded: int
    scored: int
    missing: list[dict[str, str]]
    duplicated: list[dict[str, Any]]
    unexpected: list[dict[str, Any]]
    scored_and_dead_lettered: list[dict[str, str]]

    @property
    def ok(self) -> bool:
        """Every input accounted for, nothing from nowhere, and every duplicate a byte-identical re-delivery."""
        return not self.missing and not self.unexpected and all(item["identical"] for item in self.duplicated)

    def to_json(self, limit: int | None = None) -> dict[str, Any]:
        document = asdict(self)
        document["ok"] = self.ok
        document["counts"] = {
            "inputs": self.inputs,
            "predictions": self.predictions,
            "dead_lettered": self.dead_lettered,
            "discarded": self.discarded,
            "scored": self.scored,
            "missing": len(self.missing),
            "duplicated": len(self.duplicated),
            "duplicated_not_identical": sum(1 for item in self.duplicated if not item["identical"]),
            "unexpected": len(self.unexpected),
            "scored_and_dead_lettered": len(self.scored_and_dead_lettered),
        }
        if limit is not None:
            for name in ("missing", "duplicated", "unexpected", "scored_and_dead_lettered"):
                document[name] = document[name][:limit]
        return document

    def summary(self) -> str:
        counts = self.to_json()["counts"]
        lines = [
            f"window        {self.since} .. {self.until or 'now'}",
            f"inputs        {counts['inputs']}",
            f"scored        {counts['scored']} ({counts['predictions']} prediction records)",
            f"dead-lettered {counts['dead_lettered']}",
            f"discarded     {counts['discarded']} (on-failure destination)",
            f"missing       {counts['missing']}",
            f"duplicated    {counts['duplicated']} ({counts['duplicated_not_identical']} not identical)",
            f"unexpected    {counts['unexpected']}",
            f"both scored and dead-lettered {counts['scored_and_dead_lettered']}",
            "OK: every input is accounted for" if self.ok else "NOT OK: see missing/duplicated/unexpected",
        ]
        return "\n".join(lines)


def reconcile(
    inputs: Sequence[InputRecord],
    predictions: Sequence[Prediction],
    dead_letters: Sequence[DeadLetterMessage],
    discarded: Sequence[DiscardedBatch] = (),
    since: str = "",
    until: str | None = None,
) -> Report:
    """Pure accounting over what was read; the readers below only fetch."""
    by_key = {record.key: record for record in inputs}
    by_number: dict[str, list[InputRecord]] = defaultdict(list)
    for record in inputs:
        by_number[record.sequence_number].append(record)

    scored: dict[InputKey, list[bytes]] = defaultdict(list)
    lettered: dict[InputKey, list[str]] = defaultdict(list)
    unexpected: list[dict[str, Any]] = []

    for prediction in predictions:
        key = _match_prediction(prediction, by_number)
        if key is None:
            unexpected.append(_unexpected_prediction(prediction))
        else:
            scored[key].append(prediction.data)

    for letter in dead_letters:
        shard_id, number = letter.source()
        candidates = by_number.get(number or "", [])
        if shard_id is not None:
            candidates = [record for record in candidates if record.shard_id == shard_id]
        if len(candidates) == 1:
            lettered[candidates[0].key].append(letter.body)
        else:
            unexpected.append(
                {
                    "kind": "dead_letter",
                    "message_id": letter.message_id,
                    "shard_id": shard_id,
                    "sequence_number": number,
                }
            )

    duplicated = _duplicates("prediction", scored) + _duplicates("dead_letter", lettered)
    accounted = set(scored) | set(lettered)
    thrown_away = {key for key in by_key if key not in accounted and any(batch.covers(key) for batch in discarded)}
    missing = [
        {"shard_id": key[0], "sequence_number": key[1]}
        for key in sorted(by_key, key=_order)
        if key not in accounted and key not in thrown_away
    ]
    both = [{"shard_id": key[0], "sequence_number": key[1]} for key in sorted(set(scored) & set(lettered), key=_order)]
    return Report(
        since=since,
        until=until,
        inputs=len(by_key),
        predictions=len(predictions),
        dead_lettered=len(lettered),
        discarded=len(thrown_away),
        scored=len(scored),
        missing=missing,
        duplicated=duplicated,
        unexpected=unexpected,
        scored_and_dead_lettered=both,
    )


def _duplicates(kind: str, found: Mapping[InputKey, Sequence[bytes | str]]) -> list[dict[str, Any]]:
    """A re-delivery writes the same bytes again; anything else means two different answers for one ride."""
    return [
        {
            "kind": kind,
            "shard_id": key[0],
            "sequence_number": key[1],
            "copies": len(copies),
            "identical": len(set(copies)) == 1,
        }
        for key, copies in sorted(found.items(), key=lambda item: _order(item[0]))
        if len(copies) > 1
    ]


def _order(key: InputKey) -> tuple[str, int]:
    number = _number(key[1])
    return key[0], -1 if number is None else number


def json_object(data: bytes | str) -> dict[str, Any] | None:
    """A record or message as a JSON object, or None for anything else. Streams and queues hold whatever
    anyone wrote to them, the hostile corpus included: a document nested deeper than the parser recurses is
    "not an object" too, so one such record is reported like any other instead of stopping the tool."""
    document = json_document(data)
    return document if isinstance(document, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(sequence_number: str) -> int | None:
    """Kinesis sequence numbers are up to 128 decimal digits; None for anything else, so that a malformed
    on-failure message covers nothing instead of crashing the tool (int() refuses over 4,300 digits)."""
    is_number = len(sequence_number) <= 128 and sequence_number.isascii() and sequence_number.isdigit()
    return int(sequence_number) if is_number else None


def _match_prediction(prediction: Prediction, by_number: dict[str, list[InputRecord]]) -> InputKey | None:
    document = prediction.document()
    if document is None:
        return None
    candidates = by_number.get(str(document.get("source_sequence_number")), [])
    if len(candidates) > 1:
        # Every prediction the scorer writes names its ride; one without cannot tell candidates apart.
        ride_id = prediction.ride_id()
        candidates = [record for record in candidates if ride_id is not None and record.ride_id() == ride_id]
    return candidates[0].key if len(candidates) == 1 else None


def _unexpected_prediction(prediction: Prediction) -> dict[str, Any]:
    document = prediction.document() or {}
    return {
        "kind": "prediction",
        "shard_id": prediction.shard_id,
        "sequence_number": prediction.sequence_number,
        "source_sequence_number": document.get("source_sequence_number"),
        "ride_id": prediction.ride_id(),
    }


# ---- readers -------------------------------------------------------------------------------------------


def read_inputs(kinesis: Any, stream_name: str, since: datetime, until: datetime | None = None) -> list[InputRecord]:
    return [
        InputRecord(
            shard_id=record.shard_id,
            sequence_number=record.sequence_number,
            partition_key=record.partition_key,
            arrival=record.approximate_arrival_timestamp,
            data=record.data,
        )
        for record in read_stream(kinesis, stream_name, since, until)
    ]


def read_predictions(kinesis: Any, stream_name: str, since: datetime) -> list[Prediction]:
    """Predictions are written after their input arrived, so they are read from `since` to now."""
    return [
        Prediction(shard_id=record.shard_id, sequence_number=record.sequence_number, data=record.data)
        for record in read_stream(kinesis, stream_name, since)
    ]


def discarded_batches(bodies: Iterable[str]) -> list[DiscardedBatch]:
    """Parse Lambda's on-failure destination records (their `KinesisBatchInfo`)."""
    batches = []
    for body in bodies:
        info = (json_object(body) or {}).get("KinesisBatchInfo")
        if not isinstance(info, dict) or not {"shardId", "startSequenceNumber", "endSequenceNumber"} <= info.keys():
            continue  # not an on-failure record: it covers nothing
        batches.append(
            DiscardedBatch(str(info["shardId"]), str(info["startSequenceNumber"]), str(info["endSequenceNumber"]))
        )
    return batches


@dataclass(frozen=True)
class Sources:
    input_stream: str
    output_stream: str
    dead_letter_queue_url: str
    on_failure_queue_url: str | None = None


def reconcile_sources(
    sources: Sources,
    since: datetime,
    until: datetime | None = None,
    session: Any = None,
    delete_messages: bool = False,
) -> Report:
    kinesis, sqs = client("kinesis", session), client("sqs", session)
    inputs = read_inputs(kinesis, sources.input_stream, since, until)
    predictions = read_predictions(kinesis, sources.output_stream, since)
    letters = [
        DeadLetterMessage(message.message_id, message.body)
        for message in receive_messages(sqs, sources.dead_letter_queue_url, since, delete_messages)
    ]
    failures: list[DiscardedBatch] = []
    if sources.on_failure_queue_url:
        received = receive_messages(sqs, sources.on_failure_queue_url, since, delete_messages)
        bodies = [message.body for message in received]
        failures = discarded_batches(bodies)
    return reconcile(inputs, predictions, letters, failures, since.isoformat(), until.isoformat() if until else None)


# ---- command line --------------------------------------------------------------------------------------

_RELATIVE = re.compile(r"^(\d+)([smhd])$")


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """ISO 8601 (naive means UTC) or a duration before now such as 90s, 30m, 2h, 1d."""
    now = now or datetime.now(UTC)
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        try:
            return now - timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
        except OverflowError:
            raise argparse.ArgumentTypeError(f"{text!r} reaches back before the year 1") from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither ISO 8601 nor a duration like 30m") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def report_path(text: str) -> str:
    """`--json PATH`: '-' or a file in an existing folder (`cli.output_file`), checked before anything is read."""
    return text if text == "-" else str(output_file(text))


def check_sources(sources: Sources, kinesis: Any) -> None:
    """Both streams exist, before anything is read: a name mistyped is one line, not a traceback later."""
    for stream in (sources.input_stream, sources.output_stream):
        try:
            list_shards(kinesis, stream)
        except (ClientError, BotoCoreError) as error:
            raise explain(error, kinesis, f"Kinesis stream {stream!r}") from None


def sources_from_args(args: argparse.Namespace, sqs: Any) -> Sources:
    """Explicit names win; otherwise they follow infra/templates/resources.yaml's naming from --prefix."""
    if args.prefix:
        names = ResourceNames.from_prefix(args.prefix)
        return Sources(
            args.input_stream or names.rides_stream,
            args.output_stream or names.predictions_stream,
            args.dead_letter_queue_url or queue_url(sqs, names.dead_letter_queue),
            args.on_failure_queue_url or queue_url(sqs, names.on_failure_queue),
        )
    return Sources(args.input_stream, args.output_stream, args.dead_letter_queue_url, args.on_failure_queue_url)


def build_parser() -> ToolParser:
    parser = ToolParser(
        prog="python -m tools.reconcile",
        description="Account for every ride event between two times: scored, dead-lettered, missing, "
        "duplicated or unexpected. Exit status 0 when everything is accounted for, 1 otherwise.",
    )
    parser.add_argument("--prefix", help="resource prefix of the resources stack (names the streams and queues)")
    parser.add_argument("--input-stream")
    parser.add_argument("--output-stream")
    parser.add_argument("--dead-letter-queue-url")
    parser.add_argument("--on-failure-queue-url")
    parser.add_argument("--since", type=parse_time, required=True, help="ISO 8601 time or a duration ago (30m)")
    parser.add_argument("--until", type=parse_time, help="last input arrival time to count (default: now)")
    parser.add_argument(
        "--json", metavar="PATH", type=report_path, help="write the full JSON report here ('-' for stdout)"
    )
    parser.add_argument(
        "--limit", type=non_negative_int, default=LISTED_ITEMS, help="records listed per category in the JSON"
    )
    parser.add_argument(
        "--delete-messages", action="store_true", help="delete the queue messages read (default: leave them)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """0 when every input is accounted for, 1 when not; 2 (one `error:` line) when it cannot look."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (args.prefix or (args.input_stream and args.output_stream and args.dead_letter_queue_url)):
        parser.error("give --prefix, or --input-stream, --output-stream and --dead-letter-queue-url")
    try:
        sources = sources_from_args(args, tool_client("sqs"))
        check_sources(sources, tool_client("kinesis"))
        report = reconcile_sources(sources, args.since, args.until, delete_messages=args.delete_messages)
    except AwsUnavailable as error:
        return fail(error)
    except (ClientError, BotoCoreError) as error:
        return fail(explain(error, None, "the streams and queues"))
    document = json.dumps(report.to_json(args.limit), indent=2, default=str)
    if args.json == "-":
        print(document)
        print(report.summary(), file=sys.stderr)
    else:
        if args.json:
            with open(args.json, "w", encoding="utf-8") as handle:
                handle.write(document + "\n")
        print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
