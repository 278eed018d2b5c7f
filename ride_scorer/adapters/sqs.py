"""Send dead letters to the SQS dead-letter queue in batches, retrying only the entries that failed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ride_scorer.adapters.chunking import chunk_spans
from ride_scorer.adapters.retrying import RetryPolicy, send_with_retries
from ride_scorer.core.interfaces import DeadLetter

logger = logging.getLogger(__name__)

MAX_MESSAGES_PER_CALL = 10
# SQS limits a message and a whole batch to 256 KiB.
MAX_BATCH_BYTES = 256 * 1024


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
