"""Ride events as upstream services publish them, and the one place that decides what is valid.

Every way a record can be bad maps to a `Rejection` with a machine-readable code and a human
reason, so a bad record becomes a dead-letter message instead of a failed batch.

Decoding and validation are msgspec's: typed Structs with constraints, decoded straight from the JSON bytes
in one pass (about ten times pydantic's cost per record here, and no pydantic import on a cold start). The
rules msgspec cannot state (a location id given as text must fit the integer bound and means that integer;
a distance must be finite) are applied in `_check_ranges`, and every mode goes through it.
"""

from __future__ import annotations

import binascii
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import msgspec

from ride_scorer.core.features import RideFeatures, ride_features

MAX_LOCATION_ID = 2**31 - 1
# ride_id becomes the output partition key (at most 256 characters in Kinesis).
MAX_RIDE_ID_CHARS = 128
MIN_RIDE_ID = -(2**63)
MAX_RIDE_ID = 2**63 - 1

LocationId = (
    Annotated[int, msgspec.Meta(ge=0, le=MAX_LOCATION_ID)] | Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,10}$")]
)
RideId = (
    Annotated[int, msgspec.Meta(ge=MIN_RIDE_ID, le=MAX_RIDE_ID)]
    | Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_RIDE_ID_CHARS)]
)


class RejectionCode(StrEnum):
    INVALID_BASE64 = "invalid_base64"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    INVALID_JSON = "invalid_json"
    INVALID_SCHEMA = "invalid_schema"
    # Valid rides the model cannot score. A value beyond what the model accepts (scikit-learn's trees cast
    # to float32) is refused before predicting; a prediction that is not finite would not be JSON; a ride on
    # which the model itself raises is isolated so the rest of its batch is still scored.
    INPUT_OUT_OF_RANGE = "input_out_of_range"
    NON_FINITE_PREDICTION = "non_finite_prediction"
    MODEL_ERROR = "model_error"


# The rejections of valid rides (the model's, not the reader's): what the domain shares count among the rides.
MODEL_REJECTIONS = frozenset(
    {RejectionCode.INPUT_OUT_OF_RANGE, RejectionCode.NON_FINITE_PREDICTION, RejectionCode.MODEL_ERROR}
)


# gc=False: a ride holds only scalars, so the collector need not track millions of them per hour.
class Ride(msgspec.Struct, frozen=True, gc=False):
    """The ride's own fields; extra fields from upstream are ignored, not rejected.

    A location id may arrive as a digit string (TLC parquet of 2021, hand-written JSON): a ride returned by
    the readers always holds the integer, so `130`, `"130"` and `"0130"` are one zone to the model."""

    PULocationID: LocationId
    DOLocationID: LocationId
    trip_distance: float

    def features(self) -> RideFeatures:
        return ride_features(self.PULocationID, self.DOLocationID, self.trip_distance)


class RideEvent(msgspec.Struct, frozen=True, gc=False):
    ride: Ride
    ride_id: RideId


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one ride gets no prediction: the same code in every mode (dead letter, rejects file, HTTP 400)."""

    code: RejectionCode
    reason: str


_event_decoder = msgspec.json.Decoder(RideEvent)
_document_decoder = msgspec.json.Decoder()
ReadRide = RideEvent | Rejection


# The readers return a rejection rather than raise it: a stream invocation reads up to 10,000 records, and
# this is most of its Python work, so each reader is one flat function with no exception on the good path.


def read_kinesis_data(data: str | bytes, max_bytes: int) -> ReadRide:
    """A Kinesis record's base64 data, as Lambda hands it over."""
    try:
        raw = binascii.a2b_base64(data, strict_mode=True)  # what base64.b64decode(validate=True) calls
    except (binascii.Error, ValueError) as error:
        return Rejection(RejectionCode.INVALID_BASE64, f"data is not valid base64: {error}")
    return read_json(raw, max_bytes)


def read_json(payload: bytes | str, max_bytes: int) -> ReadRide:
    """One JSON ride event, bounded in size before any parsing so that a huge record costs nothing."""
    raw = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    if len(raw) > max_bytes:
        return Rejection(RejectionCode.PAYLOAD_TOO_LARGE, f"payload is {len(raw)} bytes; the limit is {max_bytes}")
    try:
        # msgspec skips the fields it ignores without checking their UTF-8; the whole payload must be text.
        if not raw.isascii():
            raw.decode("utf-8")
        event = _event_decoder.decode(raw)
    except msgspec.ValidationError as error:  # before DecodeError: it is a subclass
        return _not_json(raw) or Rejection(RejectionCode.INVALID_SCHEMA, _describe(error))
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as error:
        return _json_rejection(error)
    ride = event.ride
    if type(ride.PULocationID) is int and type(ride.DOLocationID) is int and 0 <= ride.trip_distance < math.inf:
        return event  # the common case, decided without a call
    return _check_ranges(event)


def read_document(document: object) -> ReadRide:
    """An already-parsed document (an HTTP body's ride, a parquet row), by exactly the stream's rules."""
    try:
        event = msgspec.convert(document, RideEvent)
    except msgspec.ValidationError as error:
        return Rejection(RejectionCode.INVALID_SCHEMA, _describe(error))
    return _check_ranges(event)


def _not_json(raw: bytes) -> Rejection | None:
    """msgspec stops at the first wrong type; a payload that is not even JSON must still say so. Paid only
    by rejected records."""
    try:
        _document_decoder.decode(raw)
    except msgspec.ValidationError:  # well-formed, but a number beyond float's range (a DecodeError subclass)
        pass
    except (msgspec.DecodeError, RecursionError) as error:
        return _json_rejection(error)
    return None


def _json_rejection(error: Exception) -> Rejection:
    return Rejection(RejectionCode.INVALID_JSON, f"data is not JSON: {error}")


def _check_ranges(event: RideEvent) -> ReadRide:
    """The rules msgspec cannot state: a finite distance, and a location id given as text is the integer it
    spells (leading zeros and all), within the integers' bound."""
    ride = event.ride
    distance = ride.trip_distance
    if not 0 <= distance < math.inf:  # also false for NaN
        reason = f"ride.trip_distance: Expected a finite `float` >= 0, got {distance}"
        return Rejection(RejectionCode.INVALID_SCHEMA, reason)
    pickup, dropoff = int(ride.PULocationID), int(ride.DOLocationID)  # the pattern admits ASCII digits only
    for field, value in (("PULocationID", pickup), ("DOLocationID", dropoff)):
        if value > MAX_LOCATION_ID:
            return Rejection(RejectionCode.INVALID_SCHEMA, f"ride.{field}: Expected a location id <= {MAX_LOCATION_ID}")
    if type(ride.PULocationID) is int and type(ride.DOLocationID) is int:
        return event
    return RideEvent(Ride(pickup, dropoff, distance), event.ride_id)


# msgspec says "<what was expected> - at `$.path`" and names a missing field in the message.
_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]*)`$")


def _describe(error: msgspec.ValidationError) -> str:
    """`field.path: what was expected`, the way the reason reads in every mode."""
    found = _AT_PATH.match(str(error))
    message, path = (found["message"], found["path"] or "") if found else (str(error), "")
    field = path.lstrip(".")
    missing = _MISSING.match(message)
    if missing:
        field, message = ".".join(filter(None, (field, missing["field"]))), "Field required"
    return f"{field or '(document)'}: {message}"
