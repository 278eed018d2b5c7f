"""The `python_function` side of every ride-duration model: raw ride fields in, minutes out.

MLflow's pyfunc (`mlflow.pyfunc.load_model`, `mlflow models predict|serve`, `spark_udf`) always hands a
model a DataFrame, while the pipeline starts with a DictVectorizer over the scorer's feature dicts. Training
logs the pipeline with `mlflow.sklearn` (the flavour the Lambda reads without MLflow) and names this module
as the python_function flavour's `loader_module`, MLflow's documented convention for a custom loader: pyfunc
imports it and calls `_load_pyfunc(path)`, whose object's `predict(DataFrame)` turns the columns
`PULocationID`, `DOLocationID`, `trip_distance` into the scorer's features and calls the pipeline.

The file is copied into each model (`code/ride_duration_pyfunc.py`, MLflow's `code_paths`) and imported
there as a top-level module, so a model works wherever MLflow and scikit-learn are installed, without this
project. That is why it imports nothing from the project: its one feature rule is the core's
(`ride_scorer.core.features.features_of`), and tests/unit/training/test_ride_duration_pyfunc.py holds the two
equal, and the predictions equal to the scorer's on real rides.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

RIDE_COLUMNS = ("PULocationID", "DOLocationID", "trip_distance")


class RideDurationPyfunc:
    """What pyfunc calls: one vectorized pipeline call per DataFrame, one float64 per row, in row order."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    def get_raw_model(self) -> Any:
        """The sklearn pipeline itself (pyfunc's `unwrap_python_model`-style access for sklearn models)."""
        return self.pipeline

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> np.ndarray:
        features = ride_features_of(model_input)
        if not features:
            return np.empty(0, dtype=np.float64)
        return np.asarray(self.pipeline.predict(features), dtype=np.float64)


def ride_features_of(model_input: Any) -> list[dict[str, Any]]:
    """The scorer's features of each row: `PU_DO` is "<pickup>_<dropoff>" of the ids, as text.

    A row the scorer would reject (a negative or non-integer id, a distance that is negative or not finite)
    raises ValueError naming the row and the column, rather than getting a duration for a ride that is not one.
    """
    missing = [name for name in RIDE_COLUMNS if name not in model_input]
    if missing:
        raise ValueError(f"missing ride columns {missing}: the model takes {list(RIDE_COLUMNS)}")
    pickups, dropoffs, distances = (_values(model_input[name]) for name in RIDE_COLUMNS)
    features = []
    for row, (pickup, dropoff, distance) in enumerate(zip(pickups, dropoffs, distances, strict=True)):
        features.append(
            {
                "PU_DO": f"{_location_id(pickup, row, 'PULocationID')}_{_location_id(dropoff, row, 'DOLocationID')}",
                "trip_distance": _distance(distance, row),
            }
        )
    return features


def _values(column: Any) -> list[Any]:
    """Plain Python values (numpy's int64 becomes int), from a pandas Series or any sequence."""
    return column.tolist() if hasattr(column, "tolist") else list(column)


def _location_id(value: Any, row: int, column: str) -> int | str:
    """The id as the core formats it: an int, or a digit string kept as written (the stream accepts both)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"row {row}: {column} must be a non-negative integer, got {value!r}")
    if (isinstance(value, int) and value < 0) or (isinstance(value, str) and not (value.isascii() and value.isdigit())):
        raise ValueError(f"row {row}: {column} must be a non-negative integer, got {value!r}")
    return value


def _distance(value: Any, row: int) -> float:
    try:
        distance = float(value)
    except (TypeError, ValueError):
        distance = math.nan
    if not 0 <= distance < math.inf:
        raise ValueError(f"row {row}: trip_distance must be a finite number >= 0, got {value!r}")
    return distance


def _load_pyfunc(path: str) -> RideDurationPyfunc:
    """MLflow's loader-module entry point: `path` is the model directory (or its sklearn file)."""
    import mlflow.sklearn

    model_dir = path if os.path.isdir(path) else os.path.dirname(path)
    return RideDurationPyfunc(mlflow.sklearn.load_model(model_dir))
