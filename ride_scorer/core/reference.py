"""What training saw, as the scorer reads it: the training reference (`scorer/reference.json`, written by
training/reference.py when the model is logged, covered by the model's digest like every file of the folder).

The stream and the file modes compare each batch with it (ride_scorer/core/signals.py): rides whose
pickup/dropoff pair the model never saw (such a ride silently gets the base prediction), distances beyond the
training range, and predictions against the training predictions' quantiles. A model without the file (saved
by hand, or before the reference existed) is still served; only those signals are missing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ride_scorer.core.model_files import REFERENCE_FILE

REFERENCE_FORMAT = 1
# The training predictions' quantiles are recorded at every whole percent, 0 to 100.
QUANTILE_POINTS = 101
# A reference is a few hundred kilobytes (one string per seen zone pair); anything far larger is not one.
REFERENCE_MAX_BYTES = 32 << 20


class ReferenceError(ValueError):
    """The reference file is not a training reference; the message says what is wrong with it."""


@dataclass(frozen=True)
class TrainingReference:
    """The part of the reference the scorer needs per batch (the drift report reads the rest)."""

    min_trip_distance: float
    max_trip_distance: float
    # Pickup/dropoff pairs as the model's feature spells them ("130_205"): the vectorizer's vocabulary.
    seen_pairs: frozenset[str]
    # The training predictions at 0, 1, ..., 100 percent.
    prediction_quantiles: tuple[float, ...]

    @property
    def prediction_median(self) -> float:
        return self.prediction_quantiles[50]

    @cached_property
    def seen_pair_ids(self) -> frozenset[tuple[int, int]]:
        """The seen pairs whose ids are integers written plainly, as (pickup, dropoff): a ride with integer ids
        is looked up without formatting its pair, which the stream would otherwise do for every ride."""
        pairs = (pair.partition("_")[::2] for pair in self.seen_pairs)
        return frozenset(
            (int(pickup), int(dropoff))
            for pickup, dropoff in pairs
            if _plain_integer(pickup) and _plain_integer(dropoff)
        )

    @classmethod
    def from_document(cls, document: Any) -> TrainingReference:
        """Checks every field it reads: the file comes from the model's bucket and is trusted only as data."""
        if not isinstance(document, Mapping) or document.get("format") != REFERENCE_FORMAT:
            raise ReferenceError(f"not a training reference of format {REFERENCE_FORMAT}")
        distance = _mapping(document, "trip_distance")
        pairs = document.get("seen_pairs")
        if not isinstance(pairs, list) or not all(isinstance(pair, str) for pair in pairs):
            raise ReferenceError("seen_pairs must be a list of strings")
        quantiles = _numbers(_mapping(document, "prediction").get("quantiles"), "prediction.quantiles")
        if len(quantiles) != QUANTILE_POINTS or list(quantiles) != sorted(quantiles):
            raise ReferenceError(f"prediction.quantiles must be {QUANTILE_POINTS} ascending numbers")
        low, high = _number(distance.get("min"), "trip_distance.min"), _number(distance.get("max"), "trip_distance.max")
        if low > high:
            raise ReferenceError("trip_distance.min is larger than trip_distance.max")
        return cls(low, high, frozenset(pairs), quantiles)


def read_reference(directory: Path) -> TrainingReference | None:
    """The model folder's reference, or None when the model has none. Raises `ReferenceError` for a file that
    is there but is not a reference: a published model whose reference is broken is not silently unwatched."""
    path = directory / REFERENCE_FILE
    if not path.is_file():
        return None
    if path.stat().st_size > REFERENCE_MAX_BYTES:
        raise ReferenceError(f"{path} is larger than {REFERENCE_MAX_BYTES} bytes")
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise ReferenceError(f"{path}: {error}") from error
    try:
        return TrainingReference.from_document(document)
    except ReferenceError as error:
        raise ReferenceError(f"{path}: {error}") from None


def _mapping(document: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = document.get(name)
    if not isinstance(value, Mapping):
        raise ReferenceError(f"{name} must be an object")
    return value


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ReferenceError(f"{name} must be a finite number")
    return float(value)


def _numbers(values: Any, name: str) -> tuple[float, ...]:
    if not isinstance(values, list):
        raise ReferenceError(f"{name} must be a list of numbers")
    return tuple(_number(value, name) for value in values)


def _plain_integer(text: str) -> bool:
    """How `str(int)` writes a non-negative integer: digits, no leading zero (ASCII only: isdigit takes "²")."""
    return text.isascii() and text.isdigit() and (text == "0" or text[0] != "0")
