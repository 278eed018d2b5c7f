"""Real models for the tests: trained on a slice of the bundled TLC data and saved as standard MLflow
sklearn models. The root conftest.py serves them as the `test_models` / `trained_model_dir` fixtures;
bench/soak.py and the odd test that needs a model of its own use the same two steps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ride_scorer.core.features import features_from_columns
from tests.shared.paths import DATA
from training.pipeline import SKOPS_TRUSTED_TYPES, build_pipeline

if TYPE_CHECKING:
    from training.train import TrainResult

TRAIN_SLICE_ROWS = 10_000


@dataclass(frozen=True)
class Registered:
    """The root conftest's `registered` store: its URI, the slices trained on, and the two models."""

    store: str
    train_path: str
    validate_path: str
    linear: TrainResult
    forest: TrainResult


def read_training_slice(path: Path, rows: int) -> tuple[list, list[float]]:
    frame = pd.read_parquet(path).head(rows)
    features = features_from_columns(frame["PULocationID"], frame["DOLocationID"], frame["trip_distance"])
    return features, frame["duration"].astype(float).tolist()


def save_mlflow_model(pipeline, directory: Path, run_id: str, kind: str = "linear") -> Path:
    """MLflow's default (skops) format, trusting the types training trusts for this kind (a forest's trees),
    and the scoring form the scorer reads, as training's save_model writes it."""
    import mlflow.sklearn
    from mlflow.models import Model

    from training.scoring_form import write_scoring_form

    mlflow.sklearn.save_model(
        pipeline, str(directory), mlflow_model=Model(run_id=run_id), skops_trusted_types=SKOPS_TRUSTED_TYPES[kind]
    )
    write_scoring_form(pipeline, directory)
    return directory


class ModelFactory:
    """Models trained on a real TLC slice and saved as standard MLflow sklearn models, once per session and
    kind: every test that needs a model asks here, so none trains its own."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._trained: dict[str, Path] = {}

    def __call__(self, kind: str = "linear") -> Path:
        if kind not in self._trained:
            features, target = read_training_slice(DATA / "green_tripdata_2021-01.parquet", TRAIN_SLICE_ROWS)
            pipeline = build_pipeline(kind).fit(features, target)  # type: ignore[arg-type]
            self._trained[kind] = save_mlflow_model(pipeline, self._root / kind / "model", uuid.uuid4().hex, kind)
        return self._trained[kind]


def with_reference(model_dir: Path, copy_to: Path) -> Path:
    """A copy of a test model with its training reference, as training's save_model writes it."""
    import shutil

    import mlflow.sklearn

    from training.data import read_trips
    from training.reference import write_reference

    shutil.copytree(model_dir, copy_to)
    trips = read_trips(DATA / "green_tripdata_2021-01.parquet").head(TRAIN_SLICE_ROWS)
    write_reference(copy_to, mlflow.sklearn.load_model(str(model_dir)), trips)
    return copy_to
