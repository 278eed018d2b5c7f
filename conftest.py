"""Fixtures for both test tiers (`tests/` and `integration-tests/`): real trained models, the linear one
pinned in the environment, and a tracking store with two of them registered.

Models are trained from the bundled real TLC data, never loaded from a committed pickle. The emulator
fixtures (moto's server, LocalStack and what is deployed on them) live in integration-tests/conftest.py,
so nothing under tests/ can start one; the in-memory fakes of the unit tier live in tests/unit/conftest.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ride_scorer.core.integrity import directory_digest
from tests.shared.trained_models import ModelFactory, Registered, with_reference


@pytest.fixture(scope="session")
def test_models(tmp_path_factory: pytest.TempPathFactory) -> ModelFactory:
    """`test_models("linear")` or `test_models("forest")`: a model directory, trained on first use."""
    return ModelFactory(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def trained_model_dir(test_models: ModelFactory) -> Path:
    """The linear test model most tests use."""
    return test_models("linear")


@pytest.fixture
def pinned_model(trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The trained test model as MODEL_LOCATION, pinned with its digest as a deployment pins it."""
    monkeypatch.setenv("MODEL_LOCATION", str(trained_model_dir))
    monkeypatch.setenv("MODEL_SHA256", directory_digest(trained_model_dir))
    monkeypatch.delenv("MODEL_NAME", raising=False)
    return trained_model_dir


@pytest.fixture(scope="session")
def checked_model_dir(trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The linear test model with its rollout check set (`scorer/check_set.json`), as training saves a model."""
    from training.check_set import write_check_set  # imported here: most sessions never need it

    directory = Path(shutil.copytree(trained_model_dir, tmp_path_factory.mktemp("checked") / "model"))
    write_check_set(directory)
    return directory


@pytest.fixture(scope="session")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Registered:
    """One tracking store with two real models registered by `training.train`, so the MLflow-heavy tests
    (pyfunc, registry, evaluation, promotion, the champion make serve finds) train twice in all: the linear
    model first (version 1, @champion), then the forest (version 2, @challenger), on real TLC slices, never
    on the project's mlflow.db. Tests that change aliases work on a copy of its database."""
    from tests.shared.trips import month_slice
    from training.train import train  # MLflow: imported by the sessions that use this store only

    folder = tmp_path_factory.mktemp("registered")
    train_path = month_slice(folder, "2021-01", 3_000)
    validate_path = month_slice(folder, "2021-02", 1_000)
    store = f"sqlite:///{folder / 'mlflow.db'}"
    linear = train(train_path, validate_path, kind="linear", tracking_uri=store)
    forest = train(train_path, validate_path, kind="forest", tracking_uri=store)
    return Registered(store, train_path, validate_path, linear, forest)


@pytest.fixture
def store_copy(registered: Registered, tmp_path: Path) -> str:
    """The same registry in a database of its own (artifacts stay where they are), for tests that change it."""
    database = tmp_path / "mlflow.db"
    shutil.copy(registered.store.removeprefix("sqlite:///"), database)
    return f"sqlite:///{database}"


@pytest.fixture(scope="session")
def referenced_model_dir(test_models: ModelFactory, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The linear test model with the training reference training writes beside it (scorer/reference.json),
    from the rides it was trained on: what the drift and domain signals compare with."""
    return with_reference(test_models("linear"), tmp_path_factory.mktemp("referenced") / "model")


# Under pytest-xdist (`make test` runs `-n 2 --dist loadgroup`) each worker has its own session fixtures. Tests
# that share an expensive fixture run on one worker, so it is started once: a module's tests stay together
# (its module fixtures), and so do the tests on LocalStack, on Spark and on the shared HTTP service or
# registry, across modules.
SHARED_ACROSS_MODULES = {
    "localstack_emulator": "localstack",
    "spark": "spark",
    "web_service": "web-service",
    "registered": "registry",
}


def xdist_group(item: pytest.Item) -> str:
    params = getattr(getattr(item, "callspec", None), "params", {})
    if params.get("emulator") == "localstack" or item.get_closest_marker("localstack"):
        return "localstack"
    fixtures = set(getattr(item, "fixturenames", ()))
    shared = [group for fixture, group in SHARED_ACROSS_MODULES.items() if fixture in fixtures]
    return shared[0] if shared else item.nodeid.split("::")[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(xdist_group(item)))
