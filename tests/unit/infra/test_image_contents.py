"""Each image carries exactly the code its mode runs, read from the Dockerfiles and the import graph.

A module the entry point imports but the image lacks fails only at run time (a cold start in production);
a module the image carries but never runs is dead weight and, for the tools, a way for operator code to
reach an image. No Docker engine runs here: infra/image_contents.py reads the COPY lines and grimp reads
the imports, statically, so the whole module runs in well under a second.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import grimp
import pytest

from infra.image_contents import ROOT, command, environment, ignored_by_context, module_name, placed_code

# The modes and tools no image of another mode may carry, and the packages that make up the batch image's
# forbidden set (the Lambda image is held to its exact closure instead).
NOT_IN_BATCH_IMAGE = ("tools", "ride_scorer.stream", "lambda_function")
# The batch/HTTP image ships the core whole: it is the shared domain, small and free of heavy imports, and
# copying it as one folder keeps the Dockerfile from listing modules one by one as the modes' imports change.
SHIPS_WHOLE = ("ride_scorer.core",)


@dataclass(frozen=True)
class Image:
    """What an image is built from and what it runs."""

    dockerfile: Path
    ignore_file: Path
    code_root: str  # the folder on the image's sys.path the code packages sit in
    entries: tuple[str, ...]  # the modules the image's commands start from

    @property
    def name(self) -> str:
        return self.dockerfile.name


LAMBDA = Image(ROOT / "Dockerfile", ROOT / ".dockerignore", "${LAMBDA_TASK_ROOT}", ("lambda_function.app",))
BATCH = Image(
    ROOT / "Dockerfile.batch",
    ROOT / "Dockerfile.batch.dockerignore",
    "/app",
    (
        "ride_scorer.batch.cli",
        "ride_scorer.batch.__main__",
        "ride_scorer.http_service.app",
        "ride_scorer.http_service.gunicorn_conf",
        "ride_scorer.http_service.aws_lambda",  # the web Lambda's handler (infra/templates/web.yaml ImageConfig)
    ),
)


class Comparison(NamedTuple):
    """How an image's modules differ from what its entry points import."""

    missing: set[str]  # imported at run time, not in the image
    extra: set[str]  # in the image, never imported


@functools.cache
def import_graph() -> grimp.ImportGraph:
    """The static imports of the image code packages. Imports under `if TYPE_CHECKING:` never run, so an
    image need not carry what only they name; cache_dir=None writes no cache into the tree."""
    return grimp.build_graph(
        "ride_scorer", "lambda_function", "tools", exclude_type_checking_imports=True, cache_dir=None
    )


def import_closure(graph: grimp.ImportGraph, entries: tuple[str, ...]) -> set[str]:
    """Every module importing the entries runs: what they import, directly or not, and the parent packages
    Python imports first (whose __init__ modules may import more, hence the loop until nothing is added)."""
    closure: set[str] = set()
    pending = set(entries)
    while pending:
        closure |= pending
        reached = {upstream for module in pending for upstream in graph.find_upstream_modules(module)}
        parents = {module.rpartition(".")[0] for module in closure | reached} - {""}
        pending = (reached | parents) - closure
    return closure


def image_modules(dockerfile: Path) -> dict[str, Path]:
    """The modules the Dockerfile copies, by name, and their files relative to the repository."""
    return {module_name(relative): relative for relative in placed_code(dockerfile)}


def compare(copied: set[str], closure: set[str], ships_whole: tuple[str, ...] = ()) -> Comparison:
    """What the image lacks and what it carries beyond the closure (modules of `ships_whole` excepted)."""
    extra = {module for module in copied - closure if not in_packages(module, ships_whole)}
    return Comparison(missing=closure - copied, extra=extra)


def in_packages(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def source_file(module: str) -> str:
    """The repository file of a module, for messages that name what to fix."""
    base = ROOT.joinpath(*module.split("."))
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    return path.relative_to(ROOT).as_posix()


def files(modules: set[str]) -> list[str]:
    return sorted(source_file(module) for module in modules)


def outside_context(image: Image, dockerfile: Path | None = None) -> list[str]:
    """Copied files the ignore file keeps out of the build context: `docker build` would fail on them."""
    copied = placed_code(dockerfile or image.dockerfile)
    return sorted(relative.as_posix() for relative in copied if ignored_by_context(relative, image.ignore_file))


def command_modules(cmd: list[str]) -> set[str]:
    """The modules a CMD names: a Lambda handler `module.function`, gunicorn's `python:module` config and
    `module:factory()` application."""
    if len(cmd) == 1:
        return {cmd[0].rpartition(".")[0]}
    modules = {argument.removeprefix("python:") for argument in cmd if argument.startswith("python:")}
    modules |= {match[1] for argument in cmd if (match := re.fullmatch(r"([\w.]+):\w+(\(\))?", argument))}
    return modules


@pytest.mark.parametrize("image", [LAMBDA, BATCH], ids=lambda image: image.name)
def test_every_copied_file_is_in_the_build_context(image: Image) -> None:
    ignored = outside_context(image)
    assert not ignored, f"{image.name} copies files that {image.ignore_file.name} leaves out of the context: {ignored}"


@pytest.mark.parametrize("image", [LAMBDA, BATCH], ids=lambda image: image.name)
def test_every_copied_file_lands_at_its_module_path(image: Image) -> None:
    """Module names are read from the repository paths, which holds only if each file keeps its path under
    the folder the image imports from."""
    misplaced = [
        f"{relative} -> {destination}"
        for relative, destination in placed_code(image.dockerfile).items()
        if destination != PurePosixPath(image.code_root, relative.as_posix())
    ]
    assert not misplaced, f"{image.name} copies files away from {image.code_root}/<repository path>: {misplaced}"


def test_lambda_image_carries_exactly_the_handlers_import_closure() -> None:
    closure = import_closure(import_graph(), LAMBDA.entries)
    missing, extra = compare(set(image_modules(LAMBDA.dockerfile)), closure)
    assert not missing, f"the handler imports files {LAMBDA.name} does not copy: {files(missing)}"
    assert not extra, f"{LAMBDA.name} copies files the handler never imports: {files(extra)}"


def test_batch_image_carries_the_closure_of_both_modes() -> None:
    closure = import_closure(import_graph(), BATCH.entries)
    missing, extra = compare(set(image_modules(BATCH.dockerfile)), closure, ships_whole=SHIPS_WHOLE)
    assert not missing, f"the batch and HTTP modes import files {BATCH.name} does not copy: {files(missing)}"
    assert not extra, f"{BATCH.name} copies files neither mode imports: {files(extra)}"


def test_batch_image_carries_no_tools_stream_or_lambda_code() -> None:
    copied = image_modules(BATCH.dockerfile)
    foreign = sorted(str(relative) for module, relative in copied.items() if in_packages(module, NOT_IN_BATCH_IMAGE))
    assert not foreign, f"{BATCH.name} copies code of other modes or tools: {foreign}"


@pytest.mark.parametrize("image", [LAMBDA, BATCH], ids=lambda image: image.name)
def test_cmd_modules_are_entry_points_the_image_carries(image: Image) -> None:
    """The closure checks start from `entries`; this holds them to what the CMD really runs."""
    modules = command_modules(command(image.dockerfile))
    assert modules, f"no module found in the CMD of {image.name}: {command(image.dockerfile)}"
    absent = sorted(modules - set(image_modules(image.dockerfile)))
    assert not absent, f"the CMD of {image.name} runs modules the image does not copy: {absent}"
    assert modules <= set(image.entries), f"{image.name}'s CMD runs {sorted(modules)}; the test checks {image.entries}"


def test_documented_batch_command_runs_a_module_the_image_carries() -> None:
    """The batch job overrides the CMD (`python -m ride_scorer.batch ...`, in the Dockerfile's header)."""
    documented = set(re.findall(r"python -m ([\w.]+)", BATCH.dockerfile.read_text(encoding="utf-8")))
    assert documented == {"ride_scorer.batch"}
    assert {"ride_scorer.batch.__main__"} <= set(image_modules(BATCH.dockerfile)) & set(BATCH.entries)


def test_the_check_reports_tools_copied_into_the_lambda_image(tmp_path: Path) -> None:
    """The checker can fail: one more COPY line of the operator tools shows up as extra files, outside the
    build context."""
    dockerfile = tmp_path / "Dockerfile"
    text = LAMBDA.dockerfile.read_text(encoding="utf-8")
    dockerfile.write_text(text + "COPY tools/ ${LAMBDA_TASK_ROOT}/tools/\n", encoding="utf-8")

    closure = import_closure(import_graph(), LAMBDA.entries)
    missing, extra = compare(set(image_modules(dockerfile)), closure)

    tools = {module for module in import_graph().modules if in_packages(module, ("tools",))}
    assert tools, "the graph has no tools modules to copy"
    assert not missing
    assert extra == tools
    assert "tools/producer.py" in files(extra)
    assert "tools/producer.py" in outside_context(LAMBDA, dockerfile)


@pytest.mark.parametrize(
    ("instructions", "expected"),
    [
        ('ENV A=1 \\\n    B="two words"\n', {"A": "1", "B": "two words"}),
        ("ENV A=1\n# ENV A=3\nENV A=2\n", {"A": "2"}),
        ("ENV A 1\n", ValueError),
    ],
    ids=["continued", "last-wins", "legacy-form"],
)
def test_env_instructions_are_read_as_the_container_starts_with_them(
    tmp_path: Path, instructions: str, expected: object
) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\n" + instructions, encoding="utf-8")
    if expected is ValueError:
        with pytest.raises(ValueError, match="KEY=value"):
            environment(dockerfile)
    else:
        assert environment(dockerfile) == expected


@pytest.mark.parametrize("image", [LAMBDA, BATCH], ids=lambda image: image.name)
def test_numpy_runs_without_openblas_threads_in_every_scoring_image(image: Image) -> None:
    """The scorer makes no BLAS call; OpenBLAS's spinning threads only took CPU from the cold start."""
    assert environment(image.dockerfile)["OPENBLAS_NUM_THREADS"] == "1"
