"""The prediction record consumers read: the course reference shape, plus where it came from.

Encoded with msgspec: strict JSON (a duration is finite by the output rules; msgspec would never write NaN
or Infinity), compact, keys in this order, the shortest float text that reads back as the same float. So a
re-delivered record encodes to the same bytes, and the encoding costs a sixth of `json.dumps`.
"""

from __future__ import annotations

from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()


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
    return _encoder.encode(record)
