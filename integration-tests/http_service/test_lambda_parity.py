"""The web Lambda answers as gunicorn does: the same request bodies, sent to the real gunicorn service over
loopback HTTP and to the Lambda handler in-process as API Gateway HTTP API and Function URL events (body as
text or base64-encoded), get the same status, the same Content-Type and the same JSON.

A sample, not the full cross product: each body is sent once, in one of the four event shapes (kind x body
encoding), taken in turn so every shape carries several bodies. The adapter's decoding of each shape is
tested exhaustively in-process (tests/unit/http_service/test_aws_lambda.py); what this adds is the proof that
the answers are gunicorn's own."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow.parquet as pq
import pytest
import requests

from ride_scorer.http_service import aws_lambda
from tests.shared.lambda_context import lambda_context
from tests.shared.paths import DATA
from tests.shared.web_events import KINDS, response_json, web_event
from tests.shared.web_service import MAX_REQUEST_BYTES

RIDE = {"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 256}
JSON = {"Content-Type": "application/json"}


def real_rides(count: int) -> list[dict]:
    rows = pq.read_table(DATA / "green_tripdata_2023-01.parquet").slice(0, count).to_pylist()
    keys = ("PULocationID", "DOLocationID", "trip_distance")
    return [{"ride": {key: row[key] for key in keys}, "ride_id": f"2023-01/{i}"} for i, row in enumerate(rows)]


AT_LIMIT = b"[" + b" " * (MAX_REQUEST_BYTES - 2) + b"]"
# (name, body, headers, status): what a client sends, and the status gunicorn gives it; the Lambda must match.
REQUESTS = [
    ("one-ride", json.dumps(RIDE).encode(), JSON, 200),
    ("a-batch-of-500-real-rides", json.dumps(real_rides(500)).encode(), JSON, 200),
    ("invalid-json", b'{"ride": ', JSON, 400),
    ("a-number", b"42", JSON, 400),
    ("a-bad-ride", json.dumps({**RIDE, "ride": {**RIDE["ride"], "trip_distance": "far"}}).encode(), JSON, 400),
    ("a-list-with-a-bad-ride", json.dumps([RIDE, {"ride": RIDE["ride"]}]).encode(), JSON, 400),
    ("negative-distance", json.dumps({**RIDE, "ride": {**RIDE["ride"], "trip_distance": -1}}).encode(), JSON, 400),
    ("empty", b"", JSON, 400),
    ("wrong-content-type", json.dumps(RIDE).encode(), {"Content-Type": "text/plain"}, 200),
    ("form-content-type", json.dumps(RIDE).encode(), {"Content-Type": "application/x-www-form-urlencoded"}, 200),
    ("no-content-type", json.dumps(RIDE).encode(), {}, 200),
    ("at-the-size-limit", AT_LIMIT, JSON, 200),
    ("one-byte-over-the-limit", AT_LIMIT + b" ", JSON, 413),
    ("far-over-the-limit", b"[" + b"0," * MAX_REQUEST_BYTES + b"0]", JSON, 413),
]


# Each event shape (API Gateway kind, body base64-encoded or not) in turn.
SHAPES = [(kind, base64_body) for kind in KINDS for base64_body in (True, False)]
SAMPLE = [
    pytest.param(*request, kind, base64_body, id=f"{request[0]}-{kind}-{'base64' if base64_body else 'text'}")
    for request, (kind, base64_body) in zip(REQUESTS, SHAPES * len(REQUESTS), strict=False)
]


@pytest.fixture
def lambda_handler(web_service, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The service's environment (infra/templates/web.yaml sets the same variables) and a fresh container."""
    for name, value in web_service.environment.items():
        monkeypatch.setenv(name, value)
    aws_lambda.reset()
    yield
    aws_lambda.reset()


def gunicorn_answer(url: str, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple:
    response = requests.request(method, f"{url}{path}", data=body, headers=headers, timeout=60)
    return response.status_code, response.headers["Content-Type"], response.json()


def lambda_answer(kind: str, method: str, path: str, body: bytes | None, headers: dict, base64_body: bool) -> tuple:
    lowered = {name.lower(): value for name, value in headers.items()}  # API Gateway lower-cases header names
    event = web_event(kind, body, method=method, path=path, headers=lowered, base64_body=base64_body)
    response = aws_lambda.handler(event, lambda_context())
    return response["statusCode"], response["headers"]["content-type"], response_json(response)


@pytest.mark.parametrize(("name", "body", "headers", "status", "kind", "base64_body"), SAMPLE)
def test_the_lambda_answers_each_body_as_gunicorn_does(
    service, lambda_handler, name, body, headers, status, kind, base64_body
):
    expected = gunicorn_answer(service, "POST", "/predict", body, headers)
    assert expected[0] == status  # what the parity covers: predictions, each kind of 400, the 413
    assert lambda_answer(kind, "POST", "/predict", body, headers, base64_body) == expected


def test_a_body_that_is_not_utf8_is_the_same_400(service, lambda_handler):
    """Not text: API Gateway delivers it base64-encoded."""
    kind = "function-url"
    body = json.dumps(RIDE).encode() + b"\xff"
    expected = gunicorn_answer(service, "POST", "/predict", body, JSON)
    assert expected[0] == 400
    assert lambda_answer(kind, "POST", "/predict", body, JSON, base64_body=True) == expected


def test_health_is_the_same(service, lambda_handler):
    kind = "http-api-proxy"
    expected = gunicorn_answer(service, "GET", "/health", None, {})
    assert expected[0] == 200
    assert lambda_answer(kind, "GET", "/health", None, {}, base64_body=False) == expected
