"""The model loader's pin policy on a local model directory (S3 downloads: integration-tests/adapters/).

Every mode loads through `load_model_from`: without a pinned digest it loads nothing, unless the settings
carry the explicit local-work opt-out, and then it says so.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ride_scorer.adapters.model_store import fetch_model_directory, load_model_from
from ride_scorer.core.integrity import ModelIntegrityError, directory_digest
from ride_scorer.core.model import ModelLoadError
from ride_scorer.core.settings import ConfigError, ModelSettings
from ride_scorer.stream.settings import ScorerSettings
from tests.shared.fakes.models import FAKE_VERSION, write_mlflow_model


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return write_mlflow_model(tmp_path / "model")


def test_a_pinned_local_model_loads(model_dir):
    model = load_model_from(ModelSettings(str(model_dir), model_sha256=directory_digest(model_dir)))
    assert model.version == FAKE_VERSION
    assert model.metadata.digest == directory_digest(model_dir)


def test_settings_without_a_pin_load_nothing(model_dir):
    """Settings made in code (not from the environment) get the same answer as from_env gives."""
    with pytest.raises(ConfigError, match=r"^MODEL_SHA256 is not set"):
        load_model_from(ModelSettings(str(model_dir)))


def test_settings_without_the_opt_out_field_never_load_an_unpinned_model(model_dir):
    settings = ScorerSettings(str(model_dir), "predictions", "https://sqs.us-east-1.amazonaws.com/1/q")
    with pytest.raises(ConfigError, match=r"^MODEL_SHA256 is not set: the stream scorer loads only a pinned model"):
        load_model_from(settings)


def test_the_opt_out_loads_an_unpinned_model_with_a_warning(model_dir, caplog):
    settings = ModelSettings.from_env({"MODEL_LOCATION": str(model_dir), "ALLOW_UNPINNED_MODEL": "true"})
    with caplog.at_level(logging.WARNING):
        model = load_model_from(settings)
    assert model.version == FAKE_VERSION
    assert "ALLOW_UNPINNED_MODEL=true" in caplog.text and "local work only" in caplog.text


def test_a_wrong_pin_is_refused_and_the_local_model_is_left_alone(model_dir):
    before = sorted(path.name for path in model_dir.iterdir())
    with pytest.raises(ModelIntegrityError, match="MODEL_SHA256"):
        load_model_from(ModelSettings(str(model_dir), model_sha256="0" * 64))
    assert sorted(path.name for path in model_dir.iterdir()) == before


def test_a_local_folder_without_mlmodel_names_the_location(tmp_path):
    with pytest.raises(ModelLoadError, match="no MLmodel file in that directory"):
        fetch_model_directory(str(tmp_path), None, tmp_path / "downloads")
