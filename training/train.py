"""Train the ride-duration model on one month, validate on the next, and track it all in MLflow.

The run records what a reviewer needs to compare models: the data (as run inputs), kind, hyper-parameters,
validation RMSE and MAE overall and by distance band, predicted-vs-actual and residual plots, and the model
(training/logged_model.py: the sklearn flavour the scorer loads, a pyfunc on raw ride fields). The model is
registered with tags, a description and an alias (training/registry.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
from mlflow.tracking import MlflowClient

from ride_scorer.core.features import RideFeatures
from training import tracking
from training.data import DISTANCE, TARGET, read_trips, trip_features
from training.evaluation import evaluate, log_datasets, log_evaluation
from training.logged_model import example_rides, log_model
from training.pipeline import (
    DEFAULT_SERIALIZATION,
    FOREST_PARAMS,
    SERIALIZATION_FORMATS,
    ModelKind,
    build_pipeline,
)
from training.registry import data_month, record_new_version

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

logger = logging.getLogger(__name__)
# A progress line per this many trees: about every 5-10 s on a 2-core machine with a full month.
TREES_PER_PROGRESS_LINE = 10
MODEL_DESCRIPTIONS = {
    "linear": "DictVectorizer + LinearRegression",
    "forest": "DictVectorizer + RandomForestRegressor",
}


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    rmse: float
    model_dir: Path
    model_uri: str
    kind: str = "linear"
    registered_version: str | None = None
    tracking_uri: str = ""
    mae: float = float("nan")
    aliases: tuple[str, ...] = ()


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
    logger.info("reading %s and %s", train_path, validate_path)
    train_trips = read_trips(train_path, s3_client)
    validate_trips = read_trips(validate_path, s3_client)
    train_features, validate_features = trip_features(train_trips), trip_features(validate_trips)
    pipeline = fit(model_kind, train_features, train_trips[TARGET].to_numpy())
    actual, predicted = validate_trips[TARGET].to_numpy(), pipeline.predict(validate_features)
    evaluation = evaluate(actual, predicted, validate_trips[DISTANCE].to_numpy())
    logger.info(
        "%s model: validation RMSE %.4f, MAE %.4f on %d rides",
        model_kind,
        evaluation.rmse,
        evaluation.mae,
        len(validate_trips),
    )

    store = tracking.tracking_uri(tracking_uri)
    logger.info("logging the run, its plots and the model to %s", store)
    experiment_id = tracking.use_experiment(store)
    registered_name = tracking.REGISTERED_MODEL if register else None
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
        log_datasets(train_trips, train_path, validate_trips, validate_path)
        log_evaluation(evaluation, actual, predicted)
        info = log_model(
            pipeline,
            example_rides(validate_trips),
            model_kind,
            serialization,
            name=tracking.MODEL_NAME_IN_RUN,
            registered_model_name=registered_name,
            reference_trips=train_trips,
        )
    version = None if info.registered_model_version is None else str(info.registered_model_version)
    aliases: tuple[str, ...] = ()
    if version is not None:
        tags = {
            "model_kind": model_kind,
            "train_month": data_month(train_path),
            "validate_month": data_month(validate_path),
            "train_path": train_path,
            "validate_path": validate_path,
            "train_rows": str(len(train_trips)),
            "validate_rows": str(len(validate_trips)),
            "rmse": f"{evaluation.rmse:.4f}",
            "mae": f"{evaluation.mae:.4f}",
            "serialization": serialization,
        }
        description = (
            f"{model_kind} model ({MODEL_DESCRIPTIONS[model_kind]}) trained on {data_month(train_path)} "
            f"({len(train_trips):,} rides), validated on {data_month(validate_path)} ({len(validate_trips):,} rides): "
            f"RMSE {evaluation.rmse:.4f} min, MAE {evaluation.mae:.4f} min. Run {run.info.run_id}."
        )
        client = MlflowClient(store, registry_uri=store)
        aliases = record_new_version(client, tracking.REGISTERED_MODEL, version, tags, description)
    logged = mlflow.get_logged_model(info.model_id)
    return TrainResult(
        run_id=run.info.run_id,
        rmse=evaluation.rmse,
        model_dir=tracking.local_artifact_directory(logged.artifact_location, info.model_uri),
        model_uri=info.model_uri,
        kind=model_kind,
        registered_version=version,
        tracking_uri=store,
        mae=evaluation.mae,
        aliases=aliases,
    )


def fit(kind: ModelKind, features: Sequence[RideFeatures], target: Any) -> Pipeline:
    """The pipeline fitted on `features`, saying how far it got: a forest on a month takes a minute or more.

    A forest is grown TREES_PER_PROGRESS_LINE trees at a time with scikit-learn's warm start, which draws the
    same per-tree seeds as one fit: the trees, and so every prediction, are those of `pipeline.fit`."""
    started = time.monotonic()
    pipeline = build_pipeline(kind)
    if kind != "forest":
        logger.info("fitting the %s model on %d rides", kind, len(features))
        return pipeline.fit(features, target)
    vectorizer, forest = pipeline.steps[0][1], pipeline.steps[-1][1]
    matrix = vectorizer.fit_transform(features)
    trees = int(forest.n_estimators)
    logger.info("fitting the forest on %d rides: %d trees", len(features), trees)
    forest.set_params(warm_start=True)
    for grown in range(TREES_PER_PROGRESS_LINE, trees + TREES_PER_PROGRESS_LINE, TREES_PER_PROGRESS_LINE):
        forest.set_params(n_estimators=min(grown, trees)).fit(matrix, target)
        logger.info("forest: %d of %d trees in %.0f s", min(grown, trees), trees, time.monotonic() - started)
    forest.set_params(warm_start=False)
    return pipeline


def _model_kind(kind: str) -> ModelKind:
    if kind == "linear":
        return "linear"
    if kind == "forest":
        return "forest"
    raise ValueError(f"unknown model kind {kind!r}: use 'linear' or 'forest'")
