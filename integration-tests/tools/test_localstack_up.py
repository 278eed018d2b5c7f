"""`make localstack-up` (python -m tools.local.localstack up) says what it is doing: installing
on a first run, starting, then ready with the endpoint, instead of a silent half minute."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.shared.paths import ROOT
from tools.local.localstack import (
    DEFAULT_CACHE,
    LOCALSTACK_VERSION,
    Layout,
    LocalStackUnavailable,
    install,
)
from tools.local.loopback import free_port


def localstack_cli(*args: str, cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.local.localstack", *args, "--cache", str(cache)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def test_first_run_says_it_is_installing_before_it_does(tmp_path: Path):
    # /bin/false as the interpreter: the install starts, says so, and fails at its first step.
    result = localstack_cli("up", "--port", str(free_port()), cache=tmp_path, LOCALSTACK_PYTHON="/bin/false")

    assert result.returncode == 2
    first, error = result.stderr.strip().splitlines()
    assert first == (
        f"installing localstack-core {LOCALSTACK_VERSION} into {tmp_path / 'venv'} with /bin/false "
        "(first run only, 30-60 s)"
    )
    assert error.startswith("error: could not create LocalStack's venv (exit 1)")


@pytest.mark.localstack
def test_up_says_starting_then_ready_with_the_endpoint(tmp_path: Path):
    try:
        install(Layout(DEFAULT_CACHE))  # once per machine; the fixtures in conftest.py share it
    except LocalStackUnavailable as error:
        pytest.skip(f"LocalStack tests skipped: {error}")
    # The installed venv and state, with this test's own log and pid file: a LocalStack someone started
    # with `make localstack-up` is left alone.
    for name in ("venv", "state"):
        (tmp_path / name).symlink_to(DEFAULT_CACHE / name)
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    started = localstack_cli("up", "--port", str(port), cache=tmp_path)
    stopped = localstack_cli("down", cache=tmp_path)

    assert started.returncode == 0, started.stderr
    starting, ready = started.stderr.strip().splitlines()
    assert starting == f"starting LocalStack (kinesis, s3, sqs, sts) on {url}; log: {tmp_path / 'localstack.log'}"
    assert ready.startswith(f"LocalStack ready at {url} after ")
    assert started.stdout == f"{url}\n"
    assert stopped.stdout == f"stopped LocalStack at {url}\n"
