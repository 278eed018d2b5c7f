"""Where runs and models are tracked: a local SQLite store under the project, or any MLflow server.

A fresh clone should give `mlflow ui` something to show after one `make train`, without a server; a team
points MLFLOW_TRACKING_URI at its own server and nothing else changes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import mlflow
from mlflow.tracking import MlflowClient

# Defined where they can be read without importing MLflow (make serve, make models); one name each.
from training.registry_store import DEFAULT_TRACKING_URI as DEFAULT_TRACKING_URI
from training.registry_store import PROJECT_ROOT as PROJECT_ROOT
from training.registry_store import REGISTERED_MODEL as REGISTERED_MODEL
from training.registry_store import TrackingError as TrackingError
from training.registry_store import tracking_uri as tracking_uri

EXPERIMENT = "ride-duration"
MODEL_NAME_IN_RUN = "model"


def artifact_root(uri: str) -> str | None:
    """For a local SQLite store, artifacts go in `mlartifacts` beside the database; a server decides its own."""
    if not uri.startswith("sqlite:///"):
        return None
    database = Path(uri.removeprefix("sqlite:///"))
    return (database.parent / "mlartifacts").resolve().as_uri()


def use_experiment(uri: str, name: str = EXPERIMENT) -> str:
    """Point MLflow at the store and return the experiment id, creating the experiment on first use."""
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    existing = mlflow.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    return str(mlflow.create_experiment(name, artifact_location=artifact_root(uri)))


def model_directory(run_id: str, uri: str | None = None) -> Path:
    """The local directory of the model logged in `run_id`: in place for a local store, else downloaded."""
    store = tracking_uri(uri)
    mlflow.set_tracking_uri(store)
    try:
        run = MlflowClient(store).get_run(run_id)
    except mlflow.exceptions.MlflowException as error:
        raise TrackingError(f"run {run_id!r} is not in the tracking store {store}: {error}") from error
    models = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run_id}'",
        output_format="list",
    )
    if not models:
        raise TrackingError(f"run {run_id!r} in {store} has no logged model")
    return local_artifact_directory(models[0].artifact_location, models[0].model_uri)


def local_artifact_directory(artifact_location: str, model_uri: str) -> Path:
    """Use a local artifact directory where it is; fetch anything remote (S3, a tracking server) to a temp dir."""
    parsed = urlparse(artifact_location)
    if parsed.scheme in ("", "file"):
        directory = Path(unquote(parsed.path) if parsed.scheme else artifact_location)
        if (directory / "MLmodel").is_file():
            return directory
    destination = tempfile.mkdtemp(prefix="ride-duration-model-")
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=destination))
