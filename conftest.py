"""Fixtures for both test tiers (`tests/` and `integration-tests/`): real trained models.

Models are trained from the bundled real TLC data, never loaded from a committed pickle. The emulator
fixtures (moto's server, LocalStack and what is deployed on them) live in integration-tests/conftest.py,
so nothing under tests/ can start one; the in-memory fakes of the unit tier live in tests/unit/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared.trained_models import ModelFactory, with_reference


@pytest.fixture(scope="session")
def test_models(tmp_path_factory: pytest.TempPathFactory) -> ModelFactory:
    """`test_models("linear")` or `test_models("forest")`: a model directory, trained on first use."""
    return ModelFactory(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def trained_model_dir(test_models: ModelFactory) -> Path:
    """The linear test model most tests use."""
    return test_models("linear")


@pytest.fixture(scope="session")
def referenced_model_dir(test_models: ModelFactory, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The linear test model with the training reference training writes beside it (scorer/reference.json),
    from the rides it was trained on: what the drift and domain signals compare with."""
    return with_reference(test_models("linear"), tmp_path_factory.mktemp("referenced") / "model")
