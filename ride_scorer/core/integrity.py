"""The model's digest, its manifest, and the names a model's files may have.

The scorer reads the model's pickle-free scoring form and never unpickles, but it must still score with
exactly the files that were published, and only when the digest of those files is the one the deployment
pinned (MODEL_SHA256). That digest comes from the deployment, never from the model's own folder or bucket:
whoever can write there can write a matching digest too.

Publishing also writes a manifest beside the model (`model.sha256`, in `sha256sum`'s format: one
"<sha256>  <path>" line per file). The digest is computed from exactly those (path, sha256) pairs, so a
manifest whose digest equals the pin lists exactly the published files: the downloader uses it to refuse
objects it does not list before fetching anything, and to fetch only the files the scorer reads, each
checked against it. The manifest is never a pin itself: it is believed only when its digest is the pin.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path

DIGEST_FILE = "model.sha256"
# A manifest lists a handful of files; anything much larger is not one.
MANIFEST_MAX_BYTES = 1 << 20
# The longest file or folder name Linux accepts (NAME_MAX, in bytes).
NAME_MAX_BYTES = 255
_MANIFEST_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
# Characters no name may hold: controls (C0 and C1: \n, \x85, ...), line and paragraph separators (U+2028,
# U+2029) and lone surrogates. A manifest has one name per line, and every tool that reads lines
# (`str.splitlines`, a log query, a shell loop) must see one line where the publisher wrote one.
_REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Cs": "a lone surrogate",
}
# What MLflow itself writes into a model's folder when one of its loaders reads it (a `models:/name@alias`
# download adds `registered_model_meta`): not a file of the model, so the digest leaves it out, the scorer
# never loads it, and a pin printed before MLflow read the model still holds after.
MLFLOW_LOAD_METADATA = frozenset({"registered_model_meta"})
_LEGACY_DIGEST = re.compile(r"^[0-9a-f]{64}$")

# relative POSIX path -> SHA-256 hex of the file's content
Manifest = dict[str, str]


class ModelIntegrityError(RuntimeError):
    """The model is not the model that was published and pinned; nothing of it was loaded."""


class UnsafeNameError(ValueError):
    """A file name that would leave the model's folder, or that the folder cannot hold."""


def safe_relative_path(name: str, max_segment_bytes: int | None = NAME_MAX_BYTES) -> str:
    """`name` itself when it is a plain relative path inside a folder; raises `UnsafeNameError` otherwise.

    The model's file names come from S3 keys and the MLmodel document, both written by whoever can write to
    the bucket, and are joined onto the download folder: `..`, an absolute path or an empty segment could
    write outside it or alias another file. Backslashes and control characters are refused too: they are
    path separators elsewhere or cannot be listed in a manifest line. `max_segment_bytes=None` is for a store
    without file names (S3 keys): the other rules still hold.
    """
    if not name:
        raise UnsafeNameError("the name is empty")
    if name.startswith("/"):
        raise UnsafeNameError("it is an absolute path")
    if "\\" in name:
        raise UnsafeNameError("it contains a backslash")
    for character in name:
        refused = _REFUSED_CATEGORIES.get(unicodedata.category(character))
        if refused:
            raise UnsafeNameError(f"it contains {refused} (U+{ord(character):04X})")
    for segment in name.split("/"):
        if segment == "":
            raise UnsafeNameError("it has an empty path segment ('//' or a trailing '/')")
        if segment in (".", ".."):
            raise UnsafeNameError(f"it has a {segment!r} path segment")
        if max_segment_bytes is not None and len(segment.encode("utf-8", "surrogatepass")) > max_segment_bytes:
            raise UnsafeNameError(f"a path segment is longer than {max_segment_bytes} bytes")
    return name


def manifest_digest(manifest: Mapping[str, str]) -> str:
    """The model's digest (what MODEL_SHA256 pins): SHA-256 over every (path, file digest), in a stable order.

    The order is path by path segments, as `sorted()` orders `Path` objects, so that digests published
    before the manifest existed are still the same value.
    """
    outer = hashlib.sha256()
    for relative in sorted(manifest, key=lambda path: path.split("/")):
        outer.update(relative.encode("utf-8") + b"\0")
        outer.update(manifest[relative].encode("ascii") + b"\n")
    return outer.hexdigest()


def directory_manifest(directory: Path) -> Manifest:
    """Every regular file under `directory` with its SHA-256, the manifest file itself excluded.

    Symbolic links and other special files are refused, never followed: the digest must cover the bytes that
    get loaded, not whatever a link points at when the loader opens it. MLflow's load-time metadata
    (`MLFLOW_LOAD_METADATA`, top level only) is left out: MLflow writes it, the scorer never reads it.
    """
    manifest: Manifest = {}
    try:
        _collect(directory, "", manifest)
    except OSError as error:  # gone, unreadable, or a file swapped for a link while it was read
        raise ModelIntegrityError(f"cannot read the model at {directory}: {error}") from error
    for name in (DIGEST_FILE, *MLFLOW_LOAD_METADATA):
        manifest.pop(name, None)
    return manifest


def directory_digest(directory: Path) -> str:
    return manifest_digest(directory_manifest(directory))


def format_manifest(manifest: Mapping[str, str]) -> str:
    """`sha256sum` format, so `sha256sum -c model.sha256` in the model's folder checks the files too."""
    return "".join(
        f"{manifest[relative]}  {relative}\n" for relative in sorted(manifest, key=lambda path: path.split("/"))
    )


def write_digest(directory: Path) -> str:
    """Write the manifest of `directory` beside its files and return the model's digest (the pin)."""
    manifest = directory_manifest(directory)
    for relative in manifest:
        try:
            safe_relative_path(relative)
        except UnsafeNameError as error:
            raise ModelIntegrityError(f"{relative!r} in {directory}: cannot publish this file name: {error}") from None
    (directory / DIGEST_FILE).write_text(format_manifest(manifest), encoding="utf-8")
    return manifest_digest(manifest)


def parse_manifest(text: str) -> Manifest | None:
    """The manifest's entries, or None for a digest-only file published before manifests existed.

    Raises `ModelIntegrityError` for anything else: a malformed line, an unsafe or repeated name.
    """
    # One entry per "\n"-ended line, as sha256sum writes it: never `str.splitlines`, which also splits on
    # characters a name could hold if the name rule ever let one through.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) == 1 and _LEGACY_DIGEST.match(lines[0].strip()):
        return None
    manifest: Manifest = {}
    for number, line in enumerate(lines, start=1):
        match = _MANIFEST_LINE.match(line)
        if match is None:
            raise ModelIntegrityError(f"{DIGEST_FILE} line {number} is not '<sha256>  <path>': {line[:100]!r}")
        digest, relative = match.groups()
        try:
            safe_relative_path(relative)
        except UnsafeNameError as error:
            raise ModelIntegrityError(f"{DIGEST_FILE} line {number} lists {relative!r}: {error}") from None
        if relative in manifest or relative == DIGEST_FILE:
            raise ModelIntegrityError(f"{DIGEST_FILE} line {number} lists {relative!r} twice")
        manifest[relative] = digest
    if not manifest:
        raise ModelIntegrityError(f"{DIGEST_FILE} lists no files")
    return manifest


def verify_manifest(manifest: Manifest, expected: str) -> Manifest:
    """`manifest` if its digest is the pinned one; otherwise the model was not published with that pin."""
    actual = manifest_digest(manifest)
    if actual != expected:
        raise ModelIntegrityError(
            f"the model's {DIGEST_FILE} lists files whose digest is {actual}, but MODEL_SHA256 is {expected}: "
            "this is not the pinned model, refusing to load it"
        )
    return manifest


def verify_directory(directory: Path, expected: str | None) -> Manifest:
    """The manifest of the files in `directory`, checked against the pinned digest when there is one.

    A folder passes when the digest of all its files is the pin (a whole model), or when its own manifest has
    the pinned digest and lists every file in the folder with that file's SHA-256: part of a model, as the
    download fetches it (only the files the scorer reads). The manifest is believed only because its digest
    is the pin; files it lists but the folder lacks are never read. With `expected=None` nothing is checked:
    the caller has decided to load an unpinned model.
    """
    manifest = directory_manifest(directory)
    if expected is None:
        return manifest
    actual = manifest_digest(manifest)
    if actual == expected:
        return manifest
    recorded = _recorded_manifest(directory)
    if recorded is not None and manifest_digest(recorded) == expected:
        differing = sorted(name for name, digest in manifest.items() if recorded.get(name) != digest)
        if not differing:
            return manifest
        raise ModelIntegrityError(
            f"model at {directory}: MODEL_SHA256 is {expected}, the digest of its {DIGEST_FILE}, but its files do "
            f"not match that manifest (files that differ from its {DIGEST_FILE}: {', '.join(differing)}): "
            "refusing to load it"
        )
    raise ModelIntegrityError(
        f"model at {directory} has digest {actual}, but MODEL_SHA256 is {expected}"
        f"{_differences(recorded, manifest)}: refusing to load it"
    )


def _recorded_manifest(directory: Path) -> Manifest | None:
    """The folder's own manifest, if it has a readable one; trusted only once its digest is the pin."""
    try:
        return parse_manifest((directory / DIGEST_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ModelIntegrityError):
        return None


def _differences(recorded: Manifest | None, actual: Manifest) -> str:
    """Which files differ from the folder's own manifest, to help find the cause; it is not trusted here."""
    if recorded is None:
        return ""
    names = sorted(name for name in recorded.keys() | actual.keys() if recorded.get(name) != actual.get(name))
    return f" (files that differ from its {DIGEST_FILE}: {', '.join(names)})" if names else ""


def _collect(directory: Path, prefix: str, manifest: Manifest) -> None:
    with os.scandir(directory) as entries:
        for entry in entries:
            relative = prefix + entry.name
            if entry.is_symlink():
                raise ModelIntegrityError(
                    f"{entry.path} is a symbolic link: a model holds regular files only, and links are not followed"
                )
            if entry.is_dir(follow_symlinks=False):
                _collect(Path(entry.path), relative + "/", manifest)
            elif entry.is_file(follow_symlinks=False):
                manifest[relative] = file_digest(Path(entry.path))
            else:
                raise ModelIntegrityError(f"{entry.path} is not a regular file: a model holds regular files only")


def file_digest(path: Path, follow_symlinks: bool = False) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks.

    Without `follow_symlinks` (a model's files) the file is opened with O_NOFOLLOW: one swapped for a link
    after its directory was listed is refused, not followed."""
    digest = hashlib.sha256()
    no_follow = 0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, os.O_RDONLY | no_follow)
    with os.fdopen(descriptor, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
