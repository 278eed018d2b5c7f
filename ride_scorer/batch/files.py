"""Where batch files come from and go to: a local path or s3://bucket/key, through the project's boto3
client (so AWS_ENDPOINT_URL points it at LocalStack or moto like everything else).

An S3 input is downloaded to a temporary file and read from disk chunk by chunk, so memory stays bounded
by the chunk, not the file. Outputs are written beside their destination under a temporary name and only
moved into place (or uploaded) once all of them are complete: a failed run never leaves a file that looks
finished, and never touches a file it did not write.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from ride_scorer.adapters.aws_clients import client
from ride_scorer.adapters.model_store import split_s3_uri
from ride_scorer.columnar.locations import Location, LocationError
from ride_scorer.core.integrity import NAME_MAX_BYTES, file_digest

S3ClientFactory = Callable[[], Any]
# What a destination must be when an output is placed there (`writable_files`' `expected`), besides the
# identity a listing showed: nothing at all, or anything (replaced whatever it is).
NOTHING, ANYTHING = "", "*"
# Why a write whose destination is no longer what the listing showed was refused.
CHANGED = "it changed after the outputs were listed: it is no longer what ride-scorer wrote"
# An S3 object's identity as `output_identity` writes it for a listing (no version id: a listing has none).
_LISTED_IDENTITY = re.compile(r"etag-(?P<etag>[^\s\"]+)-size-\d+")


class BatchIOError(RuntimeError):
    """An input cannot be read or an output cannot be written; the message names the location."""


def is_s3(location: str) -> bool:
    """Canonical locations (`columnar.locations`) of S3 objects are spelled s3://."""
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


def same_location(first: str, second: str) -> str | None:
    """The one file both locations name, or None when they name two.

    Compares what the job would really open, not the spelling: both are resolved to their canonical
    `Location` (`columnar.locations`: `file:` URIs, `.`, `..`, repeated slashes, symbolic links, `s3a://`),
    and two local files that exist are also compared by device and inode (a bind mount or a case-insensitive
    file system shows one file under two resolved paths). A spelling that cannot be a location is a
    BatchIOError."""
    one, other = _location(first), _location(second)
    if one == other:
        return str(one)
    if one.is_s3 or other.is_s3:
        return None
    try:
        return str(one) if os.path.samefile(one.path, other.path) else None
    except OSError:  # one of them does not exist yet: the canonical locations already told them apart
        return None


def _location(text: str) -> Location:
    try:
        return Location.parse(text)
    except LocationError as error:
        raise BatchIOError(str(error)) from None


def check_writable(location: str, role: str = "output") -> None:
    """Refuse, before any work, a destination that can never be written (a directory, a missing folder, an
    S3 URI without a key), so a long run does not end in an error, and one the final move would destroy (a
    device such as /dev/null, a pipe)."""
    if is_s3(location):
        bucket, key = split_s3_uri(location)
        if not bucket or not key:
            raise BatchIOError(f"{role} {location!r} must be s3://bucket/key")
        return
    destination = Path(location)
    if len(destination.name.encode("utf-8", "surrogateescape")) > NAME_MAX_BYTES:
        raise BatchIOError(f"{role} {location!r}: a file name is at most {NAME_MAX_BYTES} bytes")
    if destination.is_dir():
        raise BatchIOError(f"{role} {location!r} is a directory, not a file")
    if destination.exists() and not destination.is_file():  # /dev/null, a pipe: the move would replace it
        raise BatchIOError(f"{role} {location!r} is not a regular file; the job only writes regular files")
    if not destination.parent.is_dir():
        raise BatchIOError(f"{role} {location!r}: folder {str(destination.parent)!r} does not exist")


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
        target = Path(folder) / "input.parquet"  # the key's own last part may be longer than a file name can be
        try:
            s3_client().download_file(bucket, key, str(target))
        except Exception as error:  # botocore raises many types; all mean "cannot read the input"
            raise BatchIOError(f"cannot download input {location!r}: {error}") from error
        yield target


@dataclass
class _Staged:
    """One output being written: its temporary file, and once moved into place, whether a file was there
    before (so undoing the run removes only what this run created)."""

    location: str
    role: str
    path: Path
    # What the destination must be when this is placed: NOTHING (created, never replaced), the identity a
    # listing showed (replaced only if it is still that), or ANYTHING (replaced unconditionally).
    expected: str = ANYTHING
    placed: bool = False
    replaced_existing: bool = False

    def commit(self, s3_client: S3ClientFactory) -> str:
        """Move the file into place (or upload it) and return the identity of what was written: the S3
        object's ETag (and version id, in a versioned bucket) and size, or the local file's SHA-256."""
        try:
            if is_s3(self.location):
                bucket, key = split_s3_uri(self.location)
                size = self.path.stat().st_size
                condition = _s3_condition(self.expected)
                with self.path.open("rb") as body:  # one PUT (up to 5 GB): its answer names what was stored
                    answer = s3_client().put_object(Bucket=bucket, Key=key, Body=body, **condition)
                identity = output_identity(str(answer["ETag"]), size, answer.get("VersionId"))
            else:
                identity = f"sha256-{file_digest(self.path)}"
                if self.expected == NOTHING:  # a link fails if the name exists, where a rename would replace it
                    os.link(self.path, self.location, follow_symlinks=False)
                    os.unlink(self.path)
                else:
                    self.replaced_existing = os.path.lexists(self.location)
                    if self.expected != ANYTHING:
                        _check_unchanged(self.location, self.expected)
                    os.replace(self.path, self.location)
        except Exception as error:  # botocore raises many types; os.replace an OSError
            reason = CHANGED if self._changed_in_s3(error) else _reason(error)
            raise BatchIOError(f"cannot write {self.role} {self.location!r}: {reason}") from error
        self.placed = True
        return identity

    def _changed_in_s3(self, error: Exception) -> bool:
        """S3 refused an If-Match write: the object is no longer the one the listing showed."""
        return (
            self.expected not in (NOTHING, ANYTHING)
            and isinstance(error, ClientError)
            and error.response.get("Error", {}).get("Code") == "PreconditionFailed"
        )

    @property
    def kept_after_discard(self) -> bool:
        """Placed, and not ours alone to remove: it replaced an existing file, or it is an S3 object (deleting
        one needs a permission the job is not given, and in a versioned bucket hides the old version)."""
        return self.placed and (self.replaced_existing or is_s3(self.location))

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        if self.placed and not self.kept_after_discard:
            Path(self.location).unlink(missing_ok=True)
            self.placed = False


def _s3_condition(expected: str) -> dict[str, str]:
    """S3's conditional PUT for what the destination must be: absent (`If-None-Match: *`) or the object the
    listing showed (`If-Match: <its ETag>`); S3 refuses the write (412) if it is not."""
    if expected == NOTHING:
        return {"IfNoneMatch": "*"}
    if expected == ANYTHING:
        return {}
    match = _LISTED_IDENTITY.fullmatch(expected)
    if match is None:
        raise BatchIOError(f"{expected!r} is not an S3 object's identity")
    return {"IfMatch": f'"{match.group("etag")}"'}


def _check_unchanged(location: str, expected: str) -> None:
    """A local destination must still be the file the listing showed. No file system has a conditional
    rename: this check and the rename are two steps, where S3's If-Match is one."""
    try:
        now = f"sha256-{file_digest(Path(location))}"
    except FileNotFoundError:
        return  # gone since the listing: placing ours overwrites nothing
    if now != expected:
        raise BatchIOError(CHANGED)


def output_identity(etag: str, size: int, version_id: str | None = None) -> str:
    """An S3 object's identity as a listing shows it too (ETag and size; the version id is recorded, not
    listed)."""
    identity = f"etag-{etag.strip(chr(34))}-size-{size}"
    return f"{identity}-version-{version_id}" if version_id and version_id != "null" else identity


def _reason(error: BaseException) -> str:
    """What went wrong, without the temporary file's name: boto3's upload error wraps S3's answer in a
    message about the temporary path, so S3's own code and message are used when there is one."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ClientError):
            details = cause.response.get("Error", {})
            return f"{details.get('Code', 'error')}: {details.get('Message', '')}".rstrip(": ")
        cause = cause.__cause__ or cause.__context__
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)


@contextmanager
def writable_files(
    locations: Sequence[tuple[str, str]],
    s3_client: S3ClientFactory = lambda: client("s3"),
    written: dict[str, str] | None = None,
    expected: Mapping[str, str] | None = None,
) -> Iterator[list[Path]]:
    """Temporary local files to write, one per (location, role), moved into place (or uploaded) in the
    order given only once the block succeeds: put last the file whose appearance tells a scheduler the
    run is done.

    A local output is written in its destination folder (so the move is an atomic rename on one file
    system) under a hidden name nobody can predict, created exclusively (an existing file or a planted
    symlink is never opened). If the block fails, every temporary file is removed and no destination is
    touched. If a move fails, the destinations this run had already created are removed again; one that
    replaced an existing file, or an S3 object, cannot be undone and the error names it. `written`, if
    given, receives each location's identity as it was written (see `_Staged.commit`). `expected` says, per
    location, what the destination must be when it is written (others are replaced unconditionally):
    NOTHING, so one that exists by then (someone else's, since the caller saw none) is refused, not replaced
    (S3's conditional PUT `If-None-Match: *`, a hard link locally); or the identity a listing showed, so one
    that changed since is refused (S3's `If-Match` on its ETag; locally its SHA-256 checked just before the
    rename)."""
    staged: list[_Staged] = []
    with ExitStack() as stack:
        try:
            for location, role in locations:
                condition = (expected or {}).get(location, ANYTHING)
                staged.append(_Staged(location, role, _temporary_path(location, role, stack), condition))
            yield [stage.path for stage in staged]
            for stage in staged:
                try:
                    identity = stage.commit(s3_client)
                    if written is not None:
                        written[stage.location] = identity
                except BatchIOError as error:
                    kept = [f"{other.role} {other.location!r}" for other in staged if other.kept_after_discard]
                    if kept:
                        raise BatchIOError(f"{error}; {' and '.join(kept)} had already been written") from error
                    raise
        except BaseException:
            for stage in staged:
                stage.discard()
            raise


def _temporary_path(location: str, role: str, stack: ExitStack) -> Path:
    if is_s3(location):
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ride-scorer-batch-")))
        return folder / "output.parquet"
    destination = Path(location)
    # Not derived from the destination's name: a name near the 255-byte limit would make it too long.
    path = destination.with_name(f".ride-scorer-{secrets.token_hex(8)}.partial")
    try:
        # O_EXCL: never an existing file, never through a symlink. 0o666 & ~umask, as a plain open would.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as error:
        raise BatchIOError(f"cannot write {role} {location!r}: {_reason(error)}") from error
    return path
