"""Write predictions to the output Kinesis stream with PutRecords, in order, within the service limits."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ride_scorer.adapters.chunking import chunk_spans
from ride_scorer.adapters.retrying import RetryPolicy, send_with_retries
from ride_scorer.core.interfaces import OutputRecord, WriteResult

logger = logging.getLogger(__name__)

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024


def chunk_by_limits(
    records: Sequence[OutputRecord], max_count: int = MAX_RECORDS_PER_CALL, max_bytes: int = MAX_BYTES_PER_CALL
) -> Iterator[tuple[int, Sequence[OutputRecord]]]:
    """Yield (start position, chunk) with at most max_count records and max_bytes bytes per chunk."""
    sizes = [len(record.data) + len(record.partition_key.encode("utf-8")) for record in records]  # OutputRecord.size
    for start, end in chunk_spans(sizes, max_count, max_bytes):
        yield start, records[start:end]


@dataclass
class KinesisPredictionSink:
    client: Any
    stream_name: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def write(self, records: Sequence[OutputRecord]) -> WriteResult:
        """Chunks go in order and stop at the first chunk that cannot be fully written, so the caller can
        report everything from there as failed and Lambda re-delivers it without skipping any ride."""
        retried = 0
        for start, chunk in chunk_by_limits(records):
            outcome = send_with_retries(chunk, self._put_records, self.policy)
            retried += outcome.retried
            if outcome.failed:
                logger.warning(
                    "PutRecords to %s left %d of %d records unwritten after %d attempts: %s",
                    self.stream_name,
                    len(outcome.failed),
                    len(chunk),
                    self.policy.max_attempts,
                    outcome.last_error,
                )
                return WriteResult(start + outcome.failed[0], retried, outcome.last_error)
        return WriteResult(None, retried)

    def _put_records(self, chunk: Sequence[OutputRecord]) -> list[tuple[int, str]]:
        try:
            response = self.client.put_records(
                StreamName=self.stream_name,
                Records=[{"Data": record.data, "PartitionKey": record.partition_key} for record in chunk],
            )
        except (ClientError, BotoCoreError) as error:
            # botocore already retried transient call errors; every entry of the call is unwritten.
            return [(position, f"{type(error).__name__}: {error}") for position in range(len(chunk))]
        return [
            (position, f"{entry['ErrorCode']}: {entry.get('ErrorMessage', '')}")
            for position, entry in enumerate(response["Records"])
            if entry.get("ErrorCode")
        ]
