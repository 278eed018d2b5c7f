"""The ports of the stream mode: what the scorer writes predictions and dead letters to.

The core and the stream scorer see only these types; the Kinesis and SQS adapters implement them, and the
unit tests use in-memory fakes. Nothing here imports an AWS SDK.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec

from ride_scorer.core.rides import Rejection

# SQS limits a message to 256 KiB; keep the raw data well inside that.
MAX_RAW_DATA_CHARS = 192 * 1024


# A msgspec Struct, not a dataclass: one is made per prediction, and it costs a tenth as much.
class OutputRecord(msgspec.Struct, frozen=True, gc=False):
    data: bytes
    partition_key: str

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode("utf-8"))


@dataclass(frozen=True)
class WriteResult:
    """`first_unwritten` is the position of the earliest record not known to be written, or None."""

    first_unwritten: int | None
    retried: int = 0
    error: str | None = None


class PredictionSink(Protocol):
    def write(self, records: Sequence[OutputRecord]) -> WriteResult: ...


@dataclass(frozen=True)
class RecordOrigin:
    """Where a record sits in its stream, so an operator can find and replay it."""

    sequence_number: str
    partition_key: str
    shard_id: str | None = None
    event_source_arn: str | None = None
    approximate_arrival_timestamp: float | None = None


@dataclass(frozen=True)
class DeadLetter:
    """A record that can never be scored: the raw data exactly as received (a prefix and a digest when it is
    too large for SQS), the reason, and the record's coordinates in the stream."""

    raw_data: str
    rejection: Rejection
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
