"""Fixtures for both test tiers (`tests/` and `integration-tests/`): real trained models.

Models are trained from the bundled real TLC data, never loaded from a committed pickle. The emulator
fixtures (moto's server, LocalStack and what is deployed on them) live in integration-tests/conftest.py,
so nothing under tests/ can start one; the in-memory fakes of the unit tier live in tests/unit/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared.trained_models import ModelFactory


@pytest.fixture(scope="session")
def test_models(tmp_path_factory: pytest.TempPathFactory) -> ModelFactory:
    """`test_models("linear")` or `test_models("forest")`: a model directory, trained on first use."""
    return ModelFactory(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def registered(tmp_path_factory: pytest.TempPathFactory):  # -> tests.shared.trained_models.Registered
    """A tracking store with two real models registered by `training.train`, so the MLflow-heavy tests
    (pyfunc, registry, evaluation, promotion, the champion make serve finds) train twice in all: the linear
    model first (version 1, @champion), then the forest (version 2, @challenger), on real TLC slices, never
    on the project's mlflow.db. Tests that change aliases work on a copy of its database."""
    from tests.shared.trained_models import Registered
    from tests.shared.trips import month_slice
    from training.train import train  # MLflow: imported by the sessions that use this store only

    folder = tmp_path_factory.mktemp("registered")
    train_path = month_slice(folder, "2021-01", 3_000)
    validate_path = month_slice(folder, "2021-02", 1_000)
    store = f"sqlite:///{folder / 'mlflow.db'}"
    linear = train(train_path, validate_path, kind="linear", tracking_uri=store)
    forest = train(train_path, validate_path, kind="forest", tracking_uri=store)
    return Registered(store, train_path, validate_path, linear, forest)


@pytest.fixture(scope="session")
def trained_model_dir(test_models: ModelFactory) -> Path:
    """The linear test model most tests use."""
    return test_models("linear")
