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
from collections.abc import Callable, Sequence
from pathlib import Path

from infra import prune_botocore, prune_tests

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
CACHE = ROOT / ".cache" / "closures"
COMPLETE = ".complete"


def lock_hash(lock: Path = RUNTIME_LOCK) -> str:
    return hashlib.sha256(lock.read_bytes()).hexdigest()[:16]


def install_target(
    name: str,
    key: str,
    pip_arguments: Sequence[str],
    cache: Path = CACHE,
    python: str = sys.executable,
    finish: Callable[[Path], object] | None = None,
) -> Path:
    """`pip install --target` into cache/name-key once, then `finish` on it; a marker file says both ran."""
    target = cache / f"{name}-{key}"
    if (target / COMPLETE).exists():
        return target
    for stale in cache.glob(f"{name}-*"):  # earlier locks' folders: hundreds of MB each
        shutil.rmtree(stale, ignore_errors=True)
    target.mkdir(parents=True)
    command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(target)]
    # pip's warnings (resolver notes, scripts not on PATH) are not this step's result: shown only if it fails,
    # so that they never bury a benchmark's or a test's own last line.
    print(f"installing {name} into {target} (once per lock)", file=sys.stderr, flush=True)
    installed = subprocess.run([*command, *pip_arguments], capture_output=True, text=True)
    if installed.returncode != 0:
        sys.stderr.write(installed.stdout + installed.stderr)
        raise subprocess.CalledProcessError(installed.returncode, installed.args)
    if finish is not None:
        finish(target)
    (target / COMPLETE).write_text(key + "\n", encoding="ascii")
    return target


def install_runtime_closure(lock: Path = RUNTIME_LOCK, cache: Path = CACHE) -> Path:
    """Exactly the Dockerfile's install: hashes required, no dependency resolution beyond the lock, then
    botocore pruned to the services the scorer calls (their models slimmed) and numpy's test suites removed.
    The folder is keyed by the lock and the pruning code."""
    arguments = ["--require-hashes", "--no-deps", "--only-binary", ":all:", "-r", str(lock)]
    pruning = hashlib.sha256(
        b"".join(Path(module.__file__ or "").read_bytes() for module in (prune_botocore, prune_tests))
    ).hexdigest()[:8]

    def prune(target: Path) -> None:
        prune_botocore.prune(target)
        prune_tests.prune_test_suites(target)

    return install_target("runtime", f"{lock_hash(lock)}-{pruning}", arguments, cache, finish=prune)


def folder_bytes(folder: Path) -> int:
    """Bytes of every regular file below `folder` (what an image layer would hold)."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def main() -> None:
    target = install_runtime_closure()
    print(f"{target} {folder_bytes(target) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
