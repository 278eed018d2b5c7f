"""Which of the project's Python files a Dockerfile copies into its image, read from the Dockerfile itself.

No Docker engine runs where the tests do, so the tests, the runtime-closure check and the cold-start bench
lay out an image's code with this instead of a build; a COPY line changed in the Dockerfile changes what
they all test. The build context is filtered by the Dockerfile's ignore file, which is checked too.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import shlex
import shutil
from pathlib import Path, PurePosixPath
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
# The project's Python packages an image could copy (tools ships in none; a COPY of it must still show up).
CODE_PACKAGES = ("lambda_function", "ride_scorer", "tools")
GLOB_CHARACTERS = frozenset("*?[")


class Copy(NamedTuple):
    """One COPY or ADD from the build context: its source arguments and where they land in the image."""

    sources: list[str]
    destination: str


def copied_code(dockerfile: Path, root: Path = ROOT) -> list[Path]:
    """Every .py file under the code packages that the Dockerfile's COPY instructions bring in, relative to root."""
    return sorted(placed_code(dockerfile, root))


def placed_code(dockerfile: Path, root: Path = ROOT) -> dict[Path, PurePosixPath]:
    """Each copied .py file of the code packages (relative to root) and the path it gets in the image.

    The destination matters as much as the source: a file copied to the wrong folder is in the image but
    not importable under its module name. Destinations keep their variables (`${LAMBDA_TASK_ROOT}/...`).
    """
    placed: dict[Path, PurePosixPath] = {}
    for copy in _copies(dockerfile):
        into_folder = len(copy.sources) > 1 or copy.destination.endswith("/")
        for source in copy.sources:
            for path in _expand(source, root):
                for file in _code_files(path, root):
                    placed[file.relative_to(root)] = _destination(copy.destination, path, file, into_folder)
    return placed


def command(dockerfile: Path) -> list[str]:
    """The arguments of the Dockerfile's last CMD, which must be in exec (JSON) form, as a Lambda image needs."""
    commands = [arguments for keyword, arguments in instructions(dockerfile) if keyword == "CMD"]
    if not commands or not commands[-1].startswith("["):
        raise ValueError(f"{dockerfile.name} has no CMD in exec form")
    parsed = json.loads(commands[-1])
    return [str(argument) for argument in parsed]


def ignored_by_context(path: Path, ignore_file: Path) -> bool:
    """Whether the build context leaves `path` out, by the ignore file's patterns (the last match wins).

    As Docker matches them: a pattern is anchored at the context root, `*` and `?` stay within one path
    segment, `**` spans any number of segments, and a pattern that matches a folder matches all it holds.
    """
    ignored = False
    parts = path.as_posix().split("/")
    for line in ignore_file.read_text(encoding="utf-8").splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        segments = posixpath.normpath(pattern.removeprefix("!").strip("/")).split("/")
        if any(_segments_match(segments, parts[:length]) for length in range(1, len(parts) + 1)):
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


def module_name(relative: Path | PurePosixPath) -> str:
    """The dotted module a .py file is imported as, from its path relative to a folder on sys.path."""
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _segments_match(pattern: list[str], parts: list[str]) -> bool:
    """Whether the path segments match the pattern's segments, `**` standing for zero or more of them."""
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_segments_match(pattern[1:], parts[skip:]) for skip in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], pattern[0]) and _segments_match(pattern[1:], parts[1:])


def _expand(source: str, root: Path) -> list[Path]:
    """The context paths one COPY source names: itself, or what its wildcards match."""
    source = source.rstrip("/") or "."
    if GLOB_CHARACTERS.intersection(source):
        return sorted(root.glob(source))
    return [root / source]


def _code_files(path: Path, root: Path) -> list[Path]:
    """The .py files of the code packages at or under `path`, without walking the rest of the context.

    `COPY . /app` copies the code packages too, so a folder above them is searched in them alone
    (a walk of the whole context would go through .venv).
    """
    if path.is_file():
        return [path] if path.suffix == ".py" and _in_code_package(path, root) else []
    if not path.is_dir():
        return []
    if _in_code_package(path, root):
        folders = [path]
    else:
        folders = [root / package for package in CODE_PACKAGES if (root / package).is_relative_to(path)]
    return [
        file
        for folder in folders
        for file in sorted(folder.rglob("*.py"))
        if "__pycache__" not in file.relative_to(root).parts
    ]


def _in_code_package(path: Path, root: Path) -> bool:
    if not path.is_relative_to(root):
        return False
    parts = path.relative_to(root).parts
    return bool(parts) and parts[0] in CODE_PACKAGES


def _destination(destination: str, source: Path, file: Path, into_folder: bool) -> PurePosixPath:
    """Where Docker puts `file`: a folder source's contents go under the destination, a file goes into it."""
    if source.is_dir():
        return PurePosixPath(destination, file.relative_to(source).as_posix())
    return PurePosixPath(destination, file.name) if into_folder else PurePosixPath(destination)


def _copies(dockerfile: Path) -> list[Copy]:
    """The COPY and ADD instructions that read the build context (not `--from` another stage or image).

    A relative destination is resolved against the WORKDIR in force, as Docker does.
    """
    copies: list[Copy] = []
    workdir = "/"
    for keyword, arguments in instructions(dockerfile):
        if keyword == "WORKDIR":
            workdir = posixpath.join(workdir, arguments.strip())
        if keyword not in {"COPY", "ADD"}:
            continue
        words = json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)
        if any(word.startswith("--from") for word in words):
            continue
        paths = [word for word in words if not word.startswith("--")]
        destination = paths[-1]
        if not destination.startswith(("/", "$")):
            destination = posixpath.join(workdir, destination) + ("/" if destination.endswith("/") else "")
        copies.append(Copy(paths[:-1], destination))
    return copies


def environment(dockerfile: Path) -> dict[str, str]:
    """The variables the Dockerfile's ENV instructions set: what a container of the image starts with, so the
    tests and the bench run its code with them. Only the `KEY=value` form is read (the other is deprecated)."""
    variables: dict[str, str] = {}
    for keyword, arguments in instructions(dockerfile):
        if keyword != "ENV":
            continue
        for word in shlex.split(arguments):
            name, equals, value = word.partition("=")
            if not equals:
                raise ValueError(f"{dockerfile.name}: ENV {arguments!r} is not in the KEY=value form")
            variables[name] = value
    return variables


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """Each instruction's keyword (upper case) and its arguments, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    logical = ""
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        logical += line.rstrip().removesuffix("\\").strip() + " "
        if line.rstrip().endswith("\\"):
            continue
        keyword, _, arguments = logical.strip().partition(" ")
        logical = ""
        if keyword:
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions
