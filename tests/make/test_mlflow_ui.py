"""`make mlflow-ui` starts one worker (a 2-core machine took ~25 s to start mlflow's default four) and
prints MLflow's own log lines, not the deprecation warnings of the libraries it imports."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.shared.paths import ROOT
from tools.local.loopback import free_port

pytestmark = [
    pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed"),
    pytest.mark.slow,
]
START_TIMEOUT = 120.0


def wait_until_serving(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"make mlflow-ui exited with {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"make mlflow-ui did not answer {url} within {START_TIMEOUT:.0f} s")


def test_mlflow_ui_starts_one_worker_without_warnings(tmp_path: Path):
    port = free_port()
    process = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "mlflow-ui",
            f"MLFLOW_UI_PORT={port}",
            f"MLFLOW_UI_STORE=sqlite:///{tmp_path / 'mlflow.db'}",
            f"MLFLOW_UI_ARTIFACTS={tmp_path / 'mlartifacts'}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so stopping it stops the workers too
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/health", process)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert output.count("Started server process") == 1, output
    assert not re.search(r"\w+Warning: ", output), output  # how Python prints a warning
    assert f"MLflow UI on http://127.0.0.1:{port}, 1 worker(s)" in output
