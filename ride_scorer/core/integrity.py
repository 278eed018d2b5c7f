"""A digest over a whole MLflow model directory.

Loading the sklearn flavour unpickles, which runs code: the scorer must load exactly the files that were
published. Publishing writes this digest beside the model; the scorer recomputes it before unpickling.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

DIGEST_FILE = "model.sha256"


class ModelIntegrityError(RuntimeError):
    """The model on disk is not the model that was published."""


def directory_digest(directory: Path) -> str:
    """SHA-256 over every file's relative path and content, in a stable order, the digest file excluded."""
    outer = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        if relative == DIGEST_FILE:
            continue
        outer.update(relative.encode("utf-8") + b"\0")
        outer.update(_file_digest(path).encode("ascii") + b"\n")
    return outer.hexdigest()


def write_digest(directory: Path) -> str:
    digest = directory_digest(directory)
    (directory / DIGEST_FILE).write_text(digest + "\n", encoding="ascii")
    return digest


def verify_directory(directory: Path, expected: str | None) -> str | None:
    """Check the model against the pinned digest (MODEL_SHA256) or, failing that, the published one.

    Returns the verified digest, or None when neither exists (a plain MLflow model saved by hand).
    """
    recorded_file = directory / DIGEST_FILE
    recorded = recorded_file.read_text(encoding="ascii").strip() if recorded_file.exists() else None
    wanted = expected or recorded
    if wanted is None:
        return None
    actual = directory_digest(directory)
    if actual != wanted:
        source = "MODEL_SHA256" if expected else DIGEST_FILE
        raise ModelIntegrityError(
            f"model at {directory} has digest {actual}, but {source} says {wanted}: refusing to unpickle it"
        )
    return actual


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
