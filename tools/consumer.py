"""Tail the predictions stream (and the dead-letter queue) and print each record as one JSON line.

    python -m tools.consumer --prefix ride-scorer --from-start --until-idle

`--prefix` names the predictions stream and the dead-letter queue as infra/templates/resources.yaml does (as the
runner and reconcile do); `--stream` and `--dead-letter-queue-url` name them one by one. A dead letter's
line carries its reason code and, when the record it holds is text, that text decoded (`data_text`), beside
the message as sent. It reads with `tools.readers`, as reconcile, `make run` and the tests do.
Dead letters are left in the queue, visible to the next reader, unless `--delete` is given.

A record or message that is not a JSON document (anyone can write to a stream or a queue) is printed as
text, never dropped; the run then ends with one `error:` line and exit status 2.
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from tools.cli import ToolParser, fail
from tools.local.endpoints import AwsUnavailable, explain, tool_client
from tools.local.mapping import StartingPosition
from tools.local.shards import ShardRecord
from tools.readers import QueueMessage, StreamTail, json_document, receive_messages
from tools.resource_names import ResourceNames, queue_url


@dataclass
class Printed:
    records: int = 0
    not_json: int = 0
    first_not_json: str = ""

    def count(self, document: Any, where: str) -> None:
        self.records += 1
        if document is None:
            self.not_json += 1
            self.first_not_json = self.first_not_json or where


def prediction_line(record: ShardRecord, printed: Printed) -> str:
    body = json_document(record.data)
    printed.count(body, f"prediction {record.shard_id}/{record.sequence_number}")
    line: dict[str, Any] = {
        "source": "predictions",
        "shard_id": record.shard_id,
        "sequence_number": record.sequence_number,
    }
    if body is None:
        return json.dumps({**line, "not_json": record.data.decode("utf-8", "replace")})
    return json.dumps({**line, "record": body})


def dead_letter_line(message: QueueMessage, printed: Printed) -> str:
    body = json_document(message.body)
    if not isinstance(body, dict):
        body = None  # a letter is an object; anything else is someone else's message
    printed.count(body, f"dead letter {message.message_id}")
    if body is None:
        return json.dumps({"source": "dead-letter-queue", "message_id": message.message_id, "not_json": message.body})
    line = {"source": "dead-letter-queue", "reason_code": body.get("reason_code"), "data_text": decoded_text(body)}
    return json.dumps({**line, "message": body})


def decoded_text(letter: dict[str, Any]) -> str | None:
    """The dead-lettered record itself when it is UTF-8 text (truncated as the letter is), else None."""
    data = letter.get("data")
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def follow(
    tail: StreamTail,
    sqs: Any,
    queue: str | None,
    out: TextIO,
    until_idle: bool,
    delete: bool,
    interval: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    printed: Printed | None = None,
) -> Printed:
    printed = printed if printed is not None else Printed()
    seen: set[str] = set()  # messages stay in the queue (visible again) unless deleted: print each once
    while True:
        records = tail.poll()
        for record in records:
            print(prediction_line(record, printed), file=out, flush=True)
        messages = receive_messages(sqs, queue, delete=delete) if queue else []
        letters = [message for message in messages if message.message_id not in seen]
        seen.update(message.message_id for message in letters)
        for letter in letters:
            print(dead_letter_line(letter, printed), file=out, flush=True)
        if until_idle and not records and not letters and tail.caught_up:
            return printed
        if not records:
            sleep(interval)


def build_parser() -> ToolParser:
    parser = ToolParser(prog="python -m tools.consumer", description="Print predictions and dead letters as they come.")
    parser.add_argument("--prefix", help="resource prefix of the resources stack: names the stream and the queue")
    parser.add_argument("--stream", help="the predictions stream (or --prefix)")
    parser.add_argument("--dead-letter-queue-url", help="also print this queue's messages")
    parser.add_argument("--from-start", action="store_true", help="read the stream from TRIM_HORIZON, not LATEST")
    parser.add_argument("--until-idle", action="store_true", help="exit once nothing new arrives")
    parser.add_argument("--delete", action="store_true", help="delete dead letters once printed (default: keep)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (args.stream or args.prefix):
        parser.error("give --prefix, or --stream")
    kinesis: Any = None
    position = StartingPosition.TRIM_HORIZON if args.from_start else StartingPosition.LATEST
    printed = Printed()
    stream, queue = args.stream, args.dead_letter_queue_url
    try:
        kinesis = tool_client("kinesis")
        sqs = tool_client("sqs") if args.dead_letter_queue_url or args.prefix else None
        if args.prefix:
            names = ResourceNames.from_prefix(args.prefix)
            stream = stream or names.predictions_stream
            queue = queue or queue_url(sqs, names.dead_letter_queue)
        try:
            tail = StreamTail(kinesis, stream, position)
        except (ClientError, BotoCoreError) as error:
            raise explain(error, kinesis, f"Kinesis stream {stream!r}") from None
        follow(tail, sqs, queue, sys.stdout, args.until_idle, args.delete, printed=printed)
    except KeyboardInterrupt:
        pass
    except (ClientError, BotoCoreError) as error:
        return fail(explain(error, kinesis, f"stream {stream!r} or its dead-letter queue"))
    except AwsUnavailable as error:
        return fail(error)
    if printed.not_json:
        return fail(
            f"{printed.not_json} of {printed.records} records printed were not JSON documents (the first: "
            f"{printed.first_not_json}); they are printed as text under `not_json`"
        )
    print(f"{printed.records} records printed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
