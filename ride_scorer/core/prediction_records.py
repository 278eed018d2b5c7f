"""The prediction record consumers read: the course reference shape, plus where it came from."""

from __future__ import annotations

import json
from typing import Any


def prediction_record(
    model_name: str,
    version: str,
    ride_id: int | str,
    ride_duration: float,
    source_sequence_number: str | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "model": model_name,
        "version": version,
        "prediction": {"ride_duration": ride_duration, "ride_id": ride_id},
    }
    if source_sequence_number is not None:
        # Lets operators reconcile outputs with inputs; deterministic, so a re-delivery writes the same bytes.
        record["source_sequence_number"] = source_sequence_number
    return record


def encode_record(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode("utf-8")
