"""Every fenced command in README.md and docs/ works as written here, or is marked as needing AWS or Docker.

What "works here" means for each kind of command, without running the long ones:
- `make TARGET VAR=...`: the target exists, and each variable given is one the makefiles read;
- `.venv/bin/python -m MODULE`, a repo script, or a program in `.venv/bin` (the project's console scripts,
  mlflow, ...): run as written, from the repository root, in a fresh shell's environment (no virtualenv
  activated: none on PATH, no VIRTUAL_ENV or PYTHONPATH), it starts (`--help` exits 0) and has every
  `--option` the docs give it. A bare `python` or console script works only in an activated venv, so the
  docs always name `.venv/bin/...`; a command whose program looks for helpers on PATH (`mlflow models
  serve` starts `uvicorn`) puts `.venv/bin` on PATH itself;
- anything else: the program is on this machine.
A command needs AWS when it calls the AWS CLI or an `s3://` location, or is a make target whose recipe (or a
prerequisite's) does; it needs Docker for `docker`, `sam build`, `sam local invoke|start-*` and the make
targets that run them. Such a command must sit in a block marked `<!-- needs: aws -->` (or docker, or both)
on the line before its fence; the checks above still apply to it.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.shared.documented import KNOWN_NEEDS, SHELL_LANGUAGES, Block, Command
from tests.shared.paths import DATA, ROOT

MAKEFILES = [ROOT / "Makefile", *sorted((ROOT / "make").glob("*.mk"))]
TARGET = re.compile(r"^([a-zA-Z0-9_-]+):(?!=)(.*)$")
VENV_BIN = ".venv/bin/"
PYTHONS = {".venv/bin/python", "$(PY)"}
# Only in an activated virtualenv do these find the project's dependencies.
ACTIVATED_ONLY = {"python", "python3", "pip", "pytest", "mlflow", "gunicorn", "spark-submit"}
# Commands that start another program of the venv by name, from PATH: `mlflow models serve` runs uvicorn,
# spark-submit finds Spark through the `python3` on PATH. (program, subcommand) pairs.
NEEDS_VENV_ON_PATH = {(".venv/bin/mlflow", ("models", "serve")), (".venv/bin/spark-submit", ())}
# Programs whose later arguments are someone else's (spark-submit passes them to the application).
OPTIONS_NOT_ALL_THEIRS = {".venv/bin/spark-submit"}
SAM = {"sam", ".cache/sam-cli/bin/sam"}
# SAM subcommands that start containers: an image function is built and invoked with Docker.
SAM_DOCKER = {("build",), ("local", "invoke"), ("local", "start-api"), ("local", "start-lambda")}
SAM_AWS = {("deploy",), ("delete",), ("logs",), ("sync",), ("remote", "invoke"), ("list",)}


@functools.cache
def make_targets() -> dict[str, tuple[str, list[str]]]:
    """Each target's recipe text and prerequisites, across the Makefile and make/*.mk."""
    targets: dict[str, tuple[str, list[str]]] = {}
    for makefile in MAKEFILES:
        current: str | None = None
        for line in makefile.read_text(encoding="utf-8").splitlines():
            match = TARGET.match(line)
            if match and not line.startswith("\t"):
                current = match.group(1)
                recipe, prerequisites = targets.get(current, ("", []))
                prerequisites = prerequisites + match.group(2).split("##")[0].split()
                targets[current] = (recipe, prerequisites)
            elif line.startswith("\t") and current:
                recipe, prerequisites = targets[current]
                targets[current] = (recipe + line + "\n", prerequisites)
            elif line and not line.startswith(("\t", "#")):
                current = None
    return targets


@functools.cache
def make_variables() -> set[str]:
    text = "\n".join(makefile.read_text(encoding="utf-8") for makefile in MAKEFILES)
    return set(re.findall(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]", text)) | set(
        re.findall(r"\$\$\{?([A-Z_][A-Z0-9_]*)", text)
    )


def recipe_needs(target: str, seen: frozenset[str] = frozenset()) -> set[str]:
    recipe, prerequisites = make_targets().get(target, ("", []))
    needs = set()
    if re.search(r"(^|[\s;(&|])docker\s", recipe):
        needs.add("docker")
    if re.search(r"(^|[\s;(&|])aws\s", recipe) or "$(SAM) deploy" in recipe:
        needs.add("aws")
    for prerequisite in prerequisites:
        if prerequisite in make_targets() and prerequisite not in seen:
            needs |= recipe_needs(prerequisite, seen | {target})
    return needs


def needs_of(command: Command) -> set[str]:
    words = command.words
    needs = {"aws"} if any(word.startswith(("s3://", "s3a://")) for word in words) else set()
    if command.program == "docker":
        needs.add("docker")
    elif command.program == "aws":
        needs.add("aws")
    elif command.program in SAM:
        subcommand = tuple(word for word in words[1:3] if not word.startswith("-"))
        if subcommand[:1] in SAM_DOCKER or subcommand[:2] in SAM_DOCKER:
            needs.add("docker")
        if subcommand[:1] in SAM_AWS or subcommand[:2] in SAM_AWS:
            needs.add("aws")
    elif command.program == "make":
        for target in make_goals(command):
            needs |= recipe_needs(target)
    return needs


def make_goals(command: Command) -> list[str]:
    return [word for word in command.words[1:] if not word.startswith("-") and "=" not in word]


@functools.cache
def console_scripts() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {name: target.split(":")[0] for name, target in project["project"].get("scripts", {}).items()}


def fresh_shell_environment() -> dict[str, str]:
    """This process's environment as a fresh shell in a fresh clone has it: no virtualenv activated."""
    environment = {
        name: value for name, value in os.environ.items() if name not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
    }
    path = environment.get("PATH", os.defpath).split(os.pathsep)
    environment["PATH"] = os.pathsep.join(entry for entry in path if not (Path(entry).parent / "pyvenv.cfg").exists())
    return environment


def needs_venv_on_path(command: Command) -> bool:
    return any(
        command.program == program and command.words[1 : 1 + len(subcommand)] == subcommand
        for program, subcommand in NEEDS_VENV_ON_PATH
    )


def command_path(command: Command) -> str | None:
    """The PATH a command sets for itself (`PATH="$PWD/.venv/bin:$PATH" ...`), as the shell expands it."""
    for assignment in command.assignments:
        if assignment.startswith("PATH="):
            fresh = fresh_shell_environment()["PATH"]
            return assignment.removeprefix("PATH=").replace("$PWD", str(ROOT)).replace("$PATH", fresh)
    return None


@functools.cache
def help_text(program: tuple[str, ...], path: str | None = None) -> tuple[int, str]:
    """`PROGRAM --help` as a user pastes it at the repository's root, in a fresh shell."""
    result = subprocess.run(
        [*program, "--help"],
        cwd=ROOT,
        env={**fresh_shell_environment(), **({"PATH": path} if path else {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def python_program(command: Command) -> tuple[str, ...] | None:
    """The command's program as written (`.venv/bin/python -m module`, a script, a program in .venv/bin) and its
    subcommands, if it is one of those."""
    words = command.words
    start: tuple[str, ...] | None = None
    if command.program in PYTHONS and len(words) > 2 and words[1] == "-m":
        start, rest = (VENV_BIN + "python", "-m", words[2]), words[3:]
    elif command.program in PYTHONS and len(words) > 1 and words[1].endswith(".py"):
        start, rest = (VENV_BIN + "python", words[1]), words[2:]
    elif command.program.startswith(VENV_BIN) and command.program not in PYTHONS:
        start, rest = (command.program,), words[1:]
    if start is None:
        return None
    subcommands = []  # `python -m training train ...`: the help of `train`
    for word in rest:
        if not re.fullmatch(r"[a-z][a-z-]*", word):
            break
        subcommands.append(word)
    return (*start, *subcommands)


def options(command: Command) -> set[str]:
    return {word.strip("[]").split("=")[0] for word in command.words if re.match(r"\[?--[a-z]", word)}


def test_every_fence_names_its_language(blocks: list[Block]):
    unnamed = [block.where for block in blocks if not block.language]
    assert unnamed == [], "give these fences a language (bash, text, json...)"


def test_markers_name_known_needs(blocks: list[Block]):
    unknown = [(block.where, sorted(block.needs - KNOWN_NEEDS)) for block in blocks if block.needs - KNOWN_NEEDS]
    assert unknown == []


def test_commands_that_need_aws_or_docker_are_marked(documented_commands: list[Command]):
    unmarked = [
        f"{command} needs {', '.join(sorted(needs_of(command) - command.block.needs))}"
        for command in documented_commands
        if needs_of(command) - command.block.needs
    ]
    assert unmarked == [], "mark each block with <!-- needs: ... --> on the line before its fence"


def test_marked_blocks_need_what_they_say(blocks: list[Block], documented_commands: list[Command]):
    """A marker on a block that runs here would hide it from the check."""
    needed: dict[str, set[str]] = {}
    for command in documented_commands:
        needed.setdefault(command.block.where, set()).update(needs_of(command))
    overmarked = [
        block.where
        for block in blocks
        if block.language in SHELL_LANGUAGES and block.needs and not needed.get(block.where, set()) & block.needs
    ]
    assert overmarked == []


def test_python_commands_name_the_venv(documented_commands: list[Command]):
    """A fresh clone has no activated venv: a bare `python` is the system's, without the project's packages."""
    bare = [
        str(command) for command in documented_commands if command.program in ACTIVATED_ONLY | set(console_scripts())
    ]
    assert bare == [], "write .venv/bin/PROGRAM"


def test_programs_that_start_venv_programs_have_the_venv_on_path(documented_commands: list[Command]):
    missing = [
        str(command)
        for command in documented_commands
        if needs_venv_on_path(command) and ".venv/bin" not in (command_path(command) or "")
    ]
    assert missing == [], 'write PATH="$PWD/.venv/bin:$PATH" before the command'


def test_programs_exist_here(documented_commands: list[Command]):
    missing = [
        str(command)
        for command in documented_commands
        if command.program not in {"make", *PYTHONS, *SAM, "docker", "aws", *console_scripts()}
        and not command.program.startswith(("./", ".venv/"))
        and shutil.which(command.program) is None
        and not (ROOT / command.program).exists()
        and command.program not in {"export", "cd", "source", "set", "unset"}
    ]
    assert missing == []


def test_make_targets_and_variables_exist(documented_commands: list[Command]):
    wrong = []
    for command in documented_commands:
        if command.program != "make":
            continue
        wrong += [f"{command}: no target {goal!r}" for goal in make_goals(command) if goal not in make_targets()]
        given = [word.split("=")[0] for word in command.words[1:] if re.match(r"[A-Z_][A-Z0-9_]*=", word)]
        wrong += [f"{command}: no makefile reads {name}" for name in given if name not in make_variables()]
    assert wrong == []


def test_python_entry_points_start_and_take_the_documented_options(documented_commands: list[Command]):
    wrong = []
    for command in documented_commands:
        program = python_program(command)
        if program is None:
            continue
        status, text = help_text(program, command_path(command))
        if status != 0:
            wrong.append(f"{command}: --help exits {status}: {text.strip().splitlines()[-1:]}")
            continue
        if command.program in OPTIONS_NOT_ALL_THEIRS:
            continue
        wrong += [f"{command}: no option {option}" for option in sorted(options(command)) if option not in text]
    assert wrong == []


@pytest.mark.parametrize("goal", ["run", "test"])
def test_the_readme_first_screen_gives_make_run_and_make_test(goal: str, documented_commands: list[Command]):
    readme = [command for command in documented_commands if command.block.document.name == "README.md"]
    first = [command for command in readme if command.block == readme[0].block]
    assert [command.words for command in first] == [("make", "run"), ("make", "test")]
    assert recipe_needs(goal) == set()


def test_the_readmes_batch_command_scores_as_pasted_in_a_fresh_clone(blocks: list[Block], tmp_path: Path):
    """Run, not only checked: pasted after `make run`, it once said `MODEL_LOCATION is not set`. The clone is
    the repository's files without `.cache` (its outputs land there, an ignored folder, not in the clone's root)."""
    lines = [
        line
        for block in blocks
        if block.document.name == "README.md" and block.language in SHELL_LANGUAGES and not block.needs
        for line in block.text.replace("\\\n", " ").splitlines()
        if line.startswith(".venv/bin/python -m ride_scorer.batch ")
    ]
    for entry in ROOT.iterdir():
        if entry.name not in {".cache", ".git"}:
            (tmp_path / entry.name).symlink_to(entry)

    shell = {name: value for name, value in fresh_shell_environment().items() if not name.startswith("MODEL_")}
    done = subprocess.run(
        ["bash", "-c", lines[0]], cwd=tmp_path, env=shell, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    output = tmp_path / summary["output"]
    assert output.is_relative_to(tmp_path / ".cache") and pq.read_metadata(output).num_rows == summary["scored"]
    assert summary["rows"] == pq.read_metadata(DATA / "green_tripdata_2023-02.parquet").num_rows
