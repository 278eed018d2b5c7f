"""The one model loader of every mode: fetch the MLflow model directory from S3 (or use a local one), verify
its digest and load it, with the download overlapped with scikit-learn's import."""

from __future__ import annotations

import hashlib
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from ride_scorer.adapters.aws_clients import client
from ride_scorer.core.model import ModelLoadError, RideDurationModel, import_model_libraries, load_model

DOWNLOAD_WORKERS = 8


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key.strip("/")


def fetch_model_directory(location: str, s3_client: Any, cache_root: Path) -> Path:
    """Download every object under the prefix once per container; a local path is used where it is."""
    if not location.startswith("s3://"):
        directory = Path(location)
        if not (directory / "MLmodel").is_file():
            raise ModelLoadError(f"MODEL_LOCATION={location!r}: no MLmodel file in that directory")
        return directory
    bucket, prefix = split_s3_uri(location)
    target = cache_root / hashlib.sha256(location.encode()).hexdigest()[:16]
    keys = _list_keys(s3_client, bucket, prefix + "/", location)
    if prefix + "/MLmodel" not in keys:
        raise ModelLoadError(f"MODEL_LOCATION={location!r}: no MLmodel object under that prefix")
    # Files download in parallel: each GetObject waits on its own round trip (boto3 clients are thread-safe).
    with ThreadPoolExecutor(max_workers=DOWNLOAD_WORKERS) as pool:
        downloads = [
            pool.submit(_fetch, s3_client, bucket, key, target / key[len(prefix) + 1 :], location) for key in keys
        ]
        for download in downloads:
            download.result()
    return target


def _fetch(s3_client: Any, bucket: str, key: str, destination: Path, location: str) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        _download(s3_client, bucket, key, destination)
    except Exception as error:
        raise ModelLoadError(f"MODEL_LOCATION={location!r}: cannot download {key}: {error}") from error


def _download(s3_client: Any, bucket: str, key: str, destination: Path) -> None:
    """A plain streamed GetObject: for a model's handful of files, download_file's HEAD request and
    transfer thread pool cost more cold-start time than they save."""
    body = s3_client.get_object(Bucket=bucket, Key=key)["Body"]
    with destination.open("wb") as handle:
        for chunk in body.iter_chunks(chunk_size=1 << 20):
            handle.write(chunk)


def _list_keys(s3_client: Any, bucket: str, prefix: str, location: str) -> list[str]:
    try:
        pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", []) if not item["Key"].endswith("/")]
    except Exception as error:  # botocore raises many types; all mean "cannot load"
        raise ModelLoadError(f"MODEL_LOCATION={location!r}: cannot list the model in S3: {error}") from error


class ModelSource(Protocol):
    """Where the model is and its pinned digest: every mode's settings say so."""

    @property
    def model_location(self) -> str: ...

    @property
    def model_sha256(self) -> str | None: ...


def load_model_from(settings: ModelSource, s3_client: Any = None, cache_root: Path | None = None) -> RideDurationModel:
    """Download the model while scikit-learn imports: the two largest parts of a cold start, overlapped.

    Without `s3_client`, a boto3 S3 client is made for an s3:// location only (the Lambda passes its own).
    """
    if s3_client is None and settings.model_location.startswith("s3://"):
        s3_client = client("s3")
    root = cache_root or Path(tempfile.gettempdir()) / "ride-scorer-model"
    with ThreadPoolExecutor(max_workers=1) as pool:
        directory = pool.submit(fetch_model_directory, settings.model_location, s3_client, root)
        import_model_libraries()
        return load_model(directory.result(), settings.model_sha256)
