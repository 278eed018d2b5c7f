"""docs/local.md's recipe "from nothing to a reconciled stream", run as written in bash: an emulator, the
resources, a trained and published model, rides, the runner, the consumer and reconcile, which finds every
ride accounted for. Only the emulator's port and the scratch files move, so runs cannot collide."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.shared.documented import read_blocks
from tests.shared.paths import ROOT
from tools.local.loopback import free_port

pytestmark = pytest.mark.slow
HEADING = "## From nothing to a reconciled stream"


def recipe() -> str:
    """The first bash block under the heading, as the docs check reads every block."""
    document = ROOT / "docs" / "local.md"
    lines = document.read_text(encoding="utf-8").splitlines()
    heading = next(number for number, line in enumerate(lines, start=1) if line.startswith(HEADING))
    return next(block.text for block in read_blocks(document) if block.language == "bash" and block.line > heading)


def test_the_documented_recipe_ends_with_every_ride_accounted_for(tmp_path):
    script = recipe().replace("5000", str(free_port())).replace("/tmp/ride-scorer-", f"{tmp_path}/")
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MLFLOW_"))}
    environment["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'mlflow.db'}"  # not the project's store

    result = subprocess.run(
        ["bash", "-e", "-c", "trap 'kill ${moto_pid:-} 2>/dev/null || true' EXIT\n" + script],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "read 2006 records, checkpointed 2006 (2000 scored, 6 dead-lettered), discarded 0;" in result.stderr
    assert result.stdout.splitlines()[-1] == "OK: every input is accounted for"
    outcomes = (tmp_path / "outcomes.jsonl").read_text().splitlines()
    assert len(outcomes) == 2006 and sum('"source": "dead-letter-queue"' in line for line in outcomes) == 6
    assert "Traceback" not in result.stderr and "INFO botocore" not in result.stderr  # publish-model's noise
