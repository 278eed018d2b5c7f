import logging
import os
import shutil

import numpy as np
import pytest
import yaml

from ride_scorer.core.integrity import ModelIntegrityError, directory_digest, write_digest
from ride_scorer.core.model import REPUBLISH, ModelLoadError, load_model
from ride_scorer.core.model_files import FORM_ARRAYS, FORM_METADATA
from tests.shared.fakes.models import rewrite_form_arrays


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
    (model_copy / FORM_ARRAYS).write_bytes((model_copy / FORM_ARRAYS).read_bytes() + b"\0")
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


def test_a_symbolic_link_in_the_model_is_refused(model_copy, tmp_path):
    real = tmp_path / "elsewhere.bin"
    (model_copy / FORM_ARRAYS).rename(real)
    os.symlink(real, model_copy / FORM_ARRAYS)
    with pytest.raises(ModelIntegrityError, match="symbolic link"):
        load_model(model_copy)


@pytest.mark.parametrize("missing", [FORM_METADATA, FORM_ARRAYS])
def test_a_model_without_the_scoring_form_is_refused_in_one_line_saying_republish(model_copy, missing):
    """Models published before the form: the scorer never falls back to the pickle."""
    (model_copy / missing).unlink()
    with pytest.raises(ModelLoadError) as refused:
        load_model(model_copy, expected_sha256=directory_digest(model_copy))
    message = str(refused.value)
    assert message == f"model at {model_copy} has no scoring form ({missing}): {REPUBLISH}"
    assert "\n" not in message and "python -m training publish" in message


@pytest.mark.parametrize(
    ("corrupt", "error"),
    [
        (lambda form: form.write_bytes(b"\x00garbage"), "cannot read"),
        (lambda form: rewrite_form_arrays(form, left=lambda a: a + 10**9), "a root or child is not a node"),
        (lambda form: rewrite_form_arrays(form, split_column=lambda a: a + 10**9), "a split names no column"),
        (lambda form: rewrite_form_arrays(form, threshold=lambda a: a.astype(np.float32)), "threshold is float32"),
        (
            lambda form: rewrite_form_arrays(form, leaf_value=lambda a: np.array(["x"] * len(a), dtype=object)),
            "cannot read",
        ),
    ],
    ids=["not-an-archive", "child-out-of-range", "column-out-of-range", "wrong-dtype", "object-array"],
)
def test_a_corrupt_scoring_form_is_a_load_error_naming_the_file(test_models, tmp_path, corrupt, error):
    """Pinned or not, the form's arrays are checked before a ride walks them; object arrays never unpickle."""
    model_copy = shutil.copytree(test_models("forest"), tmp_path / "forest")
    corrupt(model_copy / FORM_ARRAYS)
    with pytest.raises(ModelLoadError, match=error) as refused:
        load_model(model_copy, expected_sha256=directory_digest(model_copy))
    assert str(model_copy / FORM_ARRAYS) in str(refused.value)
