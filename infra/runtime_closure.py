"""Install the image's locked runtime requirements into a plain folder, as the Dockerfile does.

No Docker engine runs in CI, so the image's dependency set is proven complete another way: install the
lock into an empty folder and import the handler with only that folder on the path. The folder is cached
under .cache/ by the lock's hash, so reruns cost nothing until the lock changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
CACHE = ROOT / ".cache" / "closures"
COMPLETE = ".complete"


def lock_hash(lock: Path = RUNTIME_LOCK) -> str:
    return hashlib.sha256(lock.read_bytes()).hexdigest()[:16]


def install_target(
    name: str, key: str, pip_arguments: Sequence[str], cache: Path = CACHE, python: str = sys.executable
) -> Path:
    """`pip install --target` into cache/name-key once; a marker file says the install finished."""
    target = cache / f"{name}-{key}"
    if (target / COMPLETE).exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(target)]
    subprocess.run([*command, *pip_arguments], check=True)
    (target / COMPLETE).write_text(key + "\n", encoding="ascii")
    return target


def install_runtime_closure(lock: Path = RUNTIME_LOCK, cache: Path = CACHE) -> Path:
    """Exactly the Dockerfile's install: hashes required, no dependency resolution beyond the lock."""
    arguments = ["--require-hashes", "--no-deps", "--only-binary", ":all:", "-r", str(lock)]
    return install_target("runtime", lock_hash(lock), arguments, cache)


def folder_bytes(folder: Path) -> int:
    """Bytes of every regular file below `folder` (what an image layer would hold)."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def main() -> None:
    target = install_runtime_closure()
    print(f"{target} {folder_bytes(target) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
