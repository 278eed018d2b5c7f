"""Read what the scorer wrote: every shard of a stream, and every message of a queue, without losing any.

The one reader of streams and queues for the consumer, the reconciliation tool, `make run` and the tests.
Streams are read with `ShardReader` (the local runner's own shard reader); queues are read
non-destructively: each message is received once, hidden while the queue is read, and then made visible
again for the next reader, unless the caller asks to delete it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tools.local.mapping import StartingPosition
from tools.local.shards import ShardReader, ShardRecord, list_shards

RECEIVE_BATCH = 10
# Long enough to receive a whole queue before the first messages become visible again.
DEFAULT_VISIBILITY_TIMEOUT = 300
FETCH_LIMIT = 10_000


@dataclass
class StreamTail:
    """Readers over every shard of a stream; `poll()` returns what arrived since the last call."""

    kinesis: Any
    stream_name: str
    position: StartingPosition = StartingPosition.LATEST
    timestamp: datetime | None = None
    readers: dict[str, ShardReader] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for shard in list_shards(self.kinesis, self.stream_name):
            self.readers[shard.shard_id] = ShardReader(
                self.kinesis, self.stream_name, shard.shard_id, self.position, self.timestamp
            )

    def poll(self) -> list[ShardRecord]:
        records: list[ShardRecord] = []
        for reader in self.readers.values():
            records.extend(reader.fetch(FETCH_LIMIT))
        return records

    @property
    def caught_up(self) -> bool:
        return all(reader.caught_up or reader.closed for reader in self.readers.values())


def read_stream(
    kinesis: Any, stream_name: str, since: datetime | None = None, until: datetime | None = None
) -> list[ShardRecord]:
    """Every record in the stream now (or that arrived in [since, until]), shard by shard, in shard order."""
    position = StartingPosition.TRIM_HORIZON if since is None else StartingPosition.AT_TIMESTAMP
    tail = StreamTail(kinesis, stream_name, position, since)
    records: list[ShardRecord] = []
    while True:
        batch = tail.poll()
        records.extend(batch)
        if not batch and tail.caught_up:
            break
    if until is not None:
        records = [record for record in records if record.approximate_arrival_timestamp <= until.timestamp()]
    return records


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    body: str
    sent_timestamp: float


def receive_messages(
    sqs: Any,
    queue_url: str,
    since: datetime | None = None,
    delete: bool = False,
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT,
) -> list[QueueMessage]:
    """Every message in the queue (sent at or after `since`), each once. All are received first, then the
    ones returned are deleted if asked, and every other is made visible again at once for the next reader."""
    received: dict[str, QueueMessage] = {}
    taken: list[str] = []  # handles of the messages returned: the only ones `delete` may delete
    others: list[str] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=RECEIVE_BATCH,
            VisibilityTimeout=visibility_timeout,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["SentTimestamp"],
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            sent = int(message.get("Attributes", {}).get("SentTimestamp", "0")) / 1000
            if since is None or sent >= since.timestamp() - 1:  # SentTimestamp has millisecond resolution
                received[message["MessageId"]] = QueueMessage(message["MessageId"], message["Body"], sent)
                taken.append(message["ReceiptHandle"])
            else:
                others.append(message["ReceiptHandle"])
    _release(sqs, queue_url, taken, delete)
    _release(sqs, queue_url, others, delete=False)
    return list(received.values())


def json_document(data: bytes | str) -> Any:
    """The JSON document, or None when it is not one: invalid, not UTF-8, or nested deeper than the parser
    recurses. Streams and queues hold whatever anyone wrote to them, the hostile corpus included: a
    100,000-deep list would stop a tool with a RecursionError otherwise."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


def read_dead_letters(sqs: Any, queue_url: str, delete: bool = False) -> list[dict[str, Any]]:
    """The queue's messages as the JSON documents the scorer (or Lambda's on-failure destination) sent."""
    return [json.loads(message.body) for message in receive_messages(sqs, queue_url, delete=delete)]


def _release(sqs: Any, queue_url: str, handles: Sequence[str], delete: bool) -> None:
    for start in range(0, len(handles), RECEIVE_BATCH):
        chunk = handles[start : start + RECEIVE_BATCH]
        entries = [{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(chunk)]
        if delete:
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        else:
            sqs.change_message_visibility_batch(
                QueueUrl=queue_url, Entries=[{**entry, "VisibilityTimeout": 0} for entry in entries]
            )
