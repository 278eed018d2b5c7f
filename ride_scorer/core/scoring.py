"""The one path from ride documents to outcomes, shared by the stream, the batch job and the HTTP service.

Every mode reads its documents its own way (base64 Kinesis data, parquet rows, a JSON body), hands them here
and writes the outcomes its own way. Here, and only here, a ride is validated, turned into features, scored
in one vectorized predict, and checked against the output rules. So a ride gets the same outcome whichever
way it arrives: a finite `Prediction`, or a `Rejection` with a `reason_code`.

A ride the model cannot score never fails the others: values beyond what the model accepts (found when
it loads) are refused before predicting, a ride on which the model raises is isolated by bisection, and a
prediction that is not finite (not JSON) is refused after it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ride_scorer.core.model import MODEL_INPUT_ERRORS, RideDurationModel
from ride_scorer.core.rides import (
    InvalidRide,
    Rejection,
    RejectionCode,
    RideEvent,
    decode_kinesis_data,
    parse_ride_event,
    validate_ride_event,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Prediction:
    ride_id: int | str
    ride_duration: float


Outcome = Prediction | Rejection
ReadRide = RideEvent | Rejection


def read_document(document: object) -> ReadRide:
    """An already-parsed document (an HTTP body's ride, a parquet row), by the stream's rules."""
    try:
        return validate_ride_event(document)
    except InvalidRide as invalid:
        return invalid.rejection


def read_json(payload: bytes | str, max_bytes: int) -> ReadRide:
    """One JSON ride event, bounded in size before any parsing."""
    try:
        return parse_ride_event(payload, max_bytes)
    except InvalidRide as invalid:
        return invalid.rejection


def read_kinesis_data(data: str | bytes, max_bytes: int) -> ReadRide:
    """A Kinesis record's base64 data, as Lambda hands it over."""
    try:
        return decode_kinesis_data(data, max_bytes)
    except InvalidRide as invalid:
        return invalid.rejection


def score_documents(model: RideDurationModel, documents: Sequence[object]) -> list[Outcome]:
    return score_rides(model, [read_document(document) for document in documents])


def score_rides(model: RideDurationModel, rides: Sequence[ReadRide]) -> list[Outcome]:
    """One outcome per ride, in order: rejections pass through, valid rides are scored in one predict."""
    outcomes: list[Outcome | None] = [ride if isinstance(ride, Rejection) else None for ride in rides]
    scorable: list[tuple[int, RideEvent]] = []
    for position, ride in enumerate(rides):
        if not isinstance(ride, RideEvent):
            continue
        distance = ride.ride.trip_distance
        if distance > model.max_trip_distance:
            outcomes[position] = Rejection(
                RejectionCode.INPUT_OUT_OF_RANGE,
                f"ride.trip_distance: {distance!r} is larger than the model accepts ({model.max_trip_distance!r})",
            )
        else:
            scorable.append((position, ride))
    values = _predict_isolating(model, [event.ride.features() for _, event in scorable])
    for (position, event), value in zip(scorable, values, strict=True):
        outcomes[position] = _output_rule(event, value)
    return [outcome for outcome in outcomes if outcome is not None]


def _output_rule(event: RideEvent, value: float | Rejection) -> Outcome:
    if isinstance(value, Rejection):
        return value
    if not math.isfinite(value):
        return Rejection(
            RejectionCode.NON_FINITE_PREDICTION,
            f"the model predicted {value} minutes; only finite durations can be published",
        )
    return Prediction(event.ride_id, value)


def _predict_isolating(model: RideDurationModel, features: list) -> list[float | Rejection]:
    """One vectorized predict; if it raises, bisect until the rides that make it raise stand alone.

    A batch with k such rides costs about 2k·log2(n) extra calls, paid only when a model raises.
    """
    if not features:
        return []
    try:
        return list(model.predict(features))
    except MODEL_INPUT_ERRORS as error:
        if len(features) == 1:
            logger.warning("the model raised on one ride, which is rejected: %s: %s", type(error).__name__, error)
            message = " ".join(str(error).split())[:500]
            return [Rejection(RejectionCode.MODEL_ERROR, f"the model cannot score this ride: {message}")]
    middle = len(features) // 2
    return _predict_isolating(model, features[:middle]) + _predict_isolating(model, features[middle:])
