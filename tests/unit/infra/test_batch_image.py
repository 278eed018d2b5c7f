"""The batch/HTTP image without Docker: what it copies is in its build context, its lock covers what the
code imports at the versions the tests ran with, and its commands point at code that exists."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from importlib.metadata import version

import pytest

from infra.image_contents import instructions
from tests.shared.paths import ROOT

DOCKERFILE = ROOT / "Dockerfile.batch"
LOCK = ROOT / "requirements" / "batch-http.txt"


def locked() -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9_.-]+)==(\S+) \\$", LOCK.read_text(encoding="utf-8"), flags=re.M))


@pytest.mark.parametrize("name", ["flask", "gunicorn", "pyarrow", "tqdm", "numpy", "msgspec", "boto3"])
def test_lock_pins_what_the_code_imports_at_the_tested_versions(name):
    assert locked()[name] == version(name)


def test_lock_has_hashes_for_every_pin_and_no_mlflow_or_scikit_learn():
    """The image scores through the model's pickle-free form: nothing that trains or unpickles ships in it."""
    blocks = re.split(r"\n(?=[a-z0-9])", LOCK.read_text(encoding="utf-8"))
    assert [block.split()[0] for block in blocks if "==" in block and "--hash=sha256:" not in block] == []
    assert not [name for name in locked() if name.startswith("mlflow")]
    assert not {"scikit-learn", "scipy", "joblib", "cloudpickle", "skops"} & set(locked())


def test_default_command_serves_the_app_factory():
    (cmd,) = [json.loads(argument) for keyword, argument in instructions(DOCKERFILE) if keyword == "CMD"]
    # The launcher checks every setting (WEB_CONCURRENCY included) before gunicorn reads it, then runs gunicorn.
    assert cmd == [
        "python",
        "-m",
        "ride_scorer.http_service.gunicorn_conf",
        "ride_scorer.http_service.app:create_app()",
    ]
    module, _, factory = cmd[-1].partition(":")
    assert callable(getattr(importlib.import_module(module), factory.removesuffix("()")))
    assert importlib.import_module("ride_scorer.http_service.gunicorn_conf").bind == ["127.0.0.1:8080"]
    assert ("ENV", "BIND=0.0.0.0:8080") in instructions(DOCKERFILE)


def test_the_batch_command_is_documented_with_the_image():
    docs = (ROOT / "docs" / "batch_and_http.md").read_text(encoding="utf-8")
    assert "python -m ride_scorer.batch --input s3://" in DOCKERFILE.read_text(encoding="utf-8")
    assert "python -m ride_scorer.batch" in docs and "Dockerfile.batch" in docs
    assert importlib.util.find_spec("ride_scorer.batch.__main__") is not None


@pytest.mark.parametrize("name", ["apig-wsgi", "awslambdaric", "simplejson", "snapshot-restore-py"])
def test_lock_pins_the_web_lambdas_runtime_client_and_adapter_at_the_tested_versions(name):
    """The web Lambda runs this image: awslambdaric (python:3.12-slim is no Lambda base image) and apig-wsgi."""
    assert locked()[name] == version(name)


def test_the_web_lambdas_command_runs_a_handler_the_image_carries_from_its_workdir():
    from infra.image_contents import placed_code
    from infra.sam_translate import load_sam_template

    web = load_sam_template(ROOT / "infra" / "templates" / "web.yaml")
    config = web["Resources"]["WebFunction"]["Properties"]["ImageConfig"]
    (workdir,) = [argument for keyword, argument in instructions(DOCKERFILE) if keyword == "WORKDIR"]
    assert config["WorkingDirectory"] == workdir  # `python -m` puts it on sys.path
    module, _, name = config["Command"][0].rpartition(".")
    placed = {str(destination) for destination in placed_code(DOCKERFILE).values()}
    assert f"{workdir}/{module.replace('.', '/')}.py" in placed
    assert callable(getattr(importlib.import_module(module), name))
