"""Turn an HTTP request body into validated ride events, or into a 400 that says exactly what is wrong.

The body is one stream event (`{"ride": {...}, "ride_id": ...}`) or a JSON list of them; each is read by
the core's rules. A list is all-or-nothing: if any ride is rejected (invalid, or one the model cannot
score), none is answered and the error lists the rejected rides by index with their `reason_code`, so a
client fixes them in one round trip. An error stays small and cheap whatever the body: it lists at most
`LISTED_RIDES` rides. Reading stops at the last one listed (the error counts the rides not checked), so a
body of half a million bad rides costs about what parsing it costs, not half a million reasons.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from ride_scorer.core.rides import ReadRide, Rejection, RejectionCode, RideEvent, read_json

_Item = TypeVar("_Item")

# The body's outer shape only: each ride stays raw bytes and is then read exactly as a stream record is, so
# a ride gets the same outcome here as on the stream (what the stream ignores, such as an unknown field
# holding 1e400, is ignored here too).
_body_decoder = msgspec.json.Decoder(list[msgspec.Raw] | dict[str, msgspec.Raw])
LISTED_RIDES = 100
# What a client sending the wrong shape is shown (the stream's event, the README's example).
EVENT_EXAMPLE = {"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 256}
MLFLOW_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_JSON_TYPES = {"str": "string", "int": "number", "float": "number", "bool": "boolean", "null": "null"}
_FOUND_TYPE = re.compile(r"got `(?P<type>\w+)`")


@dataclass(frozen=True)
class RideProblem:
    index: int
    code: str
    message: str


class BadRequest(Exception):
    """Rendered as a 400 JSON body by the app."""

    def __init__(
        self,
        code: str,
        message: str,
        rides: list[RideProblem] | None = None,
        *,
        unlisted: dict[str, int] | None = None,
        example: object = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.rides = rides or []
        self.unlisted = unlisted or {}
        self.example = example

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.rides:
            error["rides"] = [{"index": p.index, "code": p.code, "message": p.message} for p in self.rides]
        error.update(self.unlisted)
        if self.example is not None:
            error["example"] = self.example
        return {"error": error}


@dataclass(frozen=True)
class PredictRequest:
    events: list[RideEvent]
    is_list: bool


def parse_predict_body(raw: bytes) -> PredictRequest:
    if not raw.strip():
        raise BadRequest(
            str(RejectionCode.INVALID_JSON),
            "the body is empty: send one ride event or a list of them",
            example=EVENT_EXAMPLE,
        )
    try:
        raw.decode("utf-8")  # as on the stream: the whole body must be UTF-8, ignored parts included
        document = _body_decoder.decode(raw)
    except msgspec.ValidationError as error:  # valid JSON, but neither an object nor a list
        found = _FOUND_TYPE.search(str(error))
        raise BadRequest(
            str(RejectionCode.INVALID_SCHEMA),
            f"the body is a JSON {_JSON_TYPES.get(found['type'] if found else '', 'value')}; "
            "send one ride event (an object) or a list of them",
            example=EVENT_EXAMPLE,
        ) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as error:
        raise BadRequest(str(RejectionCode.INVALID_JSON), f"the body is not JSON: {error}") from None
    if isinstance(document, dict):
        ride = read_json(raw, max_bytes=len(raw))
        if isinstance(ride, Rejection):
            raise _rejected_event(ride, document)
        return PredictRequest([ride], is_list=False)
    return PredictRequest(read_all(document, lambda item: read_json(bytes(item), max_bytes=len(raw))), is_list=True)


def read_all(items: Sequence[_Item], read: Callable[[_Item], ReadRide], noun: str = "rides") -> list[RideEvent]:
    """Every item read by the core's rules, all valid; else a BadRequest naming the rejected ones by index.
    Reading stops at the `LISTED_RIDES`-th rejected one: the error counts the items not checked."""
    events: list[RideEvent] = []
    rejections: list[tuple[int, Rejection]] = []
    for index, item in enumerate(items):
        ride = read(item)
        if isinstance(ride, RideEvent):
            events.append(ride)
            continue
        rejections.append((index, ride))
        if len(rejections) == LISTED_RIDES and index + 1 < len(items):
            raise stopped_early(rejections, len(items), len(items) - index - 1, noun)
    if rejections:
        raise rejected_rides(rejections, len(items), is_list=True, noun=noun)
    return events


def _rejected_event(rejection: Rejection, document: dict[str, msgspec.Raw]) -> BadRequest:
    """A single event's rejection; when the body is not even shaped like an event, with an example of one."""
    if rejection.code is not RejectionCode.INVALID_SCHEMA or ("ride" in document and "ride_id" in document):
        return BadRequest(str(rejection.code), rejection.reason)
    message = rejection.reason
    if any(key in document for key in MLFLOW_FORMATS):
        message += "; this is MLflow's scoring protocol: POST it to /invocations, or send a ride event here"
    return BadRequest(str(rejection.code), message, example=EVENT_EXAMPLE)


def rejected_rides(
    rejections: list[tuple[int, Rejection]], total: int, is_list: bool, noun: str = "rides"
) -> BadRequest:
    """One ride: its own code and reason. A list: the first `LISTED_RIDES` rejected rides by index, under the
    first one's code, and how many more there are."""
    (_, first), *_ = rejections
    if not is_list:
        return BadRequest(str(first.code), first.reason)
    problems = [RideProblem(index, str(rejection.code), rejection.reason) for index, rejection in rejections]
    unlisted = len(problems) - LISTED_RIDES
    message = f"{len(problems)} of {total} {noun} are invalid; none was scored"
    if unlisted <= 0:
        return BadRequest(str(first.code), message, problems)
    message += f" (the first {LISTED_RIDES} are listed)"
    return BadRequest(str(first.code), message, problems[:LISTED_RIDES], unlisted={f"{noun}_not_listed": unlisted})


def stopped_early(
    rejections: list[tuple[int, Rejection]], total: int, unchecked: int, noun: str = "rides"
) -> BadRequest:
    """Reading stopped at the `LISTED_RIDES`-th rejected ride: those are listed, the rest not checked."""
    (_, first), *_ = rejections
    problems = [RideProblem(index, str(rejection.code), rejection.reason) for index, rejection in rejections]
    message = (
        f"at least {len(problems)} of {total} {noun} are invalid; none was scored (the first {len(problems)} are "
        f"listed; the {unchecked} after the last one listed were not checked)"
    )
    return BadRequest(str(first.code), message, problems, unlisted={f"{noun}_not_checked": unchecked})
