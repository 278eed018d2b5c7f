"""Fixtures for both test tiers (`tests/` and `integration-tests/`): real trained models, and the linear one
pinned in the environment.

Models are trained from the bundled real TLC data, never loaded from a committed pickle. The emulator
fixtures (moto's server, LocalStack and what is deployed on them) live in integration-tests/conftest.py,
so nothing under tests/ can start one; the in-memory fakes of the unit tier live in tests/unit/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ride_scorer.core.integrity import directory_digest
from tests.shared.trained_models import ModelFactory


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
