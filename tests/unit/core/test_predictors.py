"""The scoring form gives the pipeline's own predictions, as floats (`==`), for every kind of model it takes:
the float32 cast of scikit-learn's trees, the order of a forest's sum and its division, a linear model's sum."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeRegressor

from ride_scorer.core.features import features_from_columns, ride_features
from ride_scorer.core.model import load_model
from ride_scorer.core.predictors import ModelInputError
from ride_scorer.core.scoring_form import read_form
from tests.shared.paths import DATA
from tests.shared.trained_models import read_training_slice
from training.scoring_form import check_rides, write_scoring_form

REAL_RIDES = 3_000
SMALL_MODELS = {
    "decision-tree": lambda: DecisionTreeRegressor(max_depth=12, random_state=0),
    "extra-trees": lambda: ExtraTreesRegressor(n_estimators=7, max_depth=9, random_state=0),
    "one-tree-forest": lambda: RandomForestRegressor(n_estimators=1, random_state=0),
    "ridge": lambda: Ridge(alpha=0.5),
}


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


@pytest.fixture(scope="module")
def small_pipelines(tmp_path_factory) -> dict:
    features, target = read_training_slice(DATA / "green_tripdata_2021-01.parquet", 3_000)
    return {name: make_pipeline(DictVectorizer(), make()).fit(features, target) for name, make in SMALL_MODELS.items()}


@pytest.mark.parametrize("kind", ["linear", "forest", *SMALL_MODELS])
def test_predictions_equal_the_pipelines_own_as_floats(test_models, small_pipelines, real_rides, tmp_path, kind):
    if kind in SMALL_MODELS:
        pipeline = small_pipelines[kind]
        write_scoring_form(pipeline, tmp_path)
        form = read_form(tmp_path)
    else:
        import mlflow.sklearn

        pipeline = mlflow.sklearn.load_model(str(test_models(kind)))
        form = load_model(test_models(kind)).regressor
    rides = real_rides + check_rides(pipeline)
    for size in (1, 2, 100, len(rides)):
        assert form.predict(rides[-size:]) == pipeline.predict(rides[-size:]).tolist()


@pytest.mark.parametrize("kind", ["linear", "forest"])
def test_an_empty_batch_raises_as_the_vectorizer_does(test_models, kind):
    with pytest.raises(ModelInputError, match="empty"):
        load_model(test_models(kind)).regressor.predict([])
