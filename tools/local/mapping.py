"""The settings of a Kinesis event source mapping, with Lambda's defaults and limits.

Names follow CreateEventSourceMapping so a value can be copied from the SAM template to the runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MAX_BATCH_SIZE = 10_000
MAX_BATCHING_WINDOW_SECONDS = 300
MAX_RETRY_ATTEMPTS = 10_000
MAX_RECORD_AGE_SECONDS = 604_800
# A synchronous invocation's payload limit; the event source mapping cuts batches to stay under it.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024


class StartingPosition(StrEnum):
    TRIM_HORIZON = "TRIM_HORIZON"
    LATEST = "LATEST"
    AT_TIMESTAMP = "AT_TIMESTAMP"


@dataclass(frozen=True)
class MappingSettings:
    """-1 means infinite for retries and record age, as in Lambda (and is Lambda's default)."""

    stream_name: str
    starting_position: StartingPosition = StartingPosition.TRIM_HORIZON
    starting_position_timestamp: datetime | None = None
    batch_size: int = 100
    maximum_batching_window_seconds: float = 0
    maximum_retry_attempts: int = -1
    maximum_record_age_seconds: int = -1
    bisect_batch_on_function_error: bool = False
    report_batch_item_failures: bool = True
    on_failure_queue_url: str | None = None
    function_name: str = "ride-scorer"

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"BatchSize={self.batch_size} must be 1-{MAX_BATCH_SIZE}")
        if not 0 <= self.maximum_batching_window_seconds <= MAX_BATCHING_WINDOW_SECONDS:
            raise ValueError(
                f"MaximumBatchingWindowInSeconds={self.maximum_batching_window_seconds} must be 0-"
                f"{MAX_BATCHING_WINDOW_SECONDS}"
            )
        if not -1 <= self.maximum_retry_attempts <= MAX_RETRY_ATTEMPTS:
            raise ValueError(f"MaximumRetryAttempts={self.maximum_retry_attempts} must be -1-{MAX_RETRY_ATTEMPTS}")
        if (
            self.maximum_record_age_seconds != -1
            and not 60 <= self.maximum_record_age_seconds <= MAX_RECORD_AGE_SECONDS
        ):
            raise ValueError(
                f"MaximumRecordAgeInSeconds={self.maximum_record_age_seconds} must be -1 or 60-{MAX_RECORD_AGE_SECONDS}"
            )
        if (self.starting_position is StartingPosition.AT_TIMESTAMP) != (self.starting_position_timestamp is not None):
            raise ValueError("StartingPositionTimestamp is required with AT_TIMESTAMP and only valid with it")

    def retries_exhausted(self, failed_attempts: int) -> bool:
        """After `failed_attempts` failed invocations of the same records, is another retry allowed?"""
        return self.maximum_retry_attempts != -1 and failed_attempts > self.maximum_retry_attempts

    def too_old(self, arrival_timestamp: float, now: float) -> bool:
        return self.maximum_record_age_seconds != -1 and now - arrival_timestamp > self.maximum_record_age_seconds
