"""The HTTP service in-process: a ride the model cannot score is a 400 that names its reason_code, never a 500
and never a body with Infinity or NaN; valid rides are still answered with strict JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ride_scorer.core.model import FLOAT32_MAX
from ride_scorer.core.settings import ModelSettings
from ride_scorer.http_service.answer_size import MAX_ANSWER_BYTES
from ride_scorer.http_service.app import create_app
from ride_scorer.http_service.request_body import LISTED_RIDES
from ride_scorer.http_service.settings import ServiceSettings
from tests.shared.fakes.models import (
    FAKE_VERSION,
    PAST_FLOAT32_DISTANCE,
    POISON_PU_DO,
    PoisonRegressor,
    RaisingRegressor,
    expected_minutes,
    fake_model,
    ride_document,
)

MODEL_NAME = "ride_duration_prediction_model"

OUT_OF_RANGE = ride_document(11, 130, 205, PAST_FLOAT32_DISTANCE)
POISONED = ride_document(12, 666, 666, 2.0)
INFINITE = ride_document(13, 777, 777, 2.0)
VALID = ride_document(14, 130, 205, 2.0)

REJECTED_RIDES = {
    "input_out_of_range": (
        OUT_OF_RANGE,
        f"ride.trip_distance: 1e+39 is larger than the model accepts ({FLOAT32_MAX!r})",
    ),
    "model_error": (POISONED, f"the model cannot score this ride: unknown zone pair: {POISON_PU_DO}"),
    "non_finite_prediction": (
        INFINITE,
        "the model predicted inf minutes; only finite durations can be published",
    ),
}


def _refuse_constant(name: str) -> Any:
    raise AssertionError(f"the body is not strict JSON: it contains {name}")


def strict_json(response) -> Any:
    """The body as a strict JSON parser reads it: Infinity, -Infinity and NaN fail the test."""
    assert response.mimetype == "application/json"
    return json.loads(response.get_data(as_text=True), parse_constant=_refuse_constant)


def post(client, body: object):
    return client.post("/predict", data=json.dumps(body), content_type="application/json")


def record(ride_id: int, trip_distance: float) -> dict[str, Any]:
    return {
        "model": MODEL_NAME,
        "version": FAKE_VERSION,
        "prediction": {"ride_duration": expected_minutes(trip_distance), "ride_id": ride_id},
    }


@pytest.mark.parametrize("code", sorted(REJECTED_RIDES))
def test_one_ride_the_model_rejects_is_a_400_with_its_code(picky_client, code):
    ride, message = REJECTED_RIDES[code]

    response = post(picky_client, ride)

    assert response.status_code == 400
    assert strict_json(response) == {"error": {"code": code, "message": message}}


@pytest.mark.parametrize("code", sorted(REJECTED_RIDES))
def test_a_list_with_one_rejected_ride_is_a_400_listing_it_by_index(picky_client, code):
    ride, message = REJECTED_RIDES[code]

    response = post(picky_client, [VALID, ride, ride_document(15, 131, 205, 3.0)])

    assert response.status_code == 400
    assert strict_json(response) == {
        "error": {
            "code": code,
            "message": "1 of 3 rides are invalid; none was scored",
            "rides": [{"index": 1, "code": code, "message": message}],
        }
    }


def test_a_list_names_every_model_stage_rejection_under_the_first_ones_code(picky_client):
    response = post(picky_client, [INFINITE, VALID, OUT_OF_RANGE, POISONED])

    assert response.status_code == 400
    body = strict_json(response)
    assert body["error"]["code"] == "non_finite_prediction"
    assert body["error"]["message"] == "3 of 4 rides are invalid; none was scored"
    assert [(ride["index"], ride["code"]) for ride in body["error"]["rides"]] == [
        (0, "non_finite_prediction"),
        (2, "input_out_of_range"),
        (3, "model_error"),
    ]


def test_many_rides_the_model_rejects_are_listed_up_to_the_cap_with_a_count_of_the_rest(picky_client):
    response = post(picky_client, [VALID] + [INFINITE] * (LISTED_RIDES + 50))

    assert response.status_code == 400
    error = strict_json(response)["error"]
    rejected = LISTED_RIDES + 50
    assert (
        error["message"]
        == f"{rejected} of {rejected + 1} rides are invalid; none was scored (the first 100 are listed)"
    )
    assert [ride["index"] for ride in error["rides"]] == list(range(1, LISTED_RIDES + 1))
    assert error["rides_not_listed"] == 50


def test_a_request_whose_answer_could_outgrow_lambdas_6_mb_is_a_413_before_scoring():
    """A valid 3.2 MB body of rides with long non-ASCII ids once answered 200 with a 9.17 MB body (ids expand
    3.3x escaped); the model, which would raise, is never called."""
    model = fake_model(RaisingRegressor(AssertionError, "scored a request whose answer cannot be delivered"))
    settings = ServiceSettings(ModelSettings("unused"), max_request_bytes=8 * 1024 * 1024)
    client = create_app(settings, model=model).test_client()
    rides = [ride_document("é" * 127 + str(i % 10), 130, 205, 1.0) for i in range(7_000)]

    response = post(client, rides)

    assert response.status_code == 413
    error = strict_json(response)["error"]
    assert error["code"] == "answer_too_large"
    assert error["message"].startswith("the answer to these 7000 rides could take ")
    assert error["message"].endswith(
        f"more than the {MAX_ANSWER_BYTES} an answer may hold; send them in 2 requests or more"
    )


def test_a_valid_ride_is_answered_with_the_stream_record(picky_client):
    response = post(picky_client, VALID)

    assert response.status_code == 200
    assert strict_json(response) == record(14, 2.0)


def test_a_list_of_valid_rides_is_answered_in_order(picky_client):
    response = post(picky_client, [ride_document(1, 130, 205, 1.0), ride_document(2, 131, 206, 7.5)])

    assert response.status_code == 200
    assert strict_json(response) == [record(1, 1.0), record(2, 7.5)]


def test_the_service_keeps_answering_after_rejections(picky_client):
    for ride, _ in REJECTED_RIDES.values():
        assert post(picky_client, ride).status_code == 400
    response = post(picky_client, VALID)
    assert response.status_code == 200
    assert strict_json(response) == record(14, 2.0)


def test_a_model_failing_for_a_reason_other_than_the_input_is_a_500_not_a_rejection():
    """The contrast: a MemoryError is the service failing, not the ride; it must not become a 400."""
    model = fake_model(PoisonRegressor(error=MemoryError))
    client = create_app(ServiceSettings(ModelSettings("unused")), model=model).test_client()

    response = post(client, POISONED)

    assert response.status_code == 500
    assert strict_json(response) == {"error": {"code": "internal_error", "message": "the service failed; see its log"}}
