"""The files under a prefix: an S3 prefix (`s3://bucket/rides/`) or a local folder, listed with what the
prefix mode needs to know of each file without reading it twice: its name under the prefix, a fingerprint of
its content and when it was last written.

S3 is listed with ListObjectsV2 (paginated, through the project's boto3 client, so botocore's standard retry
mode retries throttling and transient errors); a listing needs `s3:ListBucket` with the prefix, nothing else.
The fingerprint is the object's ETag (it changes whenever the object's bytes do); a local file's is the
SHA-256 of its bytes. Hidden local files (a `.x.partial` being written) are not listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ride_scorer.adapters.aws_clients import client
from ride_scorer.adapters.model_store import split_s3_uri
from ride_scorer.batch.files import BatchIOError, is_s3
from ride_scorer.core.integrity import file_digest

S3ClientFactory = Callable[[], Any]


@dataclass(frozen=True)
class StoredFile:
    """One file under a prefix. `name` is its path below the prefix, with `/` separators in both stores."""

    location: str
    name: str
    fingerprint: str
    modified: datetime


def prefix_root(prefix: str) -> str:
    """The prefix as the folder it names: `s3://b/rides` and `s3://b/rides/` are both `s3://b/rides/`
    (so `rides2/` is never under `rides`); the whole bucket is `s3://b/`."""
    if is_s3(prefix):
        bucket, key = split_s3_uri(prefix)
        return f"s3://{bucket}/{key}/" if key else f"s3://{bucket}/"
    return str(Path(prefix))


def location_under(prefix: str, name: str) -> str:
    """Where the file called `name` below `prefix` is (or goes)."""
    root = prefix_root(prefix)
    return f"{root}{name}" if is_s3(root) else str(Path(root, *PurePosixPath(name).parts))


def overlapping(first: str, second: str) -> bool:
    """Whether one prefix holds the other (or they are one): the outputs written under one would be listed
    as files of the other."""
    if is_s3(first) != is_s3(second):
        return False
    if is_s3(first):
        one, other = prefix_root(first), prefix_root(second)
        return one.startswith(other) or other.startswith(one)
    one_path, other_path = Path(first).resolve(), Path(second).resolve()
    return one_path.is_relative_to(other_path) or other_path.is_relative_to(one_path)


def list_files(
    prefix: str,
    suffix: str = "",
    fingerprints: bool = True,
    s3_client: S3ClientFactory = lambda: client("s3"),
) -> list[StoredFile]:
    """Every file under `prefix` whose name ends with `suffix`, sorted by name. An empty or missing S3 prefix
    lists nothing; a local prefix that is not a folder is a BatchIOError. `fingerprints=False` spares hashing
    local files when only names and times are wanted."""
    if is_s3(prefix):
        return _list_s3(prefix, suffix, s3_client)
    return _list_local(prefix, suffix, fingerprints)


def _list_s3(prefix: str, suffix: str, s3_client: S3ClientFactory) -> list[StoredFile]:
    root = prefix_root(prefix)
    bucket, key_prefix = split_s3_uri(root)
    key_prefix = f"{key_prefix}/" if key_prefix else ""
    if not bucket:
        raise BatchIOError(f"prefix {prefix!r} must be s3://bucket/ or s3://bucket/prefix/")
    found: list[StoredFile] = []
    try:
        pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix)
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(key_prefix) :]
                if not name or name.endswith("/") or not name.endswith(suffix):  # folder markers
                    continue
                found.append(StoredFile(f"{root}{name}", name, str(item["ETag"]).strip('"'), item["LastModified"]))
    except Exception as error:  # botocore raises many types; all mean "cannot list"
        raise BatchIOError(f"cannot list {root!r}: {' '.join(str(error).split())}") from error
    return sorted(found, key=lambda stored: stored.name)


def _list_local(prefix: str, suffix: str, fingerprints: bool) -> list[StoredFile]:
    root = Path(prefix)
    if not root.is_dir():
        raise BatchIOError(f"prefix {prefix!r} is not a folder")
    found: list[StoredFile] = []
    try:
        for path in root.rglob(f"*{suffix}"):
            relative = path.relative_to(root)
            if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                continue
            # The file as the job will read it: a link to a parquet file is scored, so it is followed here too.
            fingerprint = f"sha256-{file_digest(path, follow_symlinks=True)}" if fingerprints else ""
            modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
            found.append(StoredFile(str(path), relative.as_posix(), fingerprint, modified))
    except OSError as error:
        raise BatchIOError(f"cannot list {prefix!r}: {error}") from error
    return sorted(found, key=lambda stored: stored.name)
