"""The model download against moto's real S3 server on 127.0.0.1, as the scorer meets a hostile or broken bucket.

Whoever can write to the model bucket controls the keys under the prefix and every byte of them; the
scorer's only trust is the digest the deployment pins (MODEL_SHA256). These tests put such objects there
and check that the download stays inside a fresh private folder, refuses what it must, and that a failed
load leaves nothing a later one reuses.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ride_scorer.adapters.aws_clients import client
from ride_scorer.adapters.model_store import DOWNLOAD_FOLDER_PREFIX, fetch_model_directory, load_model_from
from ride_scorer.core.integrity import (
    DIGEST_FILE,
    ModelIntegrityError,
    UnsafeNameError,
    directory_digest,
    directory_manifest,
    format_manifest,
    manifest_digest,
    safe_relative_path,
)
from ride_scorer.core.model import ModelLoadError, load_model
from ride_scorer.core.model_files import FORM_ARRAYS, SCORER_FILES
from ride_scorer.core.settings import ModelSettings
from ride_scorer.stream.settings import ScorerSettings
from tests.shared.fakes.models import write_mlflow_model
from training.publish import PublishResult, publish_model

RIDE = [{"PU_DO": "74_75", "trip_distance": 1.2}]


@pytest.fixture
def bucket(aws_env, unique_prefix) -> str:
    client("s3").create_bucket(Bucket=unique_prefix)
    return unique_prefix


@pytest.fixture
def published(bucket, trained_model_dir) -> PublishResult:
    return publish_model(trained_model_dir, bucket, "models/ride-duration", "abc", client("s3"))


def scorer_settings(location: str, pin: str | None) -> ScorerSettings:
    """The Lambda's settings, read from its environment as the handler reads them."""
    environment = {
        "MODEL_LOCATION": location,
        "PREDICTIONS_STREAM_NAME": "ride-predictions",
        "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/ride-dlq",
    }
    return ScorerSettings.from_env({**environment, **({"MODEL_SHA256": pin} if pin else {})})


def files_under(root: Path) -> list[str]:
    """Every file and link under `root`, links not followed."""
    return sorted(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, folders, names in os.walk(root)
        for name in [*names, *(entry for entry in folders if os.path.islink(os.path.join(folder, entry)))]
    )


# The Lambda passes its own S3 client; the batch job and the HTTP service let the store make one.
@pytest.mark.parametrize("own_client", [True, False], ids=["given-client", "default-client"])
def test_published_model_loads_when_pinned_and_its_download_is_removed(
    published, trained_model_dir, tmp_path, own_client
):
    downloads = tmp_path / "downloads"
    s3 = client("s3") if own_client else None
    model = load_model_from(scorer_settings(published.model_location, published.sha256), s3, downloads)
    assert model.predict(RIDE) == load_model(trained_model_dir).predict(RIDE)
    assert model.metadata.digest == published.sha256 == directory_digest(trained_model_dir)
    assert files_under(downloads) == []


def test_each_download_is_a_new_private_folder_at_an_unpredictable_path(published, tmp_path):
    downloads = tmp_path / "downloads"
    first = fetch_model_directory(published.model_location, client("s3"), downloads, published.sha256)
    second = fetch_model_directory(published.model_location, client("s3"), downloads, published.sha256)
    try:
        assert first != second and first.parent == second.parent == downloads
        assert first.name.startswith(DOWNLOAD_FOLDER_PREFIX) and len(first.name) > len(DOWNLOAD_FOLDER_PREFIX) + 4
        assert stat.S_IMODE(first.stat().st_mode) == 0o700
        modes = {(path.is_dir(), stat.S_IMODE(path.stat().st_mode)) for path in first.rglob("*")}
        assert modes == {(False, 0o600), (True, 0o700)}  # files, and the scoring form's folder
        assert directory_digest(first) == published.sha256
    finally:
        shutil.rmtree(first)
        shutil.rmtree(second)


@pytest.mark.parametrize(
    "name",
    ["../escape.pkl", "sub/../../escape.pkl", "/escape.pkl", "a\\..\\..\\escape.pkl", "./MLmodel", "x//escape.pkl"],
    ids=["dot-dot", "nested-dot-dot", "leading-slash", "backslashes", "dot", "empty-segment"],
)
def test_a_key_that_would_leave_the_folder_is_refused_and_nothing_is_written(published, bucket, tmp_path, name):
    key = f"models/ride-duration/abc/{name}"
    client("s3").put_object(Bucket=bucket, Key=key, Body=b"planted by whoever can write to the bucket")
    with pytest.raises(ModelIntegrityError, match=re.escape(f"refusing the object s3://{bucket}/{key}:")):
        load_model_from(scorer_settings(published.model_location, published.sha256), client("s3"), tmp_path / "dl")
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("pinned", [True, False], ids=["pinned", "opted-out"])
def test_an_object_the_manifest_does_not_list_is_refused(published, bucket, tmp_path, pinned):
    client("s3").put_object(Bucket=bucket, Key="models/ride-duration/abc/extra.pkl", Body=b"not published")
    settings = (
        scorer_settings(published.model_location, published.sha256)
        if pinned
        else ModelSettings.from_env({"MODEL_LOCATION": published.model_location, "ALLOW_UNPINNED_MODEL": "true"})
    )
    expected = f"s3://{bucket}/models/ride-duration/abc/extra.pkl is not listed in its {DIGEST_FILE}"
    with pytest.raises(ModelIntegrityError, match=re.escape(expected)):
        load_model_from(settings, client("s3"), tmp_path / "downloads")
    assert files_under(tmp_path) == []


def test_a_digest_mismatch_then_a_repaired_bucket_loads_in_the_same_process(
    published, bucket, trained_model_dir, tmp_path
):
    """The stale files of a refused load once kept every later load failing in the same container."""
    settings = scorer_settings(published.model_location, published.sha256)
    downloads = tmp_path / "downloads"
    client("s3").put_object(Bucket=bucket, Key="models/ride-duration/abc/scorer/form.json", Body=b"tampered")

    with pytest.raises(ModelIntegrityError, match=r"MODEL_SHA256 is .*files that differ .*: scorer/form\.json"):
        load_model_from(settings, client("s3"), downloads)
    assert files_under(downloads) == []

    publish_model(trained_model_dir, bucket, "models/ride-duration", "abc", client("s3"))  # the operator repairs
    assert load_model_from(settings, client("s3"), downloads).predict(RIDE) == load_model(trained_model_dir).predict(
        RIDE
    )
    assert files_under(downloads) == []


@pytest.mark.parametrize(
    ("tampered", "read"),
    [("MLmodel", True), (FORM_ARRAYS, True), ("model.skops", False)],  # each publish costs 0.6 s
)
def test_the_scorer_fetches_only_the_files_it_reads_and_checks_each_against_the_pinned_manifest(
    published, bucket, trained_model_dir, tmp_path, tampered, read
):
    """MLflow's flavours never leave the bucket: a changed one cannot change a prediction, a changed file the
    scorer reads is refused by name."""
    client("s3").put_object(Bucket=bucket, Key=f"models/ride-duration/abc/{tampered}", Body=b"tampered")
    fetched = fetch_model_directory(
        published.model_location, client("s3"), tmp_path / "fetched", published.sha256, SCORER_FILES
    )
    assert files_under(fetched) == sorted(SCORER_FILES & set(directory_manifest(trained_model_dir)) | {DIGEST_FILE})
    shutil.rmtree(fetched)

    settings = scorer_settings(published.model_location, published.sha256)
    if read:
        with pytest.raises(ModelIntegrityError, match=f"files that differ from its {DIGEST_FILE}: {tampered}\\)"):
            load_model_from(settings, client("s3"), tmp_path / "dl")
    else:
        model = load_model_from(settings, client("s3"), tmp_path / "dl")
        assert model.predict(RIDE) == load_model(trained_model_dir).predict(RIDE)
        assert model.metadata.digest == published.sha256
    assert files_under(tmp_path / "dl") == []


def test_another_model_published_over_the_pinned_one_is_refused_before_download(published, bucket, tmp_path):
    """A swapped model comes with a manifest that matches it; the pin is what refuses it."""
    impostor = write_mlflow_model(tmp_path / "impostor", run_id="impostor")
    swapped = publish_model(impostor, bucket, "models/ride-duration", "abc", client("s3"))
    assert swapped.model_location == published.model_location
    with pytest.raises(ModelIntegrityError, match=f"lists files whose digest is {swapped.sha256}, but MODEL_SHA256"):
        load_model_from(scorer_settings(published.model_location, published.sha256), client("s3"), tmp_path / "dl")
    assert not (tmp_path / "dl").exists() or files_under(tmp_path / "dl") == []


def test_a_model_published_before_manifests_loads_with_its_pin_and_refuses_extra_objects(
    bucket, trained_model_dir, tmp_path
):
    """Its model.sha256 holds only the digest: the pin still covers every file downloaded."""
    pin = directory_digest(trained_model_dir)
    prefix = "models/ride-duration/legacy"
    s3 = client("s3")
    for path in sorted(p for p in trained_model_dir.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(trained_model_dir).as_posix()}")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/{DIGEST_FILE}", Body=f"{pin}\n".encode())
    settings = scorer_settings(f"s3://{bucket}/{prefix}", pin)

    assert load_model_from(settings, s3, tmp_path / "dl").metadata.digest == pin

    s3.put_object(Bucket=bucket, Key=f"{prefix}/extra.pkl", Body=b"not published")
    with pytest.raises(ModelIntegrityError, match="refusing to load it"):
        load_model_from(settings, s3, tmp_path / "dl")
    assert files_under(tmp_path / "dl") == []


def test_missing_model_prefix_is_a_clear_load_error(bucket, tmp_path):
    with pytest.raises(ModelLoadError, match="no MLmodel object under that prefix"):
        load_model_from(scorer_settings(f"s3://{bucket}/nothing/here", "0" * 64), client("s3"), tmp_path)


# Arbitrary key names under the prefix.

ANY_NAME = st.text(alphabet=st.sampled_from([*"ab.-_ /\\%~", "é", "\x01", "\t"]), min_size=1, max_size=20)
# Names built from path segments: mostly plain ones, so that both outcomes are common.
SEGMENTED_NAME = st.lists(st.text(alphabet="ab.-_ é%~", min_size=1, max_size=6), min_size=1, max_size=3).map("/".join)
NAMES = st.one_of(ANY_NAME, SEGMENTED_NAME).filter(lambda name: name != DIGEST_FILE)
# Deeper than any name above can climb with `..`, so an escape would still land inside the sandbox.
NESTING = "1/2/3/4/5/6/7/8/9/10/11"


@pytest.fixture(scope="module")
def fuzz_s3(moto_endpoint):
    return moto_endpoint.client("s3")


@pytest.fixture(scope="module")
def fuzz_bucket(fuzz_s3) -> str:
    name = f"rs-fuzz-{uuid.uuid4().hex[:10]}"
    fuzz_s3.create_bucket(Bucket=name)
    return name


def is_refused(name: str) -> bool:
    try:
        safe_relative_path(name[:-1] if name.endswith("/") else name)
    except UnsafeNameError:
        return True
    return False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(NAMES, min_size=1, max_size=3, unique=True), with_manifest=st.booleans())
def test_any_key_under_the_prefix_lands_in_the_folder_or_is_refused(
    names, with_manifest, fuzz_s3, fuzz_bucket, tmp_path_factory
):
    s3 = fuzz_s3
    prefix = f"fuzz/{uuid.uuid4().hex}"
    sandbox = tmp_path_factory.mktemp("sandbox")
    bodies = {"MLmodel": b"flavors: {}\n"} | {name: f"body of {name!r}".encode() for name in names}
    files = {name: body for name, body in bodies.items() if not name.endswith("/")}
    if with_manifest:
        listed = {name: hashlib.sha256(body).hexdigest() for name, body in files.items()}
        bodies[DIGEST_FILE] = format_manifest(listed).encode()
    for name, body in bodies.items():
        s3.put_object(Bucket=fuzz_bucket, Key=f"{prefix}/{name}", Body=body)
    pin = manifest_digest(listed) if with_manifest else None
    clash = any(other.startswith(name + "/") for name in files for other in bodies)

    try:
        folder = fetch_model_directory(f"s3://{fuzz_bucket}/{prefix}", s3, sandbox / NESTING, pin)
    except ModelIntegrityError as error:
        event("refused")
        assert any(is_refused(name) for name in names) or clash, error
        assert str(error).startswith(f"MODEL_LOCATION='s3://{fuzz_bucket}/{prefix}': ")
        assert files_under(sandbox) == []
        return
    event("loaded into the folder")
    assert not any(is_refused(name) for name in names) and not clash
    written = {path: (folder / path).read_bytes() for path in files_under(folder)}
    assert written == files | ({DIGEST_FILE: bodies[DIGEST_FILE]} if with_manifest else {})
    relative_folder = folder.relative_to(sandbox).as_posix()
    assert all(path.startswith(relative_folder + "/") for path in files_under(sandbox))
    shutil.rmtree(folder)
