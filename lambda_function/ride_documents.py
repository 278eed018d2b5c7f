"""Validate and score already-parsed ride documents: the core the batch job and the HTTP service share.

Each document goes through `rides.validate_ride_event` (the streaming rules) and each valid ride through
`Ride.features()` and one vectorized `model.predict`, exactly as `scoring.StreamScorer` does; that is
why a ride gets the same prediction whichever way it arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lambda_function.model import RideDurationModel
from lambda_function.rides import InvalidRide, RejectedRecord, RideEvent, validate_ride_event


@dataclass(frozen=True)
class Validated:
    """`valid` and `rejected` carry each document's position in the input, in input order."""

    valid: list[tuple[int, RideEvent]]
    rejected: list[tuple[int, RejectedRecord]]


def validate_documents(documents: Sequence[object]) -> Validated:
    valid: list[tuple[int, RideEvent]] = []
    rejected: list[tuple[int, RejectedRecord]] = []
    for position, document in enumerate(documents):
        try:
            valid.append((position, validate_ride_event(document)))
        except InvalidRide as invalid:
            rejected.append((position, invalid.rejection))
    return Validated(valid, rejected)


def predict_durations(model: RideDurationModel, events: Sequence[RideEvent]) -> list[float]:
    """One model call for all events, with the streaming path's features."""
    return model.predict([event.ride.features() for event in events])
