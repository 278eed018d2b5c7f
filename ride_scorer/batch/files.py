"""Where batch files come from and go to: a local path or s3://bucket/key, through the project's boto3
client (so AWS_ENDPOINT_URL points it at LocalStack or moto like everything else).

An S3 input is downloaded to a temporary file and read from disk chunk by chunk, so memory stays bounded
by the chunk, not the file. Outputs are written beside their destination under a temporary name and only
moved into place (or uploaded) once complete: a failed run never leaves a file that looks finished.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from ride_scorer.adapters.aws_clients import client
from ride_scorer.adapters.model_store import split_s3_uri

S3ClientFactory = Callable[[], Any]


class BatchIOError(RuntimeError):
    """An input cannot be read or an output cannot be written; the message names the location."""


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def default_rejects_location(output: str) -> str:
    """`out/scored.parquet` -> `out/scored.rejects.parquet`, locally or in S3."""
    if is_s3(output):
        bucket, key = split_s3_uri(output)
        return f"s3://{bucket}/{_rejects_name(PurePosixPath(key))}"
    return str(_rejects_name(Path(output)))


def _rejects_name(path: PurePosixPath | Path) -> PurePosixPath | Path:
    stem = path.name.removesuffix(".parquet")
    return path.with_name(f"{stem}.rejects.parquet")


@contextmanager
def readable_file(location: str, s3_client: S3ClientFactory = lambda: client("s3")) -> Iterator[Path]:
    """A local path to read `location` from; an S3 object is downloaded first and removed afterwards."""
    if not is_s3(location):
        path = Path(location)
        if not path.is_file():
            raise BatchIOError(f"input {location!r} does not exist or is not a file")
        yield path
        return
    bucket, key = split_s3_uri(location)
    if not bucket or not key:
        raise BatchIOError(f"input {location!r} must be s3://bucket/key")
    with tempfile.TemporaryDirectory(prefix="ride-scorer-batch-") as folder:
        target = Path(folder) / PurePosixPath(key).name
        try:
            s3_client().download_file(bucket, key, str(target))
        except Exception as error:  # botocore raises many types; all mean "cannot read the input"
            raise BatchIOError(f"cannot download input {location!r}: {error}") from error
        yield target


@contextmanager
def writable_file(location: str, s3_client: S3ClientFactory = lambda: client("s3")) -> Iterator[Path]:
    """A temporary local path to write; moved to `location` (or uploaded) only if the block succeeds."""
    if is_s3(location):
        bucket, key = split_s3_uri(location)
        if not bucket or not key:
            raise BatchIOError(f"output {location!r} must be s3://bucket/key")
        with tempfile.TemporaryDirectory(prefix="ride-scorer-batch-") as folder:
            path = Path(folder) / PurePosixPath(key).name
            yield path
            try:
                s3_client().upload_file(str(path), bucket, key)
            except Exception as error:
                raise BatchIOError(f"cannot upload output to {location!r}: {error}") from error
        return
    destination = Path(location)
    if not destination.parent.is_dir():
        raise BatchIOError(f"output {location!r}: folder {str(destination.parent)!r} does not exist")
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    try:
        yield partial
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
