"""One tracking store per session with two real models registered in it, so the MLflow-heavy tests
(pyfunc, registry, evaluation) train twice in all: the linear model first (it becomes @champion), then the
forest (it becomes @challenger). Both on real TLC slices, never on the project's mlflow.db."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.shared.trips import month_slice
from training.train import TrainResult, train

TRAIN_ROWS, VALIDATE_ROWS = 3_000, 1_000


@dataclass(frozen=True)
class Registered:
    store: str
    train_path: str
    validate_path: str
    linear: TrainResult
    forest: TrainResult


@pytest.fixture(scope="session")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Registered:
    folder = tmp_path_factory.mktemp("registered")
    train_path = month_slice(folder, "2021-01", TRAIN_ROWS)
    validate_path = month_slice(folder, "2021-02", VALIDATE_ROWS)
    store = f"sqlite:///{folder / 'mlflow.db'}"
    linear = train(train_path, validate_path, kind="linear", tracking_uri=store)
    forest = train(train_path, validate_path, kind="forest", tracking_uri=store)
    return Registered(store, train_path, validate_path, linear, forest)
