"""Read a handler's response the way Lambda's Kinesis event source mapping does.

With ReportBatchItemFailures on: no response, an empty response or an empty/null `batchItemFailures`
is a complete success; an item with an empty, null or unknown `itemIdentifier` (or a bad key name) is
a complete failure; otherwise the checkpoint is the lowest failed sequence number and every record
from there on is retried. With it off, the response is ignored and only an exception fails the batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class OutcomeKind(StrEnum):
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILURE = "failure"


@dataclass(frozen=True)
class Outcome:
    """`first_failed` is the position in the batch of the lowest failed sequence number (PARTIAL only);
    `function_error` is "Unhandled" when the handler raised, as in Lambda's on-failure record."""

    kind: OutcomeKind
    first_failed: int | None = None
    function_error: str | None = None
    detail: str = ""


def classify(response: Any, sequence_numbers: Sequence[str], report_batch_item_failures: bool = True) -> Outcome:
    if not report_batch_item_failures or response is None:
        return Outcome(OutcomeKind.SUCCESS)
    if not isinstance(response, Mapping):
        return Outcome(OutcomeKind.FAILURE, detail=f"response is a {type(response).__name__}, not a JSON object")
    failures = response.get("batchItemFailures")
    if not failures:
        return Outcome(OutcomeKind.SUCCESS)
    if not isinstance(failures, list):
        return Outcome(OutcomeKind.FAILURE, detail="batchItemFailures is not a list")
    positions = {number: position for position, number in enumerate(sequence_numbers)}
    failed: list[int] = []
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not isinstance(identifier, str) or not identifier:
            return Outcome(OutcomeKind.FAILURE, detail=f"batch item failure {item!r} has no itemIdentifier")
        if identifier not in positions:
            return Outcome(OutcomeKind.FAILURE, detail=f"itemIdentifier {identifier} is not in the batch")
        failed.append(positions[identifier])
    lowest = min(failed, key=lambda position: int(sequence_numbers[position]))
    return Outcome(OutcomeKind.PARTIAL, first_failed=lowest, detail=f"{len(failed)} batch item failures")
