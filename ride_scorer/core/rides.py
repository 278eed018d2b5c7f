"""Ride events as upstream services publish them, and the one place that decides what is valid.

Every way a record can be bad maps to a `Rejection` with a machine-readable code and a human
reason, so a bad record becomes a dead-letter message instead of a failed batch.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import from_json

from ride_scorer.core.features import RideFeatures, ride_features

MAX_LOCATION_ID = 2**31 - 1
# ride_id becomes the output partition key (at most 256 characters in Kinesis).
MAX_RIDE_ID_CHARS = 128
MIN_RIDE_ID = -(2**63)
MAX_RIDE_ID = 2**63 - 1

LocationId = Annotated[int, Field(strict=True, ge=0, le=MAX_LOCATION_ID)]


def _location_text_in_range(text: str) -> str:
    """Ten digits can exceed the integer bound; text and numbers must accept the same ids."""
    if int(text) > MAX_LOCATION_ID:
        raise ValueError(f"location id must be at most {MAX_LOCATION_ID}")
    return text


LocationIdText = Annotated[
    str, StringConstraints(strict=True, pattern=r"^[0-9]{1,10}$"), AfterValidator(_location_text_in_range)
]
RideIdInt = Annotated[int, Field(strict=True, ge=MIN_RIDE_ID, le=MAX_RIDE_ID)]
RideIdText = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_RIDE_ID_CHARS)]
Distance = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]


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


class Ride(BaseModel):
    """The ride's own fields; extra fields from upstream are ignored, not rejected."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    PULocationID: LocationId | LocationIdText
    DOLocationID: LocationId | LocationIdText
    trip_distance: Distance

    def features(self) -> RideFeatures:
        return ride_features(int(self.PULocationID), int(self.DOLocationID), self.trip_distance)


class RideEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    ride: Ride
    ride_id: RideIdInt | RideIdText


@dataclass(frozen=True)
class Rejection:
    """Why one ride gets no prediction: the same code in every mode (dead letter, rejects file, HTTP 400)."""

    code: RejectionCode
    reason: str


class InvalidRide(ValueError):
    def __init__(self, rejection: Rejection) -> None:
        super().__init__(f"{rejection.code}: {rejection.reason}")
        self.rejection = rejection


def decode_base64(data: str | bytes) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidRide(Rejection(RejectionCode.INVALID_BASE64, f"data is not valid base64: {error}")) from None


def parse_ride_event(payload: bytes | str, max_bytes: int) -> RideEvent:
    """Parse one JSON ride event, bounded in size before any parsing so a huge record costs nothing."""
    size = len(payload.encode("utf-8") if isinstance(payload, str) else payload)
    if size > max_bytes:
        raise InvalidRide(
            Rejection(RejectionCode.PAYLOAD_TOO_LARGE, f"payload is {size} bytes; the limit is {max_bytes}")
        )
    try:
        return RideEvent.model_validate_json(payload)
    except ValidationError as error:
        raise InvalidRide(_rejection_from(error)) from None
    except (ValueError, RecursionError) as error:  # pydantic surfaces some parser failures this way
        raise InvalidRide(Rejection(RejectionCode.INVALID_JSON, f"data is not JSON: {error}")) from None


def parse_json(payload: bytes | str) -> Any:
    """A JSON document parsed exactly as the stream parses its records (pydantic's parser), so that what is
    not JSON there (a UTF-8 byte-order mark, a lone surrogate escape) is not JSON in any mode."""
    return from_json(payload)


def validate_ride_event(document: object) -> RideEvent:
    """Validate an already-parsed document (HTTP bodies, batch rows) with exactly the streaming rules."""
    try:
        return RideEvent.model_validate(document)
    except ValidationError as error:
        raise InvalidRide(_rejection_from(error)) from None


def decode_kinesis_data(data: str | bytes, max_bytes: int) -> RideEvent:
    return parse_ride_event(decode_base64(data), max_bytes)


def _rejection_from(error: ValidationError) -> Rejection:
    problems = error.errors(include_url=False, include_input=False)
    if any(problem["type"] == "json_invalid" for problem in problems):
        detail = "; ".join(str(problem["msg"]) for problem in problems)
        return Rejection(RejectionCode.INVALID_JSON, f"data is not JSON: {detail}")
    return Rejection(RejectionCode.INVALID_SCHEMA, _describe(problems))


def _describe(problems: list[Any]) -> str:
    # A union reports one error per branch; keep one line per field so the reason stays readable.
    seen: dict[str, str] = {}
    for problem in problems:
        location = [str(part) for part in problem["loc"] if not _is_union_branch(part)]
        field = ".".join(location) or "(document)"
        seen.setdefault(field, str(problem["msg"]))
    return "; ".join(f"{field}: {message}" for field, message in seen.items())


def _is_union_branch(part: object) -> bool:
    return isinstance(part, str) and (part in {"int", "str", "float"} or part.startswith("constrained-"))
