"""The HTTP service as users run it: gunicorn with the project's config (the session's `service`, in this
folder's conftest), called over real HTTP on loopback."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest
import requests

from ride_scorer.core.integrity import directory_digest
from ride_scorer.core.model import load_model
from ride_scorer.core.prediction_records import prediction_record
from tests.shared.paths import DATA
from tests.shared.web_service import MAX_REQUEST_BYTES, MODEL_NAME
from training.ride_duration_pyfunc import RIDE_COLUMNS, RideDurationPyfunc

RIDE = {"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 256}
JSON_TYPE = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def model(trained_model_dir):
    return load_model(trained_model_dir)


def expected(model, ride_id, pickup, dropoff, distance) -> dict:
    duration = float(model.regressor.predict([{"PU_DO": f"{pickup}_{dropoff}", "trip_distance": float(distance)}])[0])
    return prediction_record(MODEL_NAME, model.version, ride_id, duration)


def test_health_names_the_model(service, model, trained_model_dir):
    response = requests.get(f"{service}/health", timeout=10)
    assert response.status_code == 200
    digest = directory_digest(trained_model_dir)  # the pinned, verified digest
    assert response.json() == {"status": "ok", "model": MODEL_NAME, "version": model.version, "digest": digest}


def test_one_ride_gets_the_stream_record(service, model):
    response = requests.post(f"{service}/predict", json=RIDE, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == expected(model, 256, 130, 205, 3.66)
    assert list(response.json()) == ["model", "version", "prediction"]  # the stream's key order


def test_a_thousand_real_rides_in_one_request(service, model):
    rides = pq.read_table(DATA / "green_tripdata_2023-01.parquet").slice(0, 1000).to_pylist()
    body = [
        {"ride": {k: ride[k] for k in ("PULocationID", "DOLocationID", "trip_distance")}, "ride_id": f"2023-01/{i}"}
        for i, ride in enumerate(rides)
    ]
    response = requests.post(f"{service}/predict", json=body, timeout=60)
    assert response.status_code == 200
    assert response.json() == [
        expected(model, f"2023-01/{i}", r["PULocationID"], r["DOLocationID"], r["trip_distance"])
        for i, r in enumerate(rides)
    ]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            b'{"ride": ',
            {"code": "invalid_json", "message": "the body is not JSON: Input data was truncated"},
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
            json.dumps({**RIDE, "ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": "far"}}).encode(),
            {"code": "invalid_schema", "message": "ride.trip_distance: Expected `float`, got `str`"},
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
)
def test_malformed_input_is_a_400_that_says_what_is_wrong(service, body, error):
    response = requests.post(f"{service}/predict", data=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": error}


def test_a_body_at_the_limit_is_read_and_one_byte_more_is_a_413(service):
    at_limit = b"[" + b" " * (MAX_REQUEST_BYTES - 2) + b"]"
    assert requests.post(f"{service}/predict", data=at_limit, timeout=10).json() == []
    response = requests.post(f"{service}/predict", data=at_limit + b" ", timeout=10)
    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "request_entity_too_large",
            "message": f"the body is larger than {MAX_REQUEST_BYTES} bytes (MAX_REQUEST_BYTES)",
        }
    }


def test_a_chunked_body_without_content_length_is_bounded_too(service):
    """werkzeug would cut a chunked body at the limit silently; the service must refuse it instead."""

    def chunks():
        yield b"["
        for _ in range(MAX_REQUEST_BYTES // 1024 + 1):
            yield b" " * 1024
        yield b"]"

    response = requests.post(f"{service}/predict", data=chunks(), timeout=10)
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_entity_too_large"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/predict", 405, "method_not_allowed"),
        ("POST", "/health", 405, "method_not_allowed"),
        ("GET", "/x", 404, "not_found"),
    ],
)
def test_other_routes_and_methods_answer_in_json(service, method, path, status, code):
    response = requests.request(method, f"{service}{path}", timeout=10)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


@pytest.mark.parametrize("path", ["/predict", "/invocations", "/health"])
def test_options_is_a_204_with_the_allowed_methods(service, path):
    """It was a 200 with an empty text/html body."""
    response = requests.options(f"{service}{path}", timeout=10)
    assert (response.status_code, response.content, "Content-Type" in response.headers) == (204, b"", False)
    expected = {"GET", "HEAD", "OPTIONS"} if path == "/health" else {"POST", "OPTIONS"}
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == expected


def test_mlflows_own_scoring_client_gets_the_pyfuncs_floats(service, model):
    """What MLflow's clients send (ScoringServerClient, which spark_udf and `mlflow models serve` users call;
    the serving input example MLflow writes beside a logged model), answered as `mlflow models serve` would."""
    from mlflow.models import convert_input_example_to_serving_input
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    address = urlsplit(service)
    client = ScoringServerClient(address.hostname, address.port)
    client.wait_server_ready(timeout=10)  # GET /ping
    frame = pq.read_table(DATA / "green_tripdata_2023-01.parquet", columns=list(RIDE_COLUMNS)).to_pandas().head(500)
    expected = RideDurationPyfunc(model.regressor).predict(frame).tolist()

    assert client.invoke(frame).get_predictions(predictions_format="ndarray").tolist() == expected
    example = convert_input_example_to_serving_input(frame.head(5))
    response = requests.post(f"{service}/invocations", data=example, headers=JSON_TYPE, timeout=10)
    assert response.json() == {"predictions": expected[:5]}

    frame.loc[3, "trip_distance"] = -1.0
    with pytest.raises(Exception, match=r"Invocation failed \(error code 400, .*\"index\":3,"):
        client.invoke(frame)
