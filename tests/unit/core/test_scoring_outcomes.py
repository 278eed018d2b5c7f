"""The core's one path from ride documents to outcomes: one outcome per document, in order; a ride the model
cannot score is rejected alone, with its code, and never stops the others."""

from __future__ import annotations

import json
import math

import pytest

from ride_scorer.core.model import FLOAT32_MAX
from ride_scorer.core.rides import Rejection, RejectionCode, read_json
from ride_scorer.core.scoring import Prediction, score_documents, score_rides
from tests.shared.fakes.models import (
    PAST_FLOAT32_DISTANCE,
    POISON_PU_DO,
    LinearRegressor,
    NonFiniteRegressor,
    PoisonRegressor,
    expected_minutes,
    fake_model,
    ride_document,
)


def codes(outcomes: list) -> list[str]:
    """`"predicted"` or the rejection's reason_code, per outcome."""
    return ["predicted" if isinstance(outcome, Prediction) else str(outcome.code) for outcome in outcomes]


def test_valid_rides_are_predicted_in_order_with_one_vectorized_call(linear_model, linear_regressor):
    documents = [ride_document(f"ride-{i}", 130 + i, 205, 1.0 + i) for i in range(5)]

    outcomes = score_documents(linear_model, documents)

    assert outcomes == [Prediction(f"ride-{i}", expected_minutes(1.0 + i)) for i in range(5)]
    assert [len(call) for call in linear_regressor.calls] == [5]


def test_no_ride_to_score_means_no_predict_call(linear_model, linear_regressor):
    assert score_rides(linear_model, []) == []
    assert score_documents(linear_model, [{"ride_id": 1}, "not a ride"]) == [
        Rejection(RejectionCode.INVALID_SCHEMA, "ride: Field required"),
        Rejection(RejectionCode.INVALID_SCHEMA, "(document): Expected `object`, got `str`"),
    ]
    assert linear_regressor.calls == []


def test_validation_rejections_pass_through_in_place_with_their_code(linear_model, linear_regressor):
    rides = [
        read_json(json.dumps(ride_document(0, 130, 205, 2.0)), 16 * 1024),
        read_json(b"{not json", 16 * 1024),
        read_json(json.dumps(ride_document(2, 130, 205, -1.0)), 16 * 1024),
        read_json(json.dumps(ride_document(3, 130, 205, 1.0)) + " " * 100, 64),
        read_json(json.dumps(ride_document(4, 131, 206, 4.0)), 16 * 1024),
    ]

    outcomes = score_rides(linear_model, rides)

    assert codes(outcomes) == ["predicted", "invalid_json", "invalid_schema", "payload_too_large", "predicted"]
    assert outcomes[0] == Prediction(0, expected_minutes(2.0))
    assert outcomes[2].reason == "ride.trip_distance: Expected a finite `float` >= 0, got -1.0"
    assert outcomes[4] == Prediction(4, expected_minutes(4.0))
    # Only the two valid rides reached the model, in one call.
    assert linear_regressor.calls == [
        [
            {"PU_DO": "130_205", "trip_distance": 2.0},
            {"PU_DO": "131_206", "trip_distance": 4.0},
        ]
    ]


def test_a_distance_past_the_model_limit_is_rejected_without_reaching_predict(linear_regressor):
    model = fake_model(linear_regressor, max_trip_distance=FLOAT32_MAX)
    documents = [
        ride_document(0, 130, 205, 2.0),
        ride_document(1, 130, 205, PAST_FLOAT32_DISTANCE),
        ride_document(2, 130, 205, FLOAT32_MAX),  # exactly the limit is still accepted
    ]

    outcomes = score_documents(model, documents)

    assert outcomes[0] == Prediction(0, expected_minutes(2.0))
    assert outcomes[1] == Rejection(
        RejectionCode.INPUT_OUT_OF_RANGE,
        f"ride.trip_distance: 1e+39 is larger than the model accepts ({FLOAT32_MAX!r})",
    )
    assert outcomes[2] == Prediction(2, expected_minutes(FLOAT32_MAX))
    assert PAST_FLOAT32_DISTANCE not in linear_regressor.seen_distances
    assert len(linear_regressor.calls) == 1


def test_an_unbounded_model_scores_any_finite_distance(linear_model):
    assert score_documents(linear_model, [ride_document(7, 1, 2, 1e300)]) == [Prediction(7, expected_minutes(1e300))]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan], ids=["inf", "-inf", "nan"])
def test_a_non_finite_prediction_is_rejected_and_the_others_kept(value):
    model = fake_model(NonFiniteRegressor({"9_9": value}))
    documents = [ride_document(0, 130, 205, 2.0), ride_document(1, 9, 9, 2.0), ride_document(2, 131, 205, 3.0)]

    outcomes = score_documents(model, documents)

    assert outcomes[0] == Prediction(0, expected_minutes(2.0))
    assert outcomes[1] == Rejection(
        RejectionCode.NON_FINITE_PREDICTION,
        f"the model predicted {value} minutes; only finite durations can be published",
    )
    assert outcomes[2] == Prediction(2, expected_minutes(3.0))


@pytest.mark.parametrize("error", [ValueError, TypeError, ZeroDivisionError, OverflowError])
def test_rides_the_model_raises_on_are_isolated_and_every_other_ride_is_predicted(error):
    regressor = PoisonRegressor(error=error)
    poisoned = {3, 17, 40}
    documents = [
        ride_document(i, 666, 666, float(i)) if i in poisoned else ride_document(i, 100 + i, 200, float(i))
        for i in range(50)
    ]

    outcomes = score_documents(fake_model(regressor), documents)

    assert len(outcomes) == 50
    for i, outcome in enumerate(outcomes):
        if i in poisoned:
            assert outcome == Rejection(
                RejectionCode.MODEL_ERROR, f"the model cannot score this ride: unknown zone pair: {POISON_PU_DO}"
            )
        else:
            assert outcome == Prediction(i, expected_minutes(float(i))), i


@pytest.mark.parametrize(("rides", "poisoned"), [(64, [10]), (100, [0, 50, 99]), (1000, [1, 2, 500, 998])])
def test_isolation_costs_about_2k_log2_n_predict_calls(rides, poisoned):
    regressor = PoisonRegressor()
    documents = [ride_document(i, 666 if i in poisoned else 1, 666 if i in poisoned else 2, 1.0) for i in range(rides)]

    outcomes = score_documents(fake_model(regressor), documents)

    assert [i for i, outcome in enumerate(outcomes) if isinstance(outcome, Rejection)] == poisoned
    calls = len(regressor.calls)
    assert 1 < calls <= 1 + 2 * len(poisoned) * math.ceil(math.log2(rides))
    # Every clean ride was scored exactly once: no ride is predicted twice into the output.
    assert sum(len(call) for call in regressor.calls if not any(f["PU_DO"] == POISON_PU_DO for f in call)) == (
        rides - len(poisoned)
    )


def test_one_poisoned_ride_among_64_costs_exactly_one_call_per_half_per_level():
    regressor = PoisonRegressor()
    documents = [ride_document(i, 666 if i == 10 else 1, 666 if i == 10 else 2, 1.0) for i in range(64)]

    score_documents(fake_model(regressor), documents)

    # The failing call, then both halves at each of the 6 levels down to the ride alone.
    assert len(regressor.calls) == 1 + 2 * 6


def test_the_model_error_reason_is_one_bounded_line():
    regressor = PoisonRegressor(message="line one\n\n   line two\t" + "x" * 1000)

    (outcome,) = score_documents(fake_model(regressor), [ride_document(0, 666, 666, 1.0)])

    assert outcome.code == RejectionCode.MODEL_ERROR
    prefix = "the model cannot score this ride: "
    assert outcome.reason.startswith(prefix + "line one line two xxx")
    assert "\n" not in outcome.reason and "\t" not in outcome.reason
    assert len(outcome.reason) == len(prefix) + 500


@pytest.mark.parametrize("error", [MemoryError, RuntimeError, KeyError])
def test_an_error_that_is_not_about_the_input_fails_the_call(error):
    regressor = PoisonRegressor(error=error)
    documents = [ride_document(0, 1, 2, 1.0), ride_document(1, 666, 666, 1.0)]

    with pytest.raises(error):
        score_documents(fake_model(regressor), documents)
    assert len(regressor.calls) == 1  # no bisection: the first failure propagates


def test_every_code_in_one_batch_keeps_its_place(picky_model, picky_regressor):
    documents = [
        ride_document("a", 130, 205, 1.0),
        {"ride": {"PULocationID": 1}, "ride_id": "b"},
        ride_document("c", 666, 666, 1.0),
        ride_document("d", 130, 205, PAST_FLOAT32_DISTANCE),
        ride_document("e", 777, 777, 1.0),
        ride_document("f", 131, 205, 5.0),
    ]

    outcomes = score_documents(picky_model, documents)

    assert codes(outcomes) == [
        "predicted",
        "invalid_schema",
        "model_error",
        "input_out_of_range",
        "non_finite_prediction",
        "predicted",
    ]
    assert outcomes[0] == Prediction("a", expected_minutes(1.0))
    assert outcomes[5] == Prediction("f", expected_minutes(5.0))
    assert picky_regressor.calls[0] == [
        {"PU_DO": "130_205", "trip_distance": 1.0},
        {"PU_DO": "666_666", "trip_distance": 1.0},
        {"PU_DO": "777_777", "trip_distance": 1.0},
        {"PU_DO": "131_205", "trip_distance": 5.0},
    ]


def test_a_linear_regressor_with_no_failures_is_called_once_for_a_large_batch():
    regressor = LinearRegressor()
    outcomes = score_documents(fake_model(regressor), [ride_document(i, 1, 2, i / 10) for i in range(2000)])
    assert all(isinstance(outcome, Prediction) for outcome in outcomes)
    assert [len(call) for call in regressor.calls] == [2000]
