"""`make run`'s script as a new user sees it: the whole pipeline on an embedded moto, a summary, exit 0."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.shared.paths import ROOT

pytestmark = pytest.mark.slow


def test_the_demo_scores_every_ride_and_dead_letters_each_poison_kind_once():
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MLFLOW_"))}
    result = subprocess.run(
        [sys.executable, "scripts/run_demo.py", "--rides", "300", "--poison", "1", "--shards", "1"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "records in:        306 (300 rides, 6 poison)" in lines
    assert "predictions out:   300 records, 300 distinct rides" in lines
    assert 'dead-lettered:     6 {"invalid_json": 2, "invalid_schema": 3, "payload_too_large": 1}' in lines
    assert lines[-1] == "OK: 0 rides without a prediction"
    # What a user reads is the demo's own account: no MLflow or pickle notes, no tracebacks.
    assert "mlflow" not in result.stderr.lower() and "Traceback" not in result.stderr
    assert not any(" INFO " in line or " WARNING " in line for line in lines)
