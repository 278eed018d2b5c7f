"""The GitHub Actions workflows users copy (.github/workflows): valid for GitHub's workflow schema, zero
zizmor findings, every action pinned by commit SHA, no long-lived AWS keys anywhere, and they run what the
project documents (CI: `bash .ci/run`; CD: make publish, make publish-model from @champion, make deploy).

Both checkers run offline (`make workflows` runs the same two commands).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.shared.paths import ROOT

WORKFLOWS_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"uses: (\S+) # v\d+(\.\d+)*$")


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def load(name: str) -> dict[Any, Any]:
    document = yaml.safe_load((WORKFLOWS_DIR / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True)
    return document


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def zizmor(*paths: Path) -> tuple[int, list[dict[str, Any]]]:
    result = run(BIN / "zizmor", "--offline", "--no-progress", "--persona", "pedantic", "--format", "json", *paths)
    return result.returncode, json.loads(result.stdout or "[]")


def test_there_are_the_ci_and_cd_workflows() -> None:
    assert [path.name for path in WORKFLOWS] == ["cd.yml", "ci.yml"]


def test_the_workflows_match_githubs_schema() -> None:
    result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing() -> None:
    returncode, findings = zizmor(*WORKFLOWS)
    assert findings == [] and returncode == 0


def test_zizmor_would_catch_an_unpinned_action_and_persisted_credentials(tmp_path: Path) -> None:
    """The audit is live: the same checkout, unpinned and keeping its token, is reported."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-24.04\n    permissions:\n"
        "      contents: read\n    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n",
        encoding="utf-8",
    )
    returncode, findings = zizmor(bad)
    assert returncode != 0
    assert {"unpinned-uses", "artipacked"} <= {finding["ident"] for finding in findings}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_by_commit_sha_with_its_version_in_a_comment(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    uses = [step["uses"] for step in steps(load(path.name)) if "uses" in step]
    assert uses and all(PINNED.match(reference) for reference in uses), uses
    lines = [
        line.strip().removeprefix("- ") for line in text.splitlines() if line.strip().startswith(("uses:", "- uses:"))
    ]
    assert len(lines) == len(uses) and all(VERSION_COMMENT.match(line) for line in lines), lines


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_no_long_lived_keys_and_no_persisted_credentials(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for key in ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert key not in text
    workflow = load(path.name)
    assert workflow["permissions"] == {}
    for step in steps(workflow):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_ci_runs_the_projects_ci_entry_point_on_pushes_and_pull_requests() -> None:
    workflow = load("ci.yml")
    assert set(workflow["on"]) == {"push", "pull_request"}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    assert [step["run"] for step in job["steps"] if "run" in step] == ["bash .ci/run"]


def test_cd_deploys_main_with_oidc_after_the_tests() -> None:
    workflow = load("cd.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    test, deploy = workflow["jobs"]["test"], workflow["jobs"]["deploy"]
    assert [step["run"] for step in test["steps"] if "run" in step] == ["bash .ci/run"]
    assert test["permissions"] == {"contents": "read"}
    assert deploy["needs"] == "test"
    # Only the deploy job may ask GitHub for an OIDC token.
    assert deploy["permissions"] == {"contents": "read", "id-token": "write"}
    (credentials,) = [step for step in deploy["steps"] if step.get("uses", "").startswith("aws-actions/")]
    assert credentials["uses"].startswith("aws-actions/configure-aws-credentials@")
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert deploy["env"]["MLFLOW_TRACKING_URI"] == "${{ vars.MLFLOW_TRACKING_URI }}"
    commands = "\n".join(step["run"] for step in deploy["steps"] if "run" in step)
    order = [commands.index(command) for command in ("make publish ", "make publish-model ", "make deploy ")]
    assert order == sorted(order)
    assert "MODEL_REF=models:/ride-duration@champion" in commands


def test_the_make_targets_the_workflows_call_exist() -> None:
    makefiles = [ROOT / "Makefile", *sorted((ROOT / "make").glob("*.mk"))]
    defined = {
        match.group(1)
        for path in makefiles
        for match in re.finditer(r"^([a-zA-Z_-]+):", path.read_text(encoding="utf-8"), re.MULTILINE)
    }
    called = set()
    for path in WORKFLOWS:
        for step in steps(load(path.name)):
            called |= set(re.findall(r"\bmake ((?:[a-z-]+ ?)+)", step.get("run", "")))
    targets = {target for group in called for target in group.split() if "=" not in target}
    assert targets and targets <= defined, targets - defined
