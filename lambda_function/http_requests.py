"""Turn an HTTP request body into validated ride events, or into a 400 that says exactly what is wrong.

The body is one stream event (`{"ride": {...}, "ride_id": ...}`) or a JSON list of them; each is checked
by the streaming rules. A list is all-or-nothing: if any ride is invalid, none is scored and the error
lists every bad ride by its index, so a client fixes them all in one round trip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lambda_function.ride_documents import validate_documents
from lambda_function.rides import RejectionCode, RideEvent

_JSON_TYPES = {str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


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
        document = json.loads(raw)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadRequest(str(RejectionCode.INVALID_JSON), f"the body is not JSON: {error}") from None
    if isinstance(document, dict):
        validated = validate_documents([document])
        if validated.rejected:
            (_, rejection), *_ = validated.rejected
            raise BadRequest(str(rejection.code), rejection.reason)
        return PredictRequest([event for _, event in validated.valid], is_list=False)
    if isinstance(document, list):
        validated = validate_documents(document)
        if validated.rejected:
            problems = [RideProblem(index, str(r.code), r.reason) for index, r in validated.rejected]
            raise BadRequest(
                str(RejectionCode.INVALID_SCHEMA),
                f"{len(problems)} of {len(document)} rides are invalid; none was scored",
                problems,
            )
        return PredictRequest([event for _, event in validated.valid], is_list=True)
    raise BadRequest(
        str(RejectionCode.INVALID_SCHEMA),
        f"the body is a JSON {_JSON_TYPES.get(type(document), 'value')}; "
        "send one ride event (an object) or a list of them",
    )
