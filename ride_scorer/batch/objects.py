"""The files under a prefix: an S3 prefix (`s3://bucket/rides/`) or a local folder, each with its name under
the prefix and its identity (what the prefix mode needs to know of a file without reading it twice).

S3 is listed with ListObjectsV2 (paginated, through the project's boto3 client, so botocore's standard retry
mode retries throttling and transient errors); a listing needs `s3:ListBucket` with the prefix, nothing else.
An S3 object's identity is its ETag and size (they change whenever its bytes do); a local file's is the
SHA-256 of its bytes, computed only when asked for. Hidden local files (a `.x.partial` being written) are not
listed. Clock times are never part of an identity: S3's have whole seconds, and clocks disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ride_scorer.adapters.aws_clients import client
from ride_scorer.batch.files import BatchIOError, output_identity
from ride_scorer.columnar.locations import Location
from ride_scorer.core.integrity import file_digest

S3ClientFactory = Callable[[], Any]


@dataclass(frozen=True)
class StoredFile:
    """One file under a prefix. `name` is its path below the prefix, with `/` separators in both stores;
    `fingerprint` is its identity (empty for a local file listed without hashing)."""

    location: str
    name: str
    fingerprint: str

    def identity(self) -> str:
        """The fingerprint, computed now for a local file listed without one."""
        if self.fingerprint:
            return self.fingerprint
        return f"sha256-{file_digest(Path(self.location), follow_symlinks=True)}"


def list_files(
    prefix: Location,
    suffix: str = "",
    fingerprints: bool = True,
    s3_client: S3ClientFactory = lambda: client("s3"),
) -> list[StoredFile]:
    """Every file under `prefix` whose name ends with `suffix` (in any case: `X.PARQUET` is parquet too),
    sorted by name. An empty or missing S3 prefix lists nothing; a local prefix that is not a folder is a
    BatchIOError. `fingerprints=False` spares hashing local files until `identity()` is asked for."""
    if prefix.is_s3:
        return _list_s3(prefix, suffix.lower(), s3_client)
    return _list_local(prefix, suffix.lower(), fingerprints)


def _list_s3(prefix: Location, suffix: str, s3_client: S3ClientFactory) -> list[StoredFile]:
    key_prefix = f"{prefix.path}/" if prefix.path else ""
    found: list[StoredFile] = []
    try:
        pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=prefix.bucket, Prefix=key_prefix)
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(key_prefix) :]
                if not name or name.endswith("/") or not name.lower().endswith(suffix):  # folder markers
                    continue
                identity = output_identity(str(item["ETag"]), int(item["Size"]))
                found.append(StoredFile(f"s3://{prefix.bucket}/{item['Key']}", name, identity))
    except Exception as error:  # botocore raises many types; all mean "cannot list"
        raise BatchIOError(f"cannot list {str(prefix)!r}: {' '.join(str(error).split())}") from error
    return sorted(found, key=lambda stored: stored.name)


def _list_local(prefix: Location, suffix: str, fingerprints: bool) -> list[StoredFile]:
    root = Path(prefix.path)
    if not root.is_dir():
        raise BatchIOError(f"prefix {str(prefix)!r} is not a folder")
    found: list[StoredFile] = []
    try:
        for path in root.rglob("*"):
            relative = path.relative_to(root)
            if not path.name.lower().endswith(suffix) or any(part.startswith(".") for part in relative.parts):
                continue
            if not path.is_file():
                continue
            # The file as the job will read it: a link to a parquet file is scored, so it is followed here too.
            stored = StoredFile(str(path), relative.as_posix(), "")
            found.append(StoredFile(stored.location, stored.name, stored.identity()) if fingerprints else stored)
    except OSError as error:
        raise BatchIOError(f"cannot list {str(prefix)!r}: {error}") from error
    return sorted(found, key=lambda stored: stored.name)
