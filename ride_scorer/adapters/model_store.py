"""The one model loader of every mode: fetch the MLflow model directory from S3 (or use a local one), verify
it against the pinned digest and load its scoring form, with the download overlapped with numpy's import.

Everything read from the bucket is treated as hostile until the pinned digest (MODEL_SHA256, from the
deployment) says otherwise: each load downloads into a fresh private folder (mode 0700, unpredictable
name, removed once the model is loaded or refused, so nothing of a failed load is reused), every key must
name a plain file inside that folder, and when the model carries a manifest (`model.sha256`) whose digest
is the pin, any object it does not list is refused before a byte of the model is fetched. With that
manifest, the scorer fetches only the files it reads (ride_scorer/core/model_files.py), each then checked
against it: MLflow's flavours, pickle included, never leave the bucket.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ride_scorer.adapters.aws_clients import client
from ride_scorer.core.integrity import (
    DIGEST_FILE,
    MANIFEST_MAX_BYTES,
    MLFLOW_LOAD_METADATA,
    Manifest,
    ModelIntegrityError,
    UnsafeNameError,
    parse_manifest,
    safe_relative_path,
    verify_manifest,
)
from ride_scorer.core.model import ModelLoadError, RideDurationModel, import_model_libraries, load_model
from ride_scorer.core.model_files import MLMODEL, SCORER_FILES
from ride_scorer.core.settings import ALLOW_UNPINNED_MODEL, MISSING_PIN, ConfigError

logger = logging.getLogger(__name__)

DOWNLOAD_WORKERS = 8
DOWNLOAD_FOLDER_PREFIX = "ride-scorer-model-"
# O_EXCL: never write into a file that is already there; O_NOFOLLOW: never through a link.
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


# What stops a mode before it scores anything: a setting missing or malformed, a model that cannot be loaded,
# or one that is not the pinned model. Every mode reports these the same way (one line, exit 1).
STARTUP_ERRORS: tuple[type[Exception], ...] = (ConfigError, ModelLoadError, ModelIntegrityError)


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key.strip("/")


@dataclass(frozen=True)
class _ModelObjects:
    """What is under the model's prefix: the files to download (name in the folder -> key) and the
    manifest's bytes, if the model has one."""

    files: dict[str, str]
    manifest_text: str | None


def fetch_model_directory(
    location: str,
    s3_client: Any,
    download_root: Path,
    expected_sha256: str | None = None,
    names: Collection[str] | None = None,
) -> Path:
    """Download the model under an s3:// prefix into a new private folder under `download_root` and return
    that folder, which the caller removes; a local path is returned as it is.

    With `names` (the files the caller reads) and a manifest, only the listed files among them are fetched,
    beside the manifest they are checked against; a model without a manifest is fetched whole, since only the
    digest of all its files can be checked.

    Raises `ModelIntegrityError` for a key that would leave the folder, a manifest whose digest is not
    `expected_sha256`, or an object the manifest does not list; `ModelLoadError` when S3 cannot be read.
    """
    if not location.startswith("s3://"):
        directory = Path(location)
        if not (directory / MLMODEL).is_file():
            raise ModelLoadError(f"MODEL_LOCATION={location!r}: no MLmodel file in that directory")
        return directory
    bucket, prefix = split_s3_uri(location)
    objects = _model_objects(s3_client, bucket, prefix, location, expected_sha256, names)
    download_root.mkdir(parents=True, exist_ok=True)
    # mkdtemp: a new folder each load, mode 0700, a name nobody can guess and plant a link at beforehand.
    folder = Path(tempfile.mkdtemp(prefix=DOWNLOAD_FOLDER_PREFIX, dir=download_root))
    try:
        _make_folders(folder, objects.files, location)
        # Files download in parallel: each GetObject waits on its own round trip (boto3 clients are thread-safe).
        with ThreadPoolExecutor(max_workers=DOWNLOAD_WORKERS) as pool:
            downloads = [
                pool.submit(_fetch, s3_client, bucket, key, folder, name, location)
                for name, key in objects.files.items()
            ]
            for download in downloads:
                download.result()
        if objects.manifest_text is not None:  # read only to name the files that differ, if any do
            with _create(folder / DIGEST_FILE) as handle:
                handle.write(objects.manifest_text.encode("utf-8"))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _model_objects(
    s3_client: Any, bucket: str, prefix: str, location: str, expected_sha256: str | None, names: Collection[str] | None
) -> _ModelObjects:
    files: dict[str, str] = {}
    for key in _list_keys(s3_client, bucket, prefix + "/", location):
        name = key[len(prefix) + 1 :]
        if name == "" or name in MLFLOW_LOAD_METADATA:
            continue  # the prefix's own folder marker; what MLflow writes when it loads (not the model's)
        if name.endswith("/"):  # a folder marker (the S3 console makes them): nothing to download
            _check_name(name[:-1], bucket, key, location)
            continue
        files[_check_name(name, bucket, key, location)] = key
    if MLMODEL not in files:
        raise ModelLoadError(f"MODEL_LOCATION={location!r}: no MLmodel object under that prefix")
    manifest_key = files.pop(DIGEST_FILE, None)
    if manifest_key is None:
        return _ModelObjects(files, None)
    text = _read_manifest(s3_client, bucket, manifest_key, location)
    try:
        listed = parse_manifest(text)
    except ModelIntegrityError as error:
        raise ModelIntegrityError(f"MODEL_LOCATION={location!r}: {error}") from None
    if listed is None:
        # Published before manifests: the pinned digest still covers every file downloaded, so an extra
        # object fails the check in `load_model`; only the early, named refusal is missing.
        return _ModelObjects(files, None)
    if expected_sha256 is not None:
        try:
            verify_manifest(listed, expected_sha256)
        except ModelIntegrityError as error:
            raise ModelIntegrityError(f"MODEL_LOCATION={location!r}: {error}") from None
    _check_listed(files, listed, bucket, location)
    if names is not None:
        files = {name: key for name, key in files.items() if name in names}
    return _ModelObjects(files, text)


def _check_name(name: str, bucket: str, key: str, location: str) -> str:
    try:
        return safe_relative_path(name)
    except UnsafeNameError as error:
        raise ModelIntegrityError(
            f"MODEL_LOCATION={location!r}: refusing the object s3://{bucket}/{key}: its name under the prefix, "
            f"{name!r}, would not be a plain file in the model's folder ({error})"
        ) from None


def _check_listed(files: dict[str, str], listed: Manifest, bucket: str, location: str) -> None:
    unlisted = sorted(set(files) - set(listed))
    if unlisted:
        shown = ", ".join(f"s3://{bucket}/{files[name]}" for name in unlisted[:5])
        more = f" and {len(unlisted) - 5} more" if len(unlisted) > 5 else ""
        raise ModelIntegrityError(
            f"MODEL_LOCATION={location!r}: refusing the model: {shown}{more} "
            f"{'is' if len(unlisted) == 1 else 'are'} not listed in its {DIGEST_FILE}"
        )
    missing = sorted(set(listed) - set(files))
    if missing:
        raise ModelIntegrityError(
            f"MODEL_LOCATION={location!r}: {DIGEST_FILE} lists {', '.join(missing[:5])}, not in the bucket"
        )


def _read_manifest(s3_client: Any, bucket: str, key: str, location: str) -> str:
    try:
        data = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read(MANIFEST_MAX_BYTES + 1)
    except Exception as error:  # botocore raises many types; all mean "cannot load"
        raise ModelLoadError(f"MODEL_LOCATION={location!r}: cannot download {key}: {error}") from error
    if len(data) > MANIFEST_MAX_BYTES:
        raise ModelIntegrityError(f"MODEL_LOCATION={location!r}: {key} is larger than {MANIFEST_MAX_BYTES} bytes")
    try:
        return str(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ModelIntegrityError(f"MODEL_LOCATION={location!r}: {key} is not UTF-8 text") from None


def _make_folders(folder: Path, files: dict[str, str], location: str) -> None:
    """Each subfolder once, before the parallel downloads; a name that is both a file and a folder (keys
    `a` and `a/b`) is refused, since only one of them could be written."""
    folders = {"/".join(name.split("/")[:depth]) for name in files for depth in range(1, name.count("/") + 1)}
    clashes = sorted(folders & set(files))
    if clashes:
        raise ModelIntegrityError(
            f"MODEL_LOCATION={location!r}: {clashes[0]!r} is both an object and a folder under the prefix"
        )
    for name in sorted(folders, key=lambda path: path.count("/")):
        (folder / name).mkdir(mode=0o700)


def _fetch(s3_client: Any, bucket: str, key: str, folder: Path, name: str, location: str) -> None:
    try:
        with _create(folder / name) as handle:
            _download(s3_client, bucket, key, handle)
    except Exception as error:
        raise ModelLoadError(f"MODEL_LOCATION={location!r}: cannot download {key}: {error}") from error


def _create(path: Path) -> BinaryIO:
    return os.fdopen(os.open(path, _NEW_FILE_FLAGS, 0o600), "wb")


def _download(s3_client: Any, bucket: str, key: str, handle: BinaryIO) -> None:
    """A plain streamed GetObject: for a model's handful of files, download_file's HEAD request and
    transfer thread pool cost more cold-start time than they save."""
    body = s3_client.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in body.iter_chunks(chunk_size=1 << 20):
        handle.write(chunk)


def _list_keys(s3_client: Any, bucket: str, prefix: str, location: str) -> list[str]:
    try:
        pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]
    except Exception as error:  # botocore raises many types; all mean "cannot load"
        raise ModelLoadError(f"MODEL_LOCATION={location!r}: cannot list the model in S3: {error}") from error


class ModelSource(Protocol):
    """Where the model is and its pinned digest: every mode's settings say so. Settings may also carry
    `allow_unpinned_model` (ModelSettings does: the HTTP service and the batch job); settings without it
    (the stream scorer's, the one that is deployed) never load an unpinned model."""

    @property
    def model_location(self) -> str: ...

    @property
    def model_sha256(self) -> str | None: ...


def load_model_from(
    settings: ModelSource, s3_client: Any = None, download_root: Path | None = None
) -> RideDurationModel:
    """Download the model while numpy and the scoring form import: two large parts of a cold start, overlapped.

    Without a pinned digest the load is refused (`ConfigError` naming MODEL_SHA256) unless the settings
    allow an unpinned model. Without `s3_client`, a boto3 S3 client is made for an s3:// location only (the
    Lambda passes its own). Downloads go to a new folder under `download_root` (default: the system's
    temporary folder), removed once the model is loaded or refused.
    """
    expected = settings.model_sha256
    if expected is None:
        if not hasattr(settings, "allow_unpinned_model"):  # the stream scorer's: it is what gets deployed
            raise ConfigError(
                "MODEL_SHA256 is not set: the stream scorer loads only a pinned model; set it to the digest "
                f"`python -m training publish` printed ({ALLOW_UNPINNED_MODEL} is for the HTTP service and "
                "batch job run locally)"
            )
        if not settings.allow_unpinned_model:
            raise ConfigError(MISSING_PIN)
        logger.warning(
            "%s=true: loading %s without a pinned digest; whoever can write there can run code in this "
            "process. For local work only.",
            ALLOW_UNPINNED_MODEL,
            settings.model_location,
        )
    location = settings.model_location
    downloaded = location.startswith("s3://")
    if s3_client is None and downloaded:
        s3_client = client("s3")
    root = download_root or Path(tempfile.gettempdir())
    with ThreadPoolExecutor(max_workers=1) as pool:
        fetched = pool.submit(fetch_model_directory, location, s3_client, root, expected, SCORER_FILES)
        try:
            import_model_libraries()
        except BaseException:
            _discard(fetched, downloaded)
            raise
        directory = fetched.result()
    try:
        return load_model(directory, expected)
    finally:
        if downloaded:
            shutil.rmtree(directory, ignore_errors=True)


def _discard(fetched: Future[Path], downloaded: bool) -> None:
    """The import failed: wait for the download and remove what it wrote; its own error, if any, is moot."""
    try:
        directory = fetched.result()
    except Exception:  # the import's error is the one to report
        return
    if downloaded:
        shutil.rmtree(directory, ignore_errors=True)
