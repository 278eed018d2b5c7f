"""The image recipe: a pinned base, only the scorer and its locked runtime dependencies, and a CMD that
names a handler that exists. No Docker engine runs here, so the recipe is checked as text and the
dependency set is proven by integration-tests/unit/infra/test_runtime_closure.py."""

from __future__ import annotations

import importlib
import inspect
import json
import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra.image_contents import instructions
from infra.sam_translate import load_sam_template
from tests.shared.paths import ROOT

DOCKERFILE = ROOT / "Dockerfile"
LOCK = ROOT / "requirements" / "runtime.txt"
PINNED = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)", re.MULTILINE)


def locked() -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in PINNED.findall(LOCK.read_text(encoding="utf-8"))}


def test_base_image_is_the_lambda_python_312_image_pinned_to_a_dated_tag() -> None:
    froms = [argument for keyword, argument in instructions(DOCKERFILE) if keyword == "FROM"]
    assert len(froms) == 1
    assert re.fullmatch(r"public\.ecr\.aws/lambda/python:3\.12\.\d{4}\.\d{2}\.\d{2}\.\d{2}", froms[0]), froms[0]


def test_dependency_layer_copies_only_the_lock_and_the_pruning_step() -> None:
    copies = [argument.split()[:-1] for keyword, argument in instructions(DOCKERFILE) if keyword in {"COPY", "ADD"}]
    assert copies[0] == ["requirements/runtime.txt", "infra/prune_botocore.py", "infra/prune_tests.py"]
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ignore[ignore.index("*")] == "*", "the build context must start from nothing"


def test_dependencies_are_installed_from_the_lock_with_hashes_and_nothing_else() -> None:
    runs = [argument for keyword, argument in instructions(DOCKERFILE) if keyword == "RUN"]
    install = next(run for run in runs if "pip install" in run)
    for flag in ("--require-hashes", "--no-deps", "--only-binary :all:", '--target "${LAMBDA_TASK_ROOT}"'):
        assert flag in install
    assert "-r /tmp/runtime.txt" in install
    # The same pruning install_runtime_closure applies, so the closure test proves the shipped folder.
    assert 'python /tmp/prune_botocore.py "${LAMBDA_TASK_ROOT}"' in install
    assert 'python /tmp/prune_tests.py "${LAMBDA_TASK_ROOT}"' in install


def test_cmd_and_template_name_the_same_importable_callable_handler() -> None:
    (cmd,) = [json.loads(argument) for keyword, argument in instructions(DOCKERFILE) if keyword == "CMD"]
    function = load_sam_template()["Resources"]["ScorerFunction"]["Properties"]
    assert cmd == function["ImageConfig"]["Command"] == ["lambda_function.app.lambda_handler"]
    module_name, _, attribute = cmd[0].rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    assert callable(handler)
    assert list(inspect.signature(handler).parameters) == ["event", "context"]


def test_lock_pins_every_runtime_dependency_and_no_mlflow_or_scikit_learn() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = locked()
    for requirement in map(Requirement, project["dependencies"]):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is a runtime dependency but not in {LOCK.name} (run make lock)"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} violates {requirement}"
    assert not {name for name in pins if name.startswith("mlflow")}
    # The scorer reads the scoring form, never a pickle: none of what scikit-learn models need is shipped.
    assert not set(pins) & {"scikit-learn", "scipy", "joblib", "threadpoolctl", "cloudpickle", "skops"}
    blocks = [
        block for block in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text(encoding="utf-8")) if PINNED.match(block)
    ]
    assert len(blocks) == len(pins)
    assert [block.split()[0] for block in blocks if "--hash=sha256:" not in block] == []


@pytest.mark.parametrize("name", ["numpy", "msgspec", "boto3"])
def test_lock_matches_the_dev_environment_so_the_closure_test_proves_the_image(name: str) -> None:
    from importlib.metadata import version

    assert locked()[name] == version(name)
