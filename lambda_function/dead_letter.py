"""Dead-letter messages for records that can never be scored, sent to SQS.

Each message carries the raw data exactly as received (a prefix and a digest when it is too large for
SQS), the reason, and the record's coordinates in the stream, so an operator can find, fix and replay it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from lambda_function.chunking import chunk_spans
from lambda_function.retrying import RetryPolicy, send_with_retries
from lambda_function.rides import RejectedRecord

logger = logging.getLogger(__name__)

MAX_MESSAGES_PER_CALL = 10
# SQS limits a message and a whole batch to 256 KiB; keep the raw data well inside that.
MAX_BATCH_BYTES = 256 * 1024
MAX_RAW_DATA_CHARS = 192 * 1024


@dataclass(frozen=True)
class RecordOrigin:
    sequence_number: str
    partition_key: str
    shard_id: str | None = None
    event_source_arn: str | None = None
    approximate_arrival_timestamp: float | None = None


@dataclass(frozen=True)
class DeadLetter:
    raw_data: str
    rejection: RejectedRecord
    origin: RecordOrigin

    def body(self) -> str:
        truncated = len(self.raw_data) > MAX_RAW_DATA_CHARS
        return json.dumps(
            {
                "reason_code": str(self.rejection.code),
                "reason": self.rejection.reason,
                "data": self.raw_data[:MAX_RAW_DATA_CHARS],
                "data_truncated": truncated,
                "data_length": len(self.raw_data),
                "data_sha256": hashlib.sha256(self.raw_data.encode("utf-8", "surrogatepass")).hexdigest(),
                "source": {
                    "event_source_arn": self.origin.event_source_arn,
                    "shard_id": self.origin.shard_id,
                    "sequence_number": self.origin.sequence_number,
                    "partition_key": self.origin.partition_key,
                    "approximate_arrival_timestamp": self.origin.approximate_arrival_timestamp,
                },
            }
        )


class DeadLetterSink(Protocol):
    def send(self, letters: Sequence[DeadLetter]) -> list[int]:
        """Return the positions of letters that could not be sent."""
        ...


@dataclass
class SqsDeadLetterQueue:
    client: Any
    queue_url: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def send(self, letters: Sequence[DeadLetter]) -> list[int]:
        bodies = [letter.body() for letter in letters]
        unsent: list[int] = []
        sizes = [len(body.encode("utf-8")) for body in bodies]
        for start, end in chunk_spans(sizes, MAX_MESSAGES_PER_CALL, MAX_BATCH_BYTES):
            outcome = send_with_retries(bodies[start:end], self._send_batch, self.policy)
            if outcome.failed:
                logger.warning(
                    "SendMessageBatch to %s failed for %d messages: %s",
                    self.queue_url,
                    len(outcome.failed),
                    outcome.last_error,
                )
            unsent.extend(start + position for position in outcome.failed)
        return unsent

    def _send_batch(self, bodies: Sequence[str]) -> list[tuple[int, str]]:
        try:
            response = self.client.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(position), "MessageBody": body} for position, body in enumerate(bodies)],
            )
        except (ClientError, BotoCoreError) as error:
            return [(position, f"{type(error).__name__}: {error}") for position in range(len(bodies))]
        return [
            (int(entry["Id"]), f"{entry.get('Code')}: {entry.get('Message', '')}")
            for entry in response.get("Failed", [])
        ]
