"""Which of the project's Python files a Dockerfile copies into its image, read from the Dockerfile itself.

No Docker engine runs where the tests do, so the tests, the runtime-closure check and the cold-start bench
lay out an image's code with this instead of a build; a COPY line changed in the Dockerfile changes what
they all test. The build context is filtered by the Dockerfile's ignore file, which is checked too.
"""

from __future__ import annotations

import fnmatch
import shlex
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE_PACKAGES = ("lambda_function", "ride_scorer")


def copied_code(dockerfile: Path, root: Path = ROOT) -> list[Path]:
    """Every .py file under the code packages that the Dockerfile's COPY instructions bring in, relative to root."""
    files: set[Path] = set()
    for sources in _copy_sources(dockerfile):
        for source in sources:
            path = root / source.rstrip("/")
            if not source.startswith(CODE_PACKAGES):
                continue
            candidates = sorted(path.rglob("*.py")) if path.is_dir() else [path]
            files.update(c.relative_to(root) for c in candidates if "__pycache__" not in c.parts)
    return sorted(files)


def ignored_by_context(path: Path, ignore_file: Path) -> bool:
    """Whether the build context leaves `path` out, by the ignore file's patterns (the last match wins)."""
    ignored = False
    text = path.as_posix()
    for line in ignore_file.read_text(encoding="utf-8").splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        pattern = pattern.removeprefix("**/")
        parts = text.split("/")
        prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
        if pattern == "*" or any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes) or any(
            fnmatch.fnmatchcase(part, pattern) for part in parts
        ):
            ignored = not negate
    return ignored


def lay_out(dockerfile: Path, destination: Path, root: Path = ROOT) -> list[Path]:
    """Copy the image's code under `destination` as the image's task root holds it."""
    files = copied_code(dockerfile, root)
    for relative in files:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, target)
    return files


def module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _copy_sources(dockerfile: Path) -> list[list[str]]:
    """The source arguments of each COPY instruction (continuation lines joined, --flags dropped)."""
    instructions: list[list[str]] = []
    logical = ""
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        logical += line.rstrip("\\").strip() + " "
        if line.rstrip().endswith("\\"):
            continue
        words = shlex.split(logical)
        logical = ""
        if words and words[0].upper() == "COPY":
            arguments = [word for word in words[1:] if not word.startswith("--")]
            instructions.append(arguments[:-1])
    return instructions
