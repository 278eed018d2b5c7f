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
# The core's bounds on a location id (ride_scorer/core/rides.py), which this module cannot import.
MAX_LOCATION_ID = 2**31 - 1
_MAX_ID_DIGITS = 10
# The bad rows an error names, as the HTTP service's errors list at most so many rides.
LISTED_ROWS = 10


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
    """The scorer's features of each row: `PU_DO` is "<pickup>_<dropoff>" of the integer ids.

    A frame is all-or-nothing, as a request to the HTTP service is: pyfunc must answer one float per row, and
    a row the scorer would reject (a negative or non-integer id, a distance that is negative or not finite)
    has no duration to give. A NaN in its place would read as a prediction in a float column and lose the
    reason. So any such row raises one ValueError that names the first `LISTED_ROWS` bad rows and their
    columns and counts the rest; the batch job and the stream, which have no caller to answer, reject
    only those rows instead.
    """
    missing = [name for name in RIDE_COLUMNS if name not in model_input]
    if missing:
        raise ValueError(f"missing ride columns {missing}: the model takes {list(RIDE_COLUMNS)}")
    pickups, dropoffs, distances = (_values(model_input[name]) for name in RIDE_COLUMNS)
    features = []
    problems = []
    for row, (pickup, dropoff, distance) in enumerate(zip(pickups, dropoffs, distances, strict=True)):
        try:
            pu_do = f"{_location_id(pickup, row, 'PULocationID')}_{_location_id(dropoff, row, 'DOLocationID')}"
            features.append({"PU_DO": pu_do, "trip_distance": _distance(distance, row)})
        except ValueError as problem:
            problems.append(str(problem))
    if problems:
        unlisted = len(problems) - LISTED_ROWS
        raise ValueError(
            f"{len(problems)} of {len(pickups)} rows cannot be scored, so none was: "
            + "; ".join(problems[:LISTED_ROWS])
            + (f"; and {unlisted} more" if unlisted > 0 else "")
        )
    return features


def _values(column: Any) -> list[Any]:
    """Plain Python values (numpy's int64 becomes int), from a pandas Series or any sequence."""
    return column.tolist() if hasattr(column, "tolist") else list(column)


def _location_id(value: Any, row: int, column: str) -> int:
    """The id as the core reads it: a non-negative integer up to 2**31 - 1, given as an int or as a string of
    at most ten ASCII digits, which means that integer ("0130" is zone 130, as in every mode)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= _MAX_ID_DIGITS:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LOCATION_ID:
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
