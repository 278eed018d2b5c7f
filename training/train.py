"""Train the ride-duration model on one month, validate on the next, and track it all in MLflow.

The run records what a reviewer needs to compare models (data, kind, hyper-parameters, validation RMSE)
and the model in MLflow's sklearn format, which is what the scorer loads.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import numpy as np
import sklearn
from mlflow.models import infer_signature
from sklearn.metrics import root_mean_squared_error

from training import tracking
from training.data import TARGET, read_trips, trip_features
from training.pipeline import (
    DEFAULT_SERIALIZATION,
    FOREST_PARAMS,
    SERIALIZATION_FORMATS,
    SKOPS_TRUSTED_TYPES,
    ModelKind,
    build_pipeline,
)

logger = logging.getLogger(__name__)
INPUT_EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    rmse: float
    model_dir: Path
    model_uri: str
    kind: str = "linear"
    registered_version: str | None = None
    tracking_uri: str = ""


def train(
    train_path: str,
    validate_path: str,
    kind: str = "linear",
    tracking_uri: str | None = None,
    register: bool = True,
    s3_client: Any = None,
    serialization: str = DEFAULT_SERIALIZATION,
) -> TrainResult:
    """Fit on `train_path`, score `validate_path`, log the run and (by default) register `ride-duration`."""
    model_kind = _model_kind(kind)
    if serialization not in SERIALIZATION_FORMATS:
        raise ValueError(f"unknown serialization {serialization!r}: use one of {', '.join(SERIALIZATION_FORMATS)}")
    train_trips = read_trips(train_path, s3_client)
    validate_trips = read_trips(validate_path, s3_client)
    train_features, validate_features = trip_features(train_trips), trip_features(validate_trips)
    pipeline = build_pipeline(model_kind).fit(train_features, train_trips[TARGET].to_numpy())
    rmse = float(root_mean_squared_error(validate_trips[TARGET].to_numpy(), pipeline.predict(validate_features)))
    logger.info("%s model: validation RMSE %.4f on %d rides", model_kind, rmse, len(validate_trips))

    store = tracking.tracking_uri(tracking_uri)
    experiment_id = tracking.use_experiment(store)
    example = train_features[:INPUT_EXAMPLE_ROWS]
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params(
            {
                "model": model_kind,
                "train_path": train_path,
                "validate_path": validate_path,
                "train_rows": len(train_trips),
                "validate_rows": len(validate_trips),
                "features": "PU_DO,trip_distance",
                "serialization": serialization,
                **(FOREST_PARAMS if model_kind == "forest" else {}),
            }
        )
        mlflow.log_metric("rmse", rmse)
        with _without_pyfunc_serving_check():
            info = mlflow.sklearn.log_model(
                pipeline,
                name=tracking.MODEL_NAME_IN_RUN,
                signature=infer_signature(example, np.asarray(pipeline.predict(example))),
                input_example=example,
                registered_model_name=tracking.REGISTERED_MODEL if register else None,
                # Pinned instead of inferred: inference re-imports the model in a subprocess, slow and no more exact.
                serialization_format=serialization,
                skops_trusted_types=(SKOPS_TRUSTED_TYPES[model_kind] or None) if serialization == "skops" else None,
                pip_requirements=[f"scikit-learn=={sklearn.__version__}", _serializer_requirement(serialization)],
            )
    version = info.registered_model_version
    logged = mlflow.get_logged_model(info.model_id)
    return TrainResult(
        run_id=run.info.run_id,
        rmse=rmse,
        model_dir=tracking.local_artifact_directory(logged.artifact_location, info.model_uri),
        model_uri=info.model_uri,
        kind=model_kind,
        registered_version=None if version is None else str(version),
        tracking_uri=store,
    )


def _serializer_requirement(serialization: str) -> str:
    name = "skops" if serialization == "skops" else "cloudpickle"
    return f"{name}=={importlib.metadata.version(name)}"


class _DropServingCheckWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to validate serving input example")


@contextmanager
def _without_pyfunc_serving_check() -> Iterator[None]:
    """MLflow checks the input example through pyfunc, which hands the model a DataFrame; this model takes a
    list of feature dicts (the scorer's call), so that check always fails with a misleading warning. The
    signature and example are still logged; `mlflow models serve` is not how this model is served."""
    mlflow_logger = logging.getLogger("mlflow.models.model")
    quiet = _DropServingCheckWarning()
    mlflow_logger.addFilter(quiet)
    try:
        yield
    finally:
        mlflow_logger.removeFilter(quiet)


def _model_kind(kind: str) -> ModelKind:
    if kind == "linear":
        return "linear"
    if kind == "forest":
        return "forest"
    raise ValueError(f"unknown model kind {kind!r}: use 'linear' or 'forest'")
