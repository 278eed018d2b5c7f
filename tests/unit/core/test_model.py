import logging
import os
import shutil

import pytest
import yaml

from ride_scorer.core.integrity import ModelIntegrityError, directory_digest, write_digest
from ride_scorer.core.model import ModelLoadError, load_model


@pytest.fixture
def model_copy(trained_model_dir, tmp_path):
    return shutil.copytree(trained_model_dir, tmp_path / "model")


def test_version_is_the_run_id_from_mlmodel(model_copy):
    run_id = yaml.safe_load((model_copy / "MLmodel").read_text())["run_id"]
    model = load_model(model_copy)
    assert model.version == run_id
    assert model.predict([]) == []
    assert isinstance(model.predict([{"PU_DO": "130_205", "trip_distance": 3.66}])[0], float)


def test_pinned_digest_is_verified_and_recorded(model_copy):
    digest = write_digest(model_copy)
    assert load_model(model_copy, expected_sha256=digest).metadata.digest == digest


def test_tampered_model_is_refused_before_loading_naming_the_file(model_copy):
    digest = write_digest(model_copy)
    (model_copy / "requirements.txt").write_text("evil==1.0\n")
    with pytest.raises(ModelIntegrityError, match=r"MODEL_SHA256 is .*requirements\.txt"):
        load_model(model_copy, expected_sha256=digest)


def test_the_digest_file_in_the_folder_is_never_the_pin(model_copy):
    """It travels with the model: whoever swapped the model rewrote it too."""
    digest = write_digest(model_copy)
    pickled = yaml.safe_load((model_copy / "MLmodel").read_text())["flavors"]["sklearn"]["pickled_model"]
    (model_copy / pickled).write_bytes((model_copy / pickled).read_bytes() + b"\0")
    write_digest(model_copy)
    with pytest.raises(ModelIntegrityError, match="MODEL_SHA256"):
        load_model(model_copy, expected_sha256=digest)


def test_unpinned_load_is_the_callers_choice_and_warns_with_the_digest(model_copy, caplog):
    """`load_model(directory)` is for a model the caller made itself; the settings refuse a missing pin."""
    with caplog.at_level(logging.WARNING, logger="ride_scorer.core.model"):
        model = load_model(model_copy)
    assert model.metadata.digest is None  # only a verified digest is reported as the model's
    assert "without a pinned digest" in caplog.text and directory_digest(model_copy) in caplog.text


def test_digest_ignores_its_own_file_and_sees_renames(model_copy):
    before = directory_digest(model_copy)
    write_digest(model_copy)
    assert directory_digest(model_copy) == before
    (model_copy / "conda.yaml").rename(model_copy / "conda2.yaml")
    assert directory_digest(model_copy) != before


@pytest.mark.parametrize("pickled_model", ["../outside.pkl", "/tmp/outside.pkl", "sub/../../outside.pkl"])
def test_mlmodel_naming_a_file_outside_the_folder_is_refused(model_copy, pickled_model):
    """The digest covers the folder; the pickle that gets loaded must be one of the files it covered."""
    document = yaml.safe_load((model_copy / "MLmodel").read_text())
    document["flavors"]["sklearn"]["pickled_model"] = pickled_model
    (model_copy / "MLmodel").write_text(yaml.safe_dump(document))
    digest = directory_digest(model_copy)
    with pytest.raises(ModelIntegrityError, match="names the file"):
        load_model(model_copy, expected_sha256=digest)


def test_a_symbolic_link_in_the_model_is_refused(model_copy, tmp_path):
    pickled = yaml.safe_load((model_copy / "MLmodel").read_text())["flavors"]["sklearn"]["pickled_model"]
    real = tmp_path / "elsewhere.bin"
    (model_copy / pickled).rename(real)
    os.symlink(real, model_copy / pickled)
    with pytest.raises(ModelIntegrityError, match="symbolic link"):
        load_model(model_copy)


def test_model_without_sklearn_flavour_is_refused(model_copy):
    document = yaml.safe_load((model_copy / "MLmodel").read_text())
    del document["flavors"]["sklearn"]
    (model_copy / "MLmodel").write_text(yaml.safe_dump(document))
    with pytest.raises(ModelLoadError, match="no sklearn flavour"):
        load_model(model_copy)


def test_corrupt_model_file_is_a_load_error(model_copy):
    pickled = yaml.safe_load((model_copy / "MLmodel").read_text())["flavors"]["sklearn"]["pickled_model"]
    (model_copy / pickled).write_bytes(b"\x00garbage")
    with pytest.raises(ModelLoadError, match="cannot load"):
        load_model(model_copy)
