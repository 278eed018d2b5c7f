"""Tail the predictions stream (and the dead-letter queue) and print each record as one JSON line.

    python -m ride_scorer.tools.consumer --stream ride-scorer-predictions \
        --dead-letter-queue-url "$DLQ_URL" --from-start --until-idle

The same readers serve the integration tests and `make run`, which read everything the scorer wrote.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from ride_scorer.adapters.aws_clients import client
from ride_scorer.tools.local.endpoints import EndpointUnavailable, ResourceMissing, explain
from ride_scorer.tools.local.mapping import StartingPosition
from ride_scorer.tools.local.shards import ShardReader, ShardRecord, list_shards

SQS_MAX_MESSAGES = 10


@dataclass
class StreamTail:
    """Readers over every shard of a stream; `poll()` returns what arrived since the last call."""

    kinesis: Any
    stream_name: str
    position: StartingPosition = StartingPosition.LATEST

    def __post_init__(self) -> None:
        self.readers: dict[str, ShardReader] = {}
        self._discover()

    def _discover(self) -> None:
        for shard in list_shards(self.kinesis, self.stream_name):
            if shard.shard_id not in self.readers:
                self.readers[shard.shard_id] = ShardReader(
                    self.kinesis, self.stream_name, shard.shard_id, self.position
                )

    def poll(self) -> list[ShardRecord]:
        records: list[ShardRecord] = []
        for reader in self.readers.values():
            records.extend(reader.fetch(10_000))
        return records

    @property
    def caught_up(self) -> bool:
        return all(reader.caught_up or reader.closed for reader in self.readers.values())


def read_stream(kinesis: Any, stream_name: str) -> list[ShardRecord]:
    """Every record in the stream now, shard by shard, in each shard's order."""
    tail = StreamTail(kinesis, stream_name, StartingPosition.TRIM_HORIZON)
    records: list[ShardRecord] = []
    while True:
        batch = tail.poll()
        records.extend(batch)
        if not batch and tail.caught_up:
            return records


def receive_messages(sqs: Any, queue_url: str, delete: bool = False, wait_seconds: int = 1) -> Iterator[dict[str, Any]]:
    """Messages currently in the queue, each once (kept invisible while we read), until one empty poll."""
    while True:
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=SQS_MAX_MESSAGES,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=300,
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return
        yield from messages
        if delete:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )


def read_dead_letters(sqs: Any, queue_url: str, delete: bool = False) -> list[dict[str, Any]]:
    return [json.loads(message["Body"]) for message in receive_messages(sqs, queue_url, delete)]


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
    while True:
        records = tail.poll()
        for record in records:
            print(prediction_line(record), file=out, flush=True)
        letters = read_dead_letters(sqs, queue_url, delete) if queue_url else []
        for letter in letters:
            print(json.dumps({"source": "dead-letter-queue", "message": letter}), file=out, flush=True)
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
