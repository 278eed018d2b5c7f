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

import msgspec

from ride_scorer.core.features import features_of
from ride_scorer.core.model import MODEL_INPUT_ERRORS, RideDurationModel
from ride_scorer.core.rides import ReadRide, Rejection, RejectionCode, RideEvent, read_document

logger = logging.getLogger(__name__)


# A msgspec Struct, not a dataclass: one is made per scored ride, and it costs a tenth as much.
class Prediction(msgspec.Struct, frozen=True, gc=False):
    ride_id: int | str
    ride_duration: float


Outcome = Prediction | Rejection


def score_documents(model: RideDurationModel, documents: Sequence[object]) -> list[Outcome]:
    return score_rides(model, [read_document(document) for document in documents])


def score_rides(model: RideDurationModel, rides: Sequence[ReadRide]) -> list[Outcome]:
    """One outcome per ride, in order: rejections pass through, valid rides are scored in one predict."""
    outcomes: list[Outcome] = list(rides)  # type: ignore[arg-type]  # every RideEvent is replaced below
    scorable = [position for position, ride in enumerate(rides) if type(ride) is RideEvent]
    limit = model.max_trip_distance
    if limit < math.inf:
        for position in [p for p in scorable if rides[p].ride.trip_distance > limit]:  # type: ignore[union-attr]
            outcomes[position] = Rejection(
                RejectionCode.INPUT_OUT_OF_RANGE,
                f"ride.trip_distance: {rides[position].ride.trip_distance!r} is larger than the model accepts "  # type: ignore[union-attr]
                f"({limit!r})",
            )
        scorable = [position for position in scorable if type(outcomes[position]) is RideEvent]
    events: list[RideEvent] = [rides[position] for position in scorable]  # type: ignore[misc]
    values = _predict_isolating(model, features_of([event.ride for event in events]))
    isfinite = math.isfinite
    for position, event, value in zip(scorable, events, values, strict=True):
        if type(value) is float and isfinite(value):
            outcomes[position] = Prediction(event.ride_id, value)
        else:
            outcomes[position] = _unpublishable(value)
    return outcomes


def _unpublishable(value: float | Rejection) -> Rejection:
    if isinstance(value, Rejection):
        return value
    return Rejection(
        RejectionCode.NON_FINITE_PREDICTION,
        f"the model predicted {value} minutes; only finite durations can be published",
    )


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
