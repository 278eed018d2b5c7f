"""One way to name a location: every spelling a user may give for an input, output or rejects location
resolves here to one canonical `Location` before any comparison, and every name mapped under an output
location is checked here to stay inside it.

Accepted spellings (anything else is a `LocationError`, the CLIs' exit 2):

- a local path, relative (to the working directory) or absolute: `rides`, `./rides/`, `/data//rides/.`,
  `../x/rides`; `.`, `..`, repeated and trailing slashes are normalized and symbolic links resolved (as far
  as the path exists), so two spellings of one folder are one `Location`. No `~`, no `%`-decoding: the
  characters are the file's name.
- a `file:` URI (RFC 8089, parsed by `pyarrow.fs`): `file:///abs/path`, `file:/abs/path`,
  `file://localhost/abs/path`; `%xx` escapes are decoded (`file:///a%20b` is the folder `a b`). Relative
  `file:` URIs and other hosts are refused.
- an S3 URI: `s3://bucket/key`, `s3a://bucket/key` or `s3n://bucket/key` (Hadoop's names for the same
  object); repeated and trailing slashes in the key are collapsed, `.` and `..` segments are refused (S3 keys
  are literal, Hadoop would resolve them: the two would disagree on what is named). `s3://bucket` is the
  whole bucket. The key is taken literally (no `%`-decoding).
- any other scheme (`hdfs://`, `gs://`, `http://`) is refused.

A location with glob characters (`*?[{`) is a pattern (the backfill's inputs): `Pattern` keeps the canonical
folder before the first such segment and matches the rest segment by segment.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from typing import Literal

import pyarrow.fs as pafs

from ride_scorer.core.integrity import NAME_MAX_BYTES, UnsafeNameError, safe_relative_path

Store = Literal["local", "s3"]
S3_SCHEMES = ("s3", "s3a", "s3n")
# The longest S3 object key, in bytes.
S3_KEY_MAX_BYTES = 1024
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_GLOB = re.compile(r"[*?\[{]")


class LocationError(ValueError):
    """A location that cannot be named safely, or two that overlap; the message is one line."""


@dataclass(frozen=True, order=True)
class Location:
    """A canonical location: for `local`, an absolute, resolved path without a trailing slash; for `s3`, a
    bucket and a key without leading, trailing or repeated slashes (`""` is the bucket). `scheme` is how an
    S3 location was spelled (`s3a` for Spark outside EMR) and takes no part in comparisons."""

    store: Store
    bucket: str
    path: str
    scheme: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> Location:
        if not text or text != text.strip() or "\0" in text:
            raise LocationError(f"{text!r} is not a location (empty, surrounding spaces or a NUL character)")
        scheme = _SCHEME.match(text)
        if scheme is not None:
            name = scheme.group(1).lower()
            if name in S3_SCHEMES:
                return _parse_s3(text, name)
            if name != "file":
                raise LocationError(
                    f"{text!r}: {name}:// is not supported; use a local path, file:, s3://, s3a:// or s3n://"
                )
        if text.lower().startswith("file:"):
            return cls("local", "", _resolve(_parse_file_uri(text)))
        return cls("local", "", _resolve(os.path.abspath(text)))

    @property
    def is_s3(self) -> bool:
        return self.store == "s3"

    def __str__(self) -> str:
        """The canonical spelling: a local absolute path, or `s3://bucket/key`."""
        if self.is_s3:
            return f"s3://{self.bucket}/{self.path}" if self.path else f"s3://{self.bucket}/"
        return self.path

    @property
    def for_spark(self) -> str:
        """How Spark (Hadoop) is given it: a local absolute path (never a `file:` URI, whose `%` Hadoop would
        not decode), or the S3 URI in the scheme the user chose (`s3a://` locally, `s3://` on EMR)."""
        if self.is_s3:
            return f"{self.scheme or 's3'}://{self.bucket}/{self.path}"
        return self.path

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(part for part in self.path.split("/") if part)

    def contains(self, other: Location) -> bool:
        """Whether `other` is this location or lies under it."""
        if (self.store, self.bucket) != (other.store, other.bucket):
            return False
        return other.segments[: len(self.segments)] == self.segments

    def overlaps(self, other: Location) -> bool:
        """One holds the other (or they are one): writing under one changes what the other lists."""
        return self.contains(other) or other.contains(self)

    def child(self, name: str) -> Location:
        """The location of `name` (a relative key, `/`-separated) under this one. A name that would leave it
        (`..`, `.`, an absolute or empty segment) or that the store cannot hold (a segment over 255 bytes
        locally, a key over 1024 bytes in S3) raises LocationError: keys are names, not paths."""
        try:
            safe_relative_path(name, None if self.is_s3 else NAME_MAX_BYTES)
        except UnsafeNameError as error:
            raise LocationError(f"{name!r} cannot be a name under {str(self)!r}: {error}") from None
        joined = "/".join((*self.segments, name))
        if self.is_s3:
            if len(joined.encode("utf-8")) > S3_KEY_MAX_BYTES:
                raise LocationError(f"{name!r} under {str(self)!r} is longer than S3's {S3_KEY_MAX_BYTES}-byte keys")
            return Location("s3", self.bucket, joined, self.scheme)
        return Location("local", "", "/" + joined)

    def relative(self, descendant: Location) -> str:
        """`descendant`'s name below this location (`contains` must hold)."""
        return "/".join(descendant.segments[len(self.segments) :])


@dataclass(frozen=True)
class Pattern:
    """An input location that may hold glob characters: the canonical folder before the first glob segment
    (`base`) and the glob segments after it (`globs`, empty for a plain location)."""

    base: Location
    globs: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Pattern:
        parts = text.split("/")
        first = next((i for i, part in enumerate(parts) if _GLOB.search(part)), None)
        if first is None:
            return cls(Location.parse(text))
        static = "/".join(parts[:first]) or ("/" if text.startswith("/") else ".")
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:/*", static):  # the glob is right after the scheme
            if not static.lower().startswith("file:"):
                raise LocationError(f"{text!r}: a pattern needs a bucket without glob characters")
            static = "file:///"
        base = Location.parse(static)
        return cls(base, tuple(part for part in parts[first:] if part))

    def __str__(self) -> str:
        return "/".join((str(self.base).rstrip("/"), *self.globs))

    @property
    def for_spark(self) -> str:
        return "/".join((self.base.for_spark.rstrip("/"), *self.globs)) if self.globs else self.base.for_spark

    def may_hold(self, location: Location) -> bool:
        """Whether writing at `location` could change what the pattern reads: `location` holds the pattern's
        folder, or lies in a file or folder the pattern may match. Conservative for `{a,b}` and `**`."""
        if location.contains(self.base):
            return True
        if not self.base.contains(location):
            return False
        below = location.segments[len(self.base.segments) :]
        for glob, segment in zip(self.globs, below, strict=False):
            if "{" in glob or "**" in glob:
                return True
            if not fnmatch.fnmatchcase(segment, glob):
                return False
        return True


def _parse_s3(text: str, scheme: str) -> Location:
    rest = text[len(scheme) + 3 :]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise LocationError(f"{text!r} names no bucket: use {scheme}://bucket/prefix")
    segments = [part for part in key.split("/") if part]
    if any(part in (".", "..") for part in segments):
        raise LocationError(f"{text!r}: S3 keys have no '.' or '..' folders; spell the key as it is stored")
    return Location("s3", bucket, "/".join(segments), scheme)


def _parse_file_uri(text: str) -> str:
    uri = "file:///" + text[len("file://localhost/") :] if text.lower().startswith("file://localhost/") else text
    try:
        filesystem, path = pafs.FileSystem.from_uri(uri)
    except (ValueError, OSError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise LocationError(f"{text!r} is not a local file: URI ({error})") from None
    if not isinstance(filesystem, pafs.LocalFileSystem):
        raise LocationError(f"{text!r} is not a local file: URI")
    return path


def _resolve(path: str) -> str:
    """Absolute, symbolic links resolved as far as the path exists, `.`/`..`/`//` gone; a link loop or an
    unreadable folder keeps the normalized spelling (the job then fails on it with its own error)."""
    try:
        resolved = os.path.realpath(path)
    except (OSError, RuntimeError):
        resolved = os.path.normpath(path)
    resolved = os.path.normpath(resolved)
    return "/" + resolved.lstrip("/")  # POSIX keeps a leading `//`: one root is one spelling
