"""Turn an HTTP request body into validated ride events, or into a 400 that says exactly what is wrong.

The body is one stream event (`{"ride": {...}, "ride_id": ...}`) or a JSON list of them; each is read by
the core's rules. A list is all-or-nothing: if any ride is rejected (invalid, or one the model cannot
score), none is answered and the error lists every rejected ride by its index with its `reason_code`, so a
client fixes them all in one round trip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import msgspec

from ride_scorer.core.rides import Rejection, RejectionCode, RideEvent, read_json

# The body's outer shape only: each ride stays raw bytes and is then read exactly as a stream record is, so
# a ride gets the same outcome here as on the stream (what the stream ignores, such as an unknown field
# holding 1e400, is ignored here too).
_body_decoder = msgspec.json.Decoder(list[msgspec.Raw] | dict[str, msgspec.Raw])
_JSON_TYPES = {"str": "string", "int": "number", "float": "number", "bool": "boolean", "null": "null"}
_FOUND_TYPE = re.compile(r"got `(?P<type>\w+)`")


@dataclass(frozen=True)
class RideProblem:
    index: int
    code: str
    message: str


class BadRequest(Exception):
    """Rendered as a 400 JSON body by the app."""

    def __init__(self, code: str, message: str, rides: list[RideProblem] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.rides = rides or []

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.rides:
            error["rides"] = [{"index": p.index, "code": p.code, "message": p.message} for p in self.rides]
        return {"error": error}


@dataclass(frozen=True)
class PredictRequest:
    events: list[RideEvent]
    is_list: bool


def parse_predict_body(raw: bytes) -> PredictRequest:
    if not raw.strip():
        raise BadRequest(str(RejectionCode.INVALID_JSON), "the body is empty: send one ride event or a list of them")
    try:
        raw.decode("utf-8")  # as on the stream: the whole body must be UTF-8, ignored parts included
        document = _body_decoder.decode(raw)
    except msgspec.ValidationError as error:  # valid JSON, but neither an object nor a list
        found = _FOUND_TYPE.search(str(error))
        raise BadRequest(
            str(RejectionCode.INVALID_SCHEMA),
            f"the body is a JSON {_JSON_TYPES.get(found['type'] if found else '', 'value')}; "
            "send one ride event (an object) or a list of them",
        ) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as error:
        raise BadRequest(str(RejectionCode.INVALID_JSON), f"the body is not JSON: {error}") from None
    is_list = isinstance(document, list)
    payloads = [bytes(item) for item in document] if isinstance(document, list) else [raw]
    rides = [read_json(payload, max_bytes=len(raw)) for payload in payloads]
    rejections = [(index, ride) for index, ride in enumerate(rides) if isinstance(ride, Rejection)]
    if rejections:
        raise rejected_rides(rejections, len(rides), is_list)
    return PredictRequest([ride for ride in rides if isinstance(ride, RideEvent)], is_list)


def rejected_rides(rejections: list[tuple[int, Rejection]], total: int, is_list: bool) -> BadRequest:
    """One ride: its own code and reason. A list: every rejected ride by index, under the first one's code."""
    (_, first), *_ = rejections
    if not is_list:
        return BadRequest(str(first.code), first.reason)
    problems = [RideProblem(index, str(rejection.code), rejection.reason) for index, rejection in rejections]
    return BadRequest(str(first.code), f"{len(problems)} of {total} rides are invalid; none was scored", problems)
