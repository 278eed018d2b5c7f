"""`make help` is the first thing a new user runs: the targets grouped by task, each showing what it will use,
with make's variables as their values (the defaults, or what the command line gives), never `$(NAME)`."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.shared.paths import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_help_text(*overrides: str) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", "help", *overrides],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def groups(text: str) -> dict[str, dict[str, str]]:
    """Each group's title and its targets with their help texts."""
    found: dict[str, dict[str, str]] = {}
    group: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("  make "):
            _, target, help_text = line.split(maxsplit=2)
            group[target] = help_text
        elif line.strip():
            group = found.setdefault(line.removesuffix(":"), {})
    return found


def make_help(*overrides: str) -> dict[str, str]:
    return {target: text for group in groups(make_help_text(*overrides)).values() for target, text in group.items()}


def test_help_groups_every_target_by_task_in_order():
    found = groups(make_help_text())
    assert list(found) == [
        "Run it here",
        "Train and publish models",
        "Deploy to AWS",
        "Operate what is deployed",
        "Develop and test",
    ], "a target outside the groups: give its makefile a `# help-group: NAME` line, or start its help with [NAME]"
    assert {"run", "serve", "batch"} <= set(found["Run it here"])
    assert {"train", "promote"} <= set(found["Train and publish models"])
    assert {"deploy", "validate"} <= set(found["Deploy to AWS"])
    assert "batch-remote" in found["Operate what is deployed"]  # a [operate] tag in a file whose group is deploy
    assert {"test", "unit"} <= set(found["Develop and test"])


def test_help_prints_the_values_of_the_variables_it_names():
    targets = make_help()
    assert not [text for text in targets.values() if "$(" in text]
    assert "as stack ride-scorer-infra " in targets["deploy-infra"]
    assert "on 127.0.0.1:4566 (LOCALSTACK_PORT)" in targets["localstack-up"]
    assert "on 127.0.0.1:5000 (MLFLOW_UI_PORT), 1 worker (MLFLOW_UI_WORKERS)" in targets["mlflow-ui"]


def test_help_prints_the_values_given_on_the_command_line():
    targets = make_help("LOCALSTACK_PORT=4999", "INFRA_STACK=sandbox-infra")
    assert "as stack sandbox-infra " in targets["deploy-infra"]
    assert "on 127.0.0.1:4999 (LOCALSTACK_PORT)" in targets["localstack-up"]
