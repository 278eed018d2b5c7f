"""The model's digest, its manifest and the file names a model may have (ride_scorer/core/integrity.py)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ride_scorer.core.integrity import (
    DIGEST_FILE,
    ModelIntegrityError,
    UnsafeNameError,
    directory_digest,
    directory_manifest,
    format_manifest,
    manifest_digest,
    parse_manifest,
    safe_relative_path,
    verify_directory,
    verify_manifest,
    write_digest,
)


def digest_before_manifests(directory: Path) -> str:
    """The digest as published before manifests existed (the code it replaced, verbatim): pins made then
    must still hold."""
    outer = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        if relative == DIGEST_FILE:
            continue
        outer.update(relative.encode("utf-8") + b"\0")
        outer.update(hashlib.sha256(path.read_bytes()).hexdigest().encode("ascii") + b"\n")
    return outer.hexdigest()


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    """Nested, with names whose order differs between strings and path segments ('a.txt' / 'a/b')."""
    folder = tmp_path / "model"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "b").write_bytes(b"inner")
    (folder / "a.txt").write_bytes(b"outer")
    (folder / "MLmodel").write_text("flavors: {}\n")
    (folder / "model.pkl").write_bytes(b"\x80\x05N.")
    return folder


def test_digest_is_unchanged_for_models_pinned_before_manifests(model_folder):
    assert directory_digest(model_folder) == digest_before_manifests(model_folder)


def test_manifest_is_sha256sum_format_and_its_digest_is_the_pin(model_folder):
    pin = write_digest(model_folder)
    text = (model_folder / DIGEST_FILE).read_text(encoding="utf-8")
    assert f"{hashlib.sha256(b'inner').hexdigest()}  a/b\n{hashlib.sha256(b'outer').hexdigest()}  a.txt\n" in text
    listed = parse_manifest(text)
    assert listed == directory_manifest(model_folder)
    assert manifest_digest(listed) == pin == directory_digest(model_folder)
    assert format_manifest(listed) == text


def test_digest_ignores_its_own_file_and_sees_renames(model_folder):
    before = directory_digest(model_folder)
    write_digest(model_folder)
    assert directory_digest(model_folder) == before
    (model_folder / "a.txt").rename(model_folder / "a2.txt")
    assert directory_digest(model_folder) != before


def test_a_file_added_beside_the_model_changes_the_digest(model_folder):
    pin = write_digest(model_folder)
    (model_folder / "a" / "extra.pkl").write_bytes(b"anything")
    with pytest.raises(ModelIntegrityError, match=r"MODEL_SHA256 is .*a/extra\.pkl"):
        verify_directory(model_folder, pin)


def test_a_rewritten_manifest_does_not_change_what_the_pin_accepts(model_folder):
    """Whoever can write the model can write its manifest: only the deployment's pin decides."""
    pin = write_digest(model_folder)
    (model_folder / "model.pkl").write_bytes(b"evil")
    write_digest(model_folder)
    with pytest.raises(ModelIntegrityError, match="MODEL_SHA256"):
        verify_directory(model_folder, pin)


def _tamper(folder: Path) -> None:
    (folder / "a.txt").write_bytes(b"changed")


def _add(folder: Path) -> None:
    (folder / "a" / "extra.pkl").write_bytes(b"not published")


def _relist(folder: Path) -> None:
    write_digest(folder)  # whoever can write the files can rewrite the manifest of what is left


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (None, None),
        (_tamper, r"MODEL_SHA256 is \w+, the digest of its model\.sha256, .*differ .*: a\.txt\)"),
        (_add, r"MODEL_SHA256 is \w+, the digest of its model\.sha256, .*differ .*: a/extra\.pkl\)"),
        (_relist, r"has digest \w+, but MODEL_SHA256 is "),
    ],
    ids=["part-of-the-model", "a-listed-file-changed", "an-unlisted-file", "manifest-rewritten"],
)
def test_part_of_a_model_passes_only_when_every_file_matches_the_pinned_manifest(model_folder, change, refusal):
    """What a download fetches (the files the scorer reads, beside the manifest): the pickle stayed behind."""
    pin = write_digest(model_folder)
    (model_folder / "model.pkl").unlink()
    if change is not None:
        change(model_folder)
    if refusal is None:
        assert verify_directory(model_folder, pin) == directory_manifest(model_folder)
    else:
        with pytest.raises(ModelIntegrityError, match=refusal):
            verify_directory(model_folder, pin)


def test_a_symbolic_link_in_the_model_is_refused_not_followed(model_folder, tmp_path):
    outside = tmp_path / "outside.pkl"
    outside.write_bytes(b"not covered by anyone's digest")
    os.symlink(outside, model_folder / "linked.pkl")
    with pytest.raises(ModelIntegrityError, match="symbolic link"):
        directory_manifest(model_folder)


def test_a_linked_subfolder_is_refused_not_followed(model_folder, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", model_folder / "sub", target_is_directory=True)
    with pytest.raises(ModelIntegrityError, match="symbolic link"):
        directory_manifest(model_folder)


def test_a_manifest_whose_digest_is_not_the_pin_is_refused(model_folder):
    pin = write_digest(model_folder)
    listed = parse_manifest((model_folder / DIGEST_FILE).read_text(encoding="utf-8"))
    assert listed is not None
    assert verify_manifest(listed, pin) == listed
    with pytest.raises(ModelIntegrityError, match=f"MODEL_SHA256 is {'0' * 64}"):
        verify_manifest(listed, "0" * 64)


def test_a_digest_only_file_from_before_manifests_is_recognised():
    assert parse_manifest("ab" * 32 + "\n") is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not a manifest\n", "line 1 is not"),
        (f"{'a' * 64}  ../escape.pkl\n", "'..' path segment"),
        (f"{'a' * 64}  /etc/passwd\n", "absolute path"),
        (f"{'a' * 64}  x\n{'b' * 64}  x\n", "twice"),
        (f"{'a' * 64}  {DIGEST_FILE}\n", "twice"),
        ("", "lists no files"),
    ],
)
def test_malformed_manifests_are_refused_with_the_reason(text, problem):
    with pytest.raises(ModelIntegrityError, match=problem):
        parse_manifest(text)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "empty"),
        ("../model.pkl", "'..'"),
        ("a/../../model.pkl", "'..'"),
        ("..", "'..'"),
        ("./model.pkl", "'.'"),
        ("/etc/cron.d/evil", "absolute"),
        ("a//b", "empty path segment"),
        ("a/", "empty path segment"),
        ("a\\..\\b", "backslash"),
        ("a\nb", "control character"),
        ("x" * 256, "longer than 255 bytes"),
    ],
)
def test_unsafe_names_are_refused_with_the_reason(name, problem):
    with pytest.raises(UnsafeNameError, match=problem):
        safe_relative_path(name)


@pytest.mark.parametrize("name", ["MLmodel", "model.skops", "a/b/c.txt", "..hidden", "a..b", "é/ü.pkl", "x" * 255])
def test_plain_names_are_accepted_as_they_are(name):
    assert safe_relative_path(name) == name


@given(st.text(alphabet=st.sampled_from(["a", "b", ".", "/", "\\", " ", "é", "\x00", "\n"]), max_size=24))
def test_any_accepted_name_stays_inside_the_folder(name):
    """The property the download relies on: an accepted name, joined onto a folder, names a path under it."""
    try:
        accepted = safe_relative_path(name)
    except UnsafeNameError:
        return
    root = PurePosixPath("/download/folder")
    joined = root / accepted
    assert ".." not in joined.parts and "." not in accepted.split("/")
    assert joined.is_relative_to(root) and joined != root
    assert PurePosixPath(os.path.normpath(joined)) == joined


def test_a_missing_model_folder_is_an_integrity_error_naming_it(tmp_path):
    with pytest.raises(ModelIntegrityError, match=f"cannot read the model at {tmp_path / 'absent'}"):
        directory_manifest(tmp_path / "absent")


@given(
    st.text(
        alphabet=st.sampled_from(["a", "/", "\n", "\r", "\x85", "\u2028", "\u2029", "\x1e", "\x0c", "é"]),
        min_size=1,
        max_size=12,
    )
)
def test_publish_and_load_apply_one_name_rule(name):
    """Issue 22 row 7 (`notes\\u2028v2.txt`): whatever name the publisher accepts, the loader reads back from
    the manifest as that one name; a name either refuses is refused by both."""
    try:
        safe_relative_path(name)
    except UnsafeNameError:
        with pytest.raises(ModelIntegrityError):
            parse_manifest(f"{'1' * 64}  MLmodel\n{'0' * 64}  {name}\n")
        return
    assert parse_manifest(format_manifest({name: "0" * 64, "MLmodel": "1" * 64})) == {
        name: "0" * 64,
        "MLmodel": "1" * 64,
    }


def test_a_name_the_loader_would_refuse_is_refused_by_publish(model_folder):
    (model_folder / "notes\u2028v2.txt").write_text("release notes")
    with pytest.raises(ModelIntegrityError, match=r"'notes\\u2028v2.txt' .* line separator \(U\+2028\)"):
        write_digest(model_folder)
    assert not (model_folder / DIGEST_FILE).exists()


def test_the_pin_survives_mlflow_loading_the_model_and_still_covers_every_other_file(model_folder):
    """Issue 22 row 8: `mlflow.pyfunc.load_model("models:/...")` writes `registered_model_meta` into the
    artifacts folder; the printed pin must still verify, while a change to any file of the model fails it."""
    from mlflow.store.artifact.models_artifact_repo import REGISTERED_MODEL_META_FILE_NAME

    pin = write_digest(model_folder)
    (model_folder / REGISTERED_MODEL_META_FILE_NAME).write_text("model_name: ride-duration\nmodel_version: '3'\n")
    assert verify_directory(model_folder, pin) == parse_manifest((model_folder / DIGEST_FILE).read_text())
    (model_folder / "a" / REGISTERED_MODEL_META_FILE_NAME).write_text("not MLflow's: inside a subfolder")
    with pytest.raises(ModelIntegrityError, match="refusing to load"):
        verify_directory(model_folder, pin)
