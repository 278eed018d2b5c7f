"""The HTTP service as users run it (the launcher the image and `make serve` start: the project's settings
checked, then gunicorn with its config) on a free loopback port.

For the tests and the benchmark: ready when `/health` answers 200, stopped with SIGTERM and then SIGKILL,
and a failure to start reports gunicorn's own log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

from tools.local.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]


class ServiceDidNotStart(RuntimeError):
    """gunicorn exited or never answered /health; the message carries its log."""


@contextmanager
def gunicorn_service(
    environment: Mapping[str, str], log: Path, extra_args: Sequence[str] = (), timeout: float = 120.0
) -> Iterator[str]:
    """Yield the service's base URL; `environment` is added to this process's environment."""
    port = free_port()
    command = [
        *(sys.executable, "-m", "ride_scorer.http_service.gunicorn_conf", "--bind", f"127.0.0.1:{port}", *extra_args),
        "ride_scorer.http_service.app:create_app()",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **environment}, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(process, url, log, timeout)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServiceDidNotStart(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise ServiceDidNotStart(f"gunicorn did not answer /health within {timeout} s:\n{log.read_text()}")
        time.sleep(0.2)
