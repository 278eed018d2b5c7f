"""The prediction record consumers read: the course reference shape, plus where it came from.

Encoded with msgspec from typed records: strict JSON (a duration is finite by the output rules; msgspec never
writes NaN or Infinity), compact, keys in this order, the shortest float text that reads back as the same
float. So a re-delivered record encodes to the same bytes, at a sixth of `json.dumps`' cost per record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec


class RidePrediction(msgspec.Struct, gc=False):
    ride_duration: float
    ride_id: int | str


class PredictionRecord(msgspec.Struct, omit_defaults=True, gc=False):
    model: str
    version: str
    prediction: RidePrediction
    # Lets operators reconcile outputs with inputs (the stream only); deterministic, so a re-delivery writes
    # the same bytes.
    source_sequence_number: str | None = None


_encoder = msgspec.json.Encoder()


def prediction_record(
    model_name: str,
    version: str,
    ride_id: int | str,
    ride_duration: float,
    source_sequence_number: str | None = None,
) -> dict[str, Any]:
    """The record as a JSON-ready dict (the HTTP answer)."""
    record = PredictionRecord(model_name, version, RidePrediction(ride_duration, ride_id), source_sequence_number)
    result: dict[str, Any] = msgspec.to_builtins(record)
    return result


def encode_predictions(
    model_name: str, version: str, predictions: Iterable[tuple[int | str, float, str]]
) -> list[bytes]:
    """The stream's output records, from (ride_id, ride_duration, source_sequence_number)."""
    encode = _encoder.encode
    return [
        encode(PredictionRecord(model_name, version, RidePrediction(duration, ride_id), sequence_number))
        for ride_id, duration, sequence_number in predictions
    ]
