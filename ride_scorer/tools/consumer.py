"""Tail the predictions stream (and the dead-letter queue) and print each record as one JSON line.

    python -m ride_scorer.tools.consumer --stream ride-scorer-predictions \
        --dead-letter-queue-url "$DLQ_URL" --from-start --until-idle

It reads with `ride_scorer.tools.readers`, as reconcile, `make run` and the tests do. Dead letters are left
in the queue, visible to the next reader, unless `--delete` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from ride_scorer.adapters.aws_clients import client
from ride_scorer.tools.local.endpoints import EndpointUnavailable, ResourceMissing, explain
from ride_scorer.tools.local.mapping import StartingPosition
from ride_scorer.tools.local.shards import ShardRecord
from ride_scorer.tools.readers import StreamTail, receive_messages


def prediction_line(record: ShardRecord) -> str:
    try:
        body: Any = json.loads(record.data)
    except ValueError:
        body = record.data.decode("utf-8", "replace")
    return json.dumps(
        {
            "source": "predictions",
            "shard_id": record.shard_id,
            "sequence_number": record.sequence_number,
            "record": body,
        }
    )


def follow(
    tail: StreamTail,
    sqs: Any,
    queue_url: str | None,
    out: TextIO,
    until_idle: bool,
    delete: bool,
    interval: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    printed = 0
    seen: set[str] = set()  # messages stay in the queue (visible again) unless deleted: print each once
    while True:
        records = tail.poll()
        for record in records:
            print(prediction_line(record), file=out, flush=True)
        messages = receive_messages(sqs, queue_url, delete=delete) if queue_url else []
        letters = [message for message in messages if message.message_id not in seen]
        seen.update(message.message_id for message in letters)
        for letter in letters:
            print(json.dumps({"source": "dead-letter-queue", "message": json.loads(letter.body)}), file=out, flush=True)
        printed += len(records) + len(letters)
        if until_idle and not records and not letters and tail.caught_up:
            return printed
        if not records:
            sleep(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ride_scorer.tools.consumer", description="Print predictions and dead letters as they come."
    )
    parser.add_argument("--stream", required=True, help="the predictions stream")
    parser.add_argument("--dead-letter-queue-url", help="also print this queue's messages")
    parser.add_argument("--from-start", action="store_true", help="read the stream from TRIM_HORIZON, not LATEST")
    parser.add_argument("--until-idle", action="store_true", help="exit once nothing new arrives")
    parser.add_argument("--delete", action="store_true", help="delete dead letters once printed (default: keep)")
    args = parser.parse_args(argv)
    kinesis = client("kinesis")
    position = StartingPosition.TRIM_HORIZON if args.from_start else StartingPosition.LATEST
    try:
        tail = StreamTail(kinesis, args.stream, position)
        sqs = client("sqs") if args.dead_letter_queue_url else None
        printed = follow(tail, sqs, args.dead_letter_queue_url, sys.stdout, args.until_idle, args.delete)
    except KeyboardInterrupt:
        return 0
    except (ClientError, BotoCoreError) as error:
        print(f"error: {explain(error, kinesis, f'stream {args.stream!r} or its dead-letter queue')}", file=sys.stderr)
        return 2
    except (EndpointUnavailable, ResourceMissing) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{printed} records printed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
