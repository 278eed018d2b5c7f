"""`make run`'s script as a new user sees it: the whole pipeline on moto, a summary, three next steps, exit 0;
with KEEP=1 (`--keep`) the steps it prints work as pasted, and the stop line it prints stops what it left."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.shared.paths import ROOT

pytestmark = pytest.mark.slow


def shell(command: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, check=False
    )


def answers(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(endpoint, timeout=5)
    except urllib.error.HTTPError:
        return True  # an answer, if not a 200
    except OSError:
        return False
    return True


def test_the_demo_scores_every_ride_and_leaves_what_it_says_up_with_keep(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MLFLOW_"))}
    result = subprocess.run(
        [sys.executable, "scripts/run_demo.py", "--rides", "300", "--poison", "1", "--shards", "1", "--keep",
         "--work-dir", str(tmp_path)],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "records in:        306 (300 rides, 6 poison)" in lines
    assert "predictions out:   300 records, 300 distinct rides" in lines
    assert 'dead-lettered:     6 {"invalid_json": 2, "invalid_schema": 3, "payload_too_large": 1}' in lines
    assert "OK: 0 rides without a prediction" in lines
    # What a user reads is the demo's own account: no MLflow or pickle notes, no tracebacks.
    assert "mlflow" not in result.stderr.lower() and "Traceback" not in result.stderr
    assert not any(" INFO " in line or " WARNING " in line for line in lines)

    tail = lines[lines.index("OK: 0 rides without a prediction") + 2 :]
    export, steps, stop = tail[1], tail[3:6], tail[6]
    assert tail[0].startswith("kept: streams, queues and bucket demo-") and tail[2] == "next steps:"
    assert [step.split()[0] for step in steps] == ["1.", "2.", "3."] and stop.startswith("stop them: kill ")
    pasted = {**environment, **dict(pair.split("=", 1) for pair in shlex.split(export.removeprefix("  export ")))}
    endpoint = pasted["AWS_ENDPOINT_URL"]
    try:
        consumed = shell(steps[0].split(maxsplit=1)[1], pasted)
        assert consumed.returncode == 0 and consumed.stderr.endswith("306 records printed\n"), consumed.stderr
        reconciled = shell(steps[1].split(maxsplit=1)[1], pasted)
        assert reconciled.returncode == 0 and "OK: every input is accounted for" in reconciled.stdout
        more = shell(steps[2].split(maxsplit=1)[1], pasted)
        assert more.returncode == 0, more.stderr
        assert more.stderr.splitlines()[-1].startswith(
            "read 506 records, checkpointed 506 (500 scored, 6 dead-lettered), discarded 0;"
        ), more.stderr  # the runner's summary is the last line: nothing of the handler's logs after it
    finally:
        stopped = shell(stop.removeprefix("stop them: "), pasted)
    assert stopped.returncode == 0, stopped.stderr
    deadline = time.monotonic() + 30
    while answers(endpoint) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not answers(endpoint) and not any(tmp_path.iterdir())
