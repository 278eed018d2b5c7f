"""`make help` is the first thing a new user runs: it shows what each target will use, with make's
variables as their values (the defaults, or what the command line gives), never `$(NAME)`."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.shared.paths import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_help(*overrides: str) -> dict[str, str]:
    result = subprocess.run(
        ["make", "--no-print-directory", "help", *overrides],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    targets = {}
    for line in result.stdout.splitlines():
        _, target, text = line.split(maxsplit=2)
        targets[target] = text
    return targets


def test_help_prints_the_values_of_the_variables_it_names():
    targets = make_help()
    assert not [text for text in targets.values() if "$(" in text]
    assert targets["deploy-infra"].endswith("as stack ride-scorer-infra")
    assert "on 127.0.0.1:4566 (LOCALSTACK_PORT)" in targets["localstack-up"]
    assert "on 127.0.0.1:5000 (MLFLOW_UI_PORT), 1 worker (MLFLOW_UI_WORKERS)" in targets["mlflow-ui"]


def test_help_prints_the_values_given_on_the_command_line():
    targets = make_help("LOCALSTACK_PORT=4999", "INFRA_STACK=sandbox-infra")
    assert targets["deploy-infra"].endswith("as stack sandbox-infra")
    assert "on 127.0.0.1:4999 (LOCALSTACK_PORT)" in targets["localstack-up"]
