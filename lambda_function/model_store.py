"""Fetch an MLflow model directory from S3 (or use a local one) into a folder the loader can read."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from lambda_function.model import ModelLoadError


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
    for key in keys:
        destination = target / key[len(prefix) + 1 :]
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            _download(s3_client, bucket, key, destination)
        except Exception as error:
            raise ModelLoadError(f"MODEL_LOCATION={location!r}: cannot download {key}: {error}") from error
    return target


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
