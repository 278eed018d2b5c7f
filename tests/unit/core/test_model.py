import shutil

import pytest
import yaml

from ride_scorer.core.integrity import DIGEST_FILE, ModelIntegrityError, directory_digest, write_digest
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


def test_published_digest_is_verified(model_copy):
    digest = write_digest(model_copy)
    assert load_model(model_copy).metadata.digest == digest
    assert load_model(model_copy, expected_sha256=digest).metadata.digest == digest


def test_tampered_model_is_refused_before_loading(model_copy):
    write_digest(model_copy)
    (model_copy / "requirements.txt").write_text("evil==1.0\n")
    with pytest.raises(ModelIntegrityError, match=DIGEST_FILE):
        load_model(model_copy)


def test_pinned_digest_wins_over_the_published_one(model_copy):
    write_digest(model_copy)
    with pytest.raises(ModelIntegrityError, match="MODEL_SHA256"):
        load_model(model_copy, expected_sha256="0" * 64)


def test_digest_ignores_its_own_file_and_sees_renames(model_copy):
    before = directory_digest(model_copy)
    write_digest(model_copy)
    assert directory_digest(model_copy) == before
    (model_copy / "conda.yaml").rename(model_copy / "conda2.yaml")
    assert directory_digest(model_copy) != before


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
