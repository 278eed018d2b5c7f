"""What `load_model` learns about a model before scoring with it: the largest distance it accepts, and whether it
can score an ordinary ride at all (a model that cannot is refused at load, not discovered ride by ride)."""

from __future__ import annotations

import math

import pytest

from ride_scorer.core.model import (
    FLOAT32_MAX,
    PAST_FLOAT32,
    REFERENCE_RIDE,
    ModelLoadError,
    accepted_input_limit,
    load_model,
)
from ride_scorer.core.rides import Rejection, RejectionCode
from ride_scorer.core.scoring import Prediction, score_documents
from tests.shared.fakes.models import (
    PAST_FLOAT32_DISTANCE,
    ConstantRegressor,
    Float32Regressor,
    LinearRegressor,
    RaisingRegressor,
    expected_minutes,
    ride_document,
    write_mlflow_model,
)


def test_a_model_that_refuses_a_distance_past_float32_accepts_up_to_float32_max():
    assert accepted_input_limit(Float32Regressor()) == FLOAT32_MAX


class TypeErrorOnHugeDistance(LinearRegressor):
    def predict(self, features):
        if any(feature["trip_distance"] > FLOAT32_MAX for feature in features):
            raise TypeError("cannot cast")
        return super().predict(features)


def test_a_model_that_refuses_a_huge_distance_with_a_type_error_is_bounded_too():
    """Scoring treats TypeError as a ride the model refuses; the probe must agree, not crash the load."""
    assert accepted_input_limit(TypeErrorOnHugeDistance()) == FLOAT32_MAX


def test_a_model_that_takes_any_distance_is_unbounded():
    assert accepted_input_limit(LinearRegressor()) == math.inf


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_the_limits_match_real_scikit_learn_pipelines():
    """The premise behind the probe: the project's tree models raise past float32, its linear ones do not."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.tree import DecisionTreeRegressor

    features = [{"PU_DO": "1_2", "trip_distance": 1.0}, {"PU_DO": "236_237", "trip_distance": 2.0}, REFERENCE_RIDE]
    target = [5.0, 7.0, 6.0]
    tree = make_pipeline(DictVectorizer(), DecisionTreeRegressor()).fit(features, target)
    linear = make_pipeline(DictVectorizer(), LinearRegression()).fit(features, target)

    assert accepted_input_limit(tree) == FLOAT32_MAX
    assert accepted_input_limit(linear) == math.inf


def test_load_model_reads_the_version_and_the_limit(tmp_path):
    directory = write_mlflow_model(tmp_path / "model", Float32Regressor(), run_id="run-float32")

    model = load_model(directory)

    assert model.version == "run-float32"
    assert model.metadata.digest is None
    assert model.max_trip_distance == FLOAT32_MAX
    assert isinstance(model.regressor, Float32Regressor)


def test_a_loaded_float32_model_rejects_a_ride_past_its_limit_and_scores_the_rest(tmp_path):
    model = load_model(write_mlflow_model(tmp_path / "model", Float32Regressor()))

    outcomes = score_documents(
        model, [ride_document(1, 130, 205, 2.5), ride_document(2, 130, 205, PAST_FLOAT32_DISTANCE)]
    )

    assert outcomes[0] == Prediction(1, expected_minutes(2.5))
    assert isinstance(outcomes[1], Rejection) and outcomes[1].code == RejectionCode.INPUT_OUT_OF_RANGE
    # Load made two calls (the reference ride, then the probe past float32); scoring sent only the 2.5-mile ride.
    assert model.regressor.calls == [
        [REFERENCE_RIDE],
        [{**REFERENCE_RIDE, "trip_distance": PAST_FLOAT32}],
        [{"PU_DO": "130_205", "trip_distance": 2.5}],
    ]


def test_a_loaded_linear_model_scores_any_finite_distance(tmp_path):
    model = load_model(write_mlflow_model(tmp_path / "model", LinearRegressor()))

    assert model.max_trip_distance == math.inf
    assert score_documents(model, [ride_document(1, 130, 205, PAST_FLOAT32_DISTANCE)]) == [
        Prediction(1, expected_minutes(PAST_FLOAT32_DISTANCE))
    ]


@pytest.mark.parametrize(
    ("regressor", "why"),
    [
        (RaisingRegressor(ValueError, "unknown zone pair"), "ValueError: unknown zone pair"),
        (RaisingRegressor(KeyError, "PU_DO"), "KeyError: 'PU_DO'"),
        (RaisingRegressor(RuntimeError, "model was never fitted"), "RuntimeError: model was never fitted"),
        (ConstantRegressor([]), "ValueError: it returned 0 values for one ride"),
        (ConstantRegressor([1.0, 2.0]), "ValueError: it returned 2 values for one ride"),
        (ConstantRegressor(["soon"]), "ValueError: could not convert string to float: 'soon'"),
        (ConstantRegressor(None), "TypeError: object of type 'NoneType' has no len()"),
    ],
    ids=["raises-value", "raises-key", "raises-runtime", "no-value", "two-values", "not-a-number", "none"],
)
def test_a_model_that_cannot_score_the_reference_ride_is_refused_at_load(tmp_path, regressor, why):
    directory = write_mlflow_model(tmp_path / "model", regressor)

    with pytest.raises(ModelLoadError) as refused:
        load_model(directory)

    assert str(refused.value) == f"model at {directory} cannot score a reference ride {REFERENCE_RIDE}: {why}"


def test_an_object_without_predict_is_refused_before_the_reference_ride(tmp_path):
    directory = write_mlflow_model(tmp_path / "model", {"not": "a model"})

    with pytest.raises(ModelLoadError, match="holds a dict, not a model"):
        load_model(directory)


@pytest.mark.parametrize("value", [math.nan, math.inf], ids=["nan", "inf"])
def test_a_model_that_predicts_a_non_finite_duration_for_the_reference_ride_is_refused(tmp_path, value):
    """Otherwise such a model would load and then reject every ride as non_finite_prediction."""
    directory = write_mlflow_model(tmp_path / "model", ConstantRegressor([value]))

    with pytest.raises(ModelLoadError, match="cannot score a reference ride"):
        load_model(directory)
