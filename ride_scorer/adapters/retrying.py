"""Retry only the entries of a batch call that came back failed, with capped exponential backoff and
full jitter.

PutRecords and SendMessageBatch succeed as a call while failing some entries; botocore's retry modes
only cover whole calls, so this small loop covers the entries (botocore still retries whole calls).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Entry = TypeVar("Entry")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.05
    max_delay: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass
class RetryOutcome(Generic[Entry]):
    """Positions refer to the entries passed in; `retried` counts entry re-sends for metrics."""

    failed: list[int]
    retried: int
    last_error: str | None


def send_with_retries(
    entries: Sequence[Entry],
    send: Callable[[Sequence[Entry]], list[tuple[int, str]]],
    policy: RetryPolicy,
) -> RetryOutcome[Entry]:
    """`send` returns (position within what it was given, error) for each entry that failed."""
    pending = list(range(len(entries)))
    retried = 0
    last_error: str | None = None
    for attempt in range(policy.max_attempts):
        if attempt:
            policy.sleep(policy.delay(attempt))
            retried += len(pending)
        failures = send([entries[i] for i in pending])
        if failures:
            last_error = failures[0][1]
        pending = [pending[position] for position, _ in failures]
        if not pending:
            break
    return RetryOutcome(failed=sorted(pending), retried=retried, last_error=last_error)
