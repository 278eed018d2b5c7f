"""The direct batch call gives the pipeline's own predictions, as floats, and anything it does not know is
scored by the model's own predict."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler

from ride_scorer.core.features import features_from_columns, ride_features
from ride_scorer.core.model import load_model
from ride_scorer.core.predictors import PROBE_RIDES, batch_predictor
from tests.shared.paths import DATA

REAL_RIDES = 3_000


@pytest.fixture(scope="module")
def real_rides() -> list:
    table = pq.read_table(
        DATA / "green_tripdata_2023-01.parquet", columns=["PULocationID", "DOLocationID", "trip_distance"]
    )
    columns = table.slice(0, REAL_RIDES).to_pydict()
    odd = [
        ride_features(1, 1, 0.0),
        ride_features(99_999, 3, 1e6),
        ride_features(7, 7, 3.4e38),
        ride_features(1, 2, 1e-300),
    ]
    return features_from_columns(columns["PULocationID"], columns["DOLocationID"], columns["trip_distance"]) + odd


def pipeline_of(model_dir) -> Any:
    return load_model(model_dir).regressor


@pytest.mark.parametrize("kind", ["linear", "forest"])
def test_predictions_equal_the_pipelines_own_as_floats(test_models, real_rides, kind):
    pipeline = pipeline_of(test_models(kind))
    predict = batch_predictor(pipeline)
    assert predict.__qualname__.startswith("_vectorized_pipeline"), "the direct path must be taken for our models"
    for size in (1, 2, 100, len(real_rides)):
        rides = real_rides[-size:]
        assert predict(rides) == pipeline.predict(rides).tolist()


@pytest.mark.parametrize("kind", ["linear", "forest"])
def test_an_empty_batch_raises_as_the_vectorizer_does(test_models, kind):
    with pytest.raises(ValueError, match="empty"):
        batch_predictor(pipeline_of(test_models(kind)))([])


def test_other_pipeline_shapes_are_scored_by_their_own_predict(real_rides):
    rides = real_rides[:200]
    targets = [ride["trip_distance"] * 3 for ride in rides]
    scaled = make_pipeline(DictVectorizer(), MaxAbsScaler(), LinearRegression()).fit(rides, targets)
    dense = make_pipeline(DictVectorizer(sparse=False), LinearRegression()).fit(rides, targets)
    for pipeline in (scaled, dense):
        predict = batch_predictor(pipeline)
        assert predict.__qualname__.startswith("_generic")
        assert predict(PROBE_RIDES) == pipeline.predict(PROBE_RIDES).tolist()


def test_a_model_that_is_not_a_pipeline_is_scored_by_its_own_predict():
    class Constant:
        def predict(self, features):
            return np.full(len(features), 12.5)

    assert batch_predictor(Constant())(PROBE_RIDES) == [12.5] * len(PROBE_RIDES)
