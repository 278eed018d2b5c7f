"""The web Lambda's handler in-process: the SAM CLI's HTTP API event and AWS's Function URL event, body
base64-encoded or not, get the answers the HTTP service gives (the stream's record, JSON 400s, a 413).

The same bodies against the real gunicorn service are in integration-tests/http_service/test_lambda_parity.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from ride_scorer.core.integrity import directory_digest
from ride_scorer.core.model import load_model
from ride_scorer.core.prediction_records import prediction_record
from ride_scorer.core.settings import ConfigError
from ride_scorer.http_service import aws_lambda
from tests.shared.lambda_context import lambda_context
from tests.shared.trips import parquet_bytes
from tests.shared.web_events import KINDS, response_json, sample, web_event

MODEL_NAME = "ride-duration-web"
MAX_REQUEST_BYTES = 4096
RIDE = {"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 256}
JSON = {"content-type": "application/json"}
ENCODINGS = pytest.mark.parametrize("base64_body", [True, False], ids=["base64", "text"])
EVENT_KINDS = pytest.mark.parametrize("kind", KINDS)


@pytest.fixture
def environment(trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The function's environment as infra/templates/web.yaml sets it, and a fresh container."""
    monkeypatch.setenv("MODEL_LOCATION", str(trained_model_dir))
    monkeypatch.setenv("MODEL_SHA256", directory_digest(trained_model_dir))
    monkeypatch.setenv("MODEL_NAME", MODEL_NAME)
    monkeypatch.setenv("MAX_REQUEST_BYTES", str(MAX_REQUEST_BYTES))
    monkeypatch.delenv("ALLOW_UNPINNED_MODEL", raising=False)
    aws_lambda.reset()
    yield
    aws_lambda.reset()


@pytest.fixture(scope="module")
def model(trained_model_dir: Path):
    return load_model(trained_model_dir)


def invoke(event: dict) -> dict:
    return aws_lambda.handler(event, lambda_context())


def expected(model, ride_id, pickup, dropoff, distance) -> dict:
    duration = float(model.regressor.predict([{"PU_DO": f"{pickup}_{dropoff}", "trip_distance": float(distance)}])[0])
    return prediction_record(MODEL_NAME, model.version, ride_id, duration)


@EVENT_KINDS
def test_the_committed_sample_event_is_scored_as_it_is(environment, model, kind):
    """The samples carry one real ride: `sam local invoke -e events/web/...` gets its prediction."""
    response = invoke(sample(kind))
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    assert response["isBase64Encoded"] is False
    assert response_json(response) == expected(model, 256, 130, 205, 3.66)


@EVENT_KINDS
@ENCODINGS
def test_a_list_of_rides_gets_the_stream_records_in_order(environment, model, kind, base64_body):
    rides = [{**RIDE, "ride_id": f"r-{i}", "ride": {**RIDE["ride"], "trip_distance": i / 2}} for i in range(20)]
    response = invoke(web_event(kind, json.dumps(rides).encode(), headers=JSON, base64_body=base64_body))
    assert response["statusCode"] == 200
    assert response_json(response) == [expected(model, f"r-{i}", 130, 205, i / 2) for i in range(20)]
    assert list(json.loads(response["body"])[0]) == ["model", "version", "prediction"]  # the stream's key order


COLUMNS = ["PULocationID", "DOLocationID", "trip_distance"]
# What a client of `mlflow models serve` sends, as API Gateway hands it over (binary parquet always base64).
FRAMES = {
    "json": (
        "application/json",
        json.dumps({"dataframe_split": {"columns": COLUMNS, "data": [[130, 205, 3.66], ["074", 75, 1]]}}).encode(),
    ),
    "csv": ("text/csv", b"PULocationID,DOLocationID,trip_distance\n130,205,3.66\n074,75,1\n"),
    "parquet": (
        "application/vnd.apache.parquet",
        parquet_bytes(pa.table({"PULocationID": [130, 74], "DOLocationID": [205, 75], "trip_distance": [3.66, 1.0]})),
    ),
}


@EVENT_KINDS
@pytest.mark.parametrize(
    ("frame", "base64_body"),
    [("json", True), ("json", False), ("csv", True), ("csv", False), ("parquet", True)],
    ids=["json-base64", "json-text", "csv-base64", "csv-text", "parquet-base64"],
)
def test_mlflows_scoring_protocol_answers_on_lambda(environment, model, kind, frame, base64_body):
    content_type, body = FRAMES[frame]
    headers = {"content-type": content_type}
    response = invoke(web_event(kind, body, headers=headers, path="/invocations", base64_body=base64_body))
    assert response["statusCode"] == 200
    durations = [expected(model, 0, 130, 205, 3.66), expected(model, 0, 74, 75, 1.0)]
    assert response_json(response) == {"predictions": [record["prediction"]["ride_duration"] for record in durations]}
    ping = invoke(web_event(kind, None, method="GET", path="/ping"))
    assert (ping["statusCode"], response_json(ping)) == (200, {"status": "ok"})


@EVENT_KINDS
def test_health_names_the_model(environment, model, trained_model_dir, kind):
    response = invoke(web_event(kind, None, method="GET", path="/health"))
    assert response["statusCode"] == 200
    assert response_json(response) == {
        "status": "ok",
        "model": MODEL_NAME,
        "version": model.version,
        "digest": directory_digest(trained_model_dir),
    }


@EVENT_KINDS
@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"ride": ', {"code": "invalid_json", "message": "the body is not JSON: Input data was truncated"}),
        (
            b"",
            {
                "code": "invalid_json",
                "message": "the body is empty: send one ride event or a list of them",
                "example": RIDE,
            },
        ),
        (
            b"42",
            {
                "code": "invalid_schema",
                "message": "the body is a JSON number; send one ride event (an object) or a list of them",
                "example": RIDE,
            },
        ),
        (
            json.dumps([RIDE, {"ride": RIDE["ride"]}]).encode(),
            {
                "code": "invalid_schema",
                "message": "1 of 2 rides are invalid; none was scored",
                "rides": [{"index": 1, "code": "invalid_schema", "message": "ride_id: Field required"}],
            },
        ),
    ],
    ids=["truncated", "empty", "number", "list-with-a-bad-ride"],
)
def test_malformed_input_is_a_400_that_says_what_is_wrong(environment, kind, body, error):
    response = invoke(web_event(kind, body, headers=JSON))
    assert (response["statusCode"], response_json(response)) == (400, {"error": error})
    assert response["headers"]["content-type"] == "application/json"


def test_a_body_that_is_not_utf8_arrives_base64_encoded_and_is_a_400(environment):
    """API Gateway base64-encodes a body that is not text; the decoded bytes are refused as gunicorn refuses them."""
    response = invoke(web_event("http-api-proxy", b"\xff\xfe\x00", headers=JSON, base64_body=True))
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["code"] == "invalid_json"


@EVENT_KINDS
@ENCODINGS
def test_a_body_at_the_limit_is_read_and_one_byte_more_is_a_413(environment, kind, base64_body):
    at_limit = b"[" + b" " * (MAX_REQUEST_BYTES - 2) + b"]"
    response = invoke(web_event(kind, at_limit, base64_body=base64_body))
    assert (response["statusCode"], response_json(response)) == (200, [])
    response = invoke(web_event(kind, at_limit + b" ", base64_body=base64_body))
    assert response["statusCode"] == 413
    assert response_json(response) == {
        "error": {
            "code": "request_entity_too_large",
            "message": f"the body is larger than {MAX_REQUEST_BYTES} bytes (MAX_REQUEST_BYTES)",
        }
    }


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [("GET", "/predict", 405, "method_not_allowed"), ("GET", "/x", 404, "not_found")],
)
def test_other_routes_and_methods_answer_in_json(environment, method, path, status, code):
    response = invoke(web_event("http-api-proxy", None, method=method, path=path))
    assert (response["statusCode"], response_json(response)["error"]["code"]) == (status, code)


def test_the_model_is_loaded_once_per_container(environment, monkeypatch, model):
    assert invoke(sample("function-url"))["statusCode"] == 200
    # Settings are not read again: a warm container keeps serving the model it loaded.
    monkeypatch.setenv("MODEL_LOCATION", "/nonexistent/model")
    assert response_json(invoke(sample("function-url"))) == expected(model, 256, 130, 205, 3.66)
    aws_lambda.reset()  # a new container reads the environment again
    with pytest.raises(Exception, match="/nonexistent/model"):
        invoke(sample("function-url"))


def test_a_missing_pin_fails_the_invocation_naming_the_variable(environment, monkeypatch):
    """A function error (API Gateway answers 500, the 5xx alarm fires) whose message names MODEL_SHA256."""
    monkeypatch.delenv("MODEL_SHA256")
    with pytest.raises(ConfigError, match=r"^MODEL_SHA256 is not set"):
        invoke(sample("http-api-proxy"))
