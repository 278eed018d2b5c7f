"""What `load_model` learns about a model before scoring with it: the largest distance it accepts, and whether it
can score an ordinary ride at all (a model that cannot is refused at load, not discovered ride by ride)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from ride_scorer.core.features import ride_features
from ride_scorer.core.model import (
    FLOAT32_MAX,
    REFERENCE_RIDE,
    ModelLoadError,
    accepted_input_limit,
    load_model,
)
from ride_scorer.core.model_files import FORM_ARRAYS
from ride_scorer.core.rides import Rejection, RejectionCode
from ride_scorer.core.scoring import Prediction, score_documents
from ride_scorer.core.scoring_form import read_form
from tests.shared.fakes.models import (
    PAST_FLOAT32_DISTANCE,
    Float32Regressor,
    LinearRegressor,
    expected_minutes,
    rewrite_form_arrays,
    ride_document,
    write_mlflow_model,
)
from training.scoring_form import write_scoring_form


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


def test_the_limits_match_real_scikit_learn_pipelines_and_their_scoring_forms(tmp_path):
    """The premise behind the probe: the project's tree models raise past float32, its linear ones do not; and
    their scoring forms do the same."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.tree import DecisionTreeRegressor

    features = [{"PU_DO": "1_2", "trip_distance": 1.0}, {"PU_DO": "236_237", "trip_distance": 2.0}, REFERENCE_RIDE]
    target = [5.0, 7.0, 6.0]
    tree = make_pipeline(DictVectorizer(), DecisionTreeRegressor()).fit(features, target)
    linear = make_pipeline(DictVectorizer(), LinearRegression()).fit(features, target)
    write_scoring_form(tree, tmp_path / "tree")
    write_scoring_form(linear, tmp_path / "linear")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the tree's float32 cast overflows, then it raises
        assert accepted_input_limit(tree) == accepted_input_limit(read_form(tmp_path / "tree")) == FLOAT32_MAX
    assert accepted_input_limit(linear) == accepted_input_limit(read_form(tmp_path / "linear")) == math.inf


def test_load_model_reads_the_version_and_the_limit(tmp_path):
    model = load_model(write_mlflow_model(tmp_path / "model", run_id="run-linear"))

    assert model.version == "run-linear"
    assert model.metadata.digest is None
    assert model.max_trip_distance == math.inf
    assert score_documents(model, [ride_document(1, 130, 205, PAST_FLOAT32_DISTANCE)]) == [
        Prediction(1, expected_minutes(PAST_FLOAT32_DISTANCE))
    ]


def test_a_loaded_forest_rejects_a_ride_past_its_limit_and_scores_the_rest(test_models):
    model = load_model(test_models("forest"))

    outcomes = score_documents(
        model, [ride_document(1, 130, 205, 2.5), ride_document(2, 130, 205, PAST_FLOAT32_DISTANCE)]
    )

    assert model.max_trip_distance == FLOAT32_MAX
    assert outcomes[0] == Prediction(1, model.predict([ride_features(130, 205, 2.5)])[0])
    assert isinstance(outcomes[1], Rejection) and outcomes[1].code == RejectionCode.INPUT_OUT_OF_RANGE


@pytest.mark.parametrize(("value", "shown"), [(math.nan, "nan"), (math.inf, "inf")], ids=["nan", "inf"])
def test_a_model_that_predicts_a_non_finite_duration_for_the_reference_ride_is_refused(tmp_path, value, shown):
    """Otherwise such a model would load and then reject every ride as non_finite_prediction."""
    directory = write_mlflow_model(tmp_path / "model")
    rewrite_form_arrays(directory / FORM_ARRAYS, intercept=lambda _: np.array(value))

    with pytest.raises(ModelLoadError) as refused:
        load_model(directory)

    assert str(refused.value) == (
        f"model at {directory} cannot score a reference ride {REFERENCE_RIDE}: ValueError: it predicted {shown} minutes"
    )
