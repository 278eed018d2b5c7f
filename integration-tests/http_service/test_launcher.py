"""The service as its image and `make serve` start it: `python -m ride_scorer.http_service.gunicorn_conf APP`.

A wrong setting ends it with one `error:` line naming the variable and exit status 1, including
WEB_CONCURRENCY, which gunicorn reads (and crashes on) before any configuration module runs. Started
right, it serves on loopback, and a body in another encoding than UTF-8 gets the stream's `invalid_json`.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ride_scorer.core.rides import Rejection, RejectionCode, read_kinesis_data
from tests.shared.paths import ROOT

APP = "ride_scorer.http_service.app:create_app()"
LAUNCHER = [sys.executable, "-m", "ride_scorer.http_service.gunicorn_conf"]
GUNICORN = [str(Path(sys.executable).with_name("gunicorn")), "-c", "python:ride_scorer.http_service.gunicorn_conf"]
SETTINGS = (
    "BIND",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_CLIENT_TIMEOUT",
    "GUNICORN_CMD_ARGS",
    "MODEL_LOCATION",
    "MODEL_SHA256",
    "ALLOW_UNPINNED_MODEL",
    "MODEL_NAME",
    "MAX_REQUEST_BYTES",
)
RIDE = {"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 256}


def environment(**settings: str) -> dict[str, str]:
    """This process's environment without any of the service's settings, and then `settings`."""
    return {**{k: v for k, v in os.environ.items() if k not in SETTINGS}, **settings}


def run(command: list[str], **settings: str) -> subprocess.CompletedProcess[str]:
    """Runs to the end: every case here stops before gunicorn binds or forks."""
    return subprocess.run(
        [*command, "--bind", "127.0.0.1:0", APP],
        cwd=ROOT,
        env=environment(**settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def model_settings(trained_model_dir: Path) -> dict[str, str]:
    return {"MODEL_LOCATION": str(trained_model_dir), "ALLOW_UNPINNED_MODEL": "true"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEB_CONCURRENCY", "abc"),  # gunicorn's own int() of it crashed with a traceback
        ("WEB_CONCURRENCY", "0"),
        ("GUNICORN_THREADS", "many"),
        ("GUNICORN_TIMEOUT", "-1"),
        ("GUNICORN_CLIENT_TIMEOUT", "2.5"),
        ("MAX_REQUEST_BYTES", "-5"),  # was a traceback from the app factory
    ],
)
def test_a_wrong_setting_is_one_line_naming_the_variable(model_settings, name, value):
    finished = run(LAUNCHER, **model_settings, **{name: value})

    assert (finished.returncode, finished.stdout) == (1, "")
    assert finished.stderr == f"error: {name}={value!r} must be a positive integer\n"


@pytest.mark.parametrize(("name", "value"), [("WEB_CONCURRENCY", "0"), ("MAX_REQUEST_BYTES", "-5")])
def test_gunicorn_started_directly_says_the_same(model_settings, name, value):
    """Only WEB_CONCURRENCY=abc needs the launcher: gunicorn itself fails on it before loading this config."""
    finished = run(GUNICORN, **model_settings, **{name: value})

    assert (finished.returncode, finished.stderr) == (1, f"error: {name}={value!r} must be a positive integer\n")


def test_a_missing_model_location_is_named():
    finished = run(LAUNCHER, ALLOW_UNPINNED_MODEL="true")

    assert (finished.returncode, finished.stderr) == (1, "error: MODEL_LOCATION is not set; it is required\n")


def test_the_launcher_serves_with_threaded_workers(web_service):
    """The session's service is the launcher, with WEB_CONCURRENCY set but blank (tests/shared/web_service.py)."""
    assert requests.get(f"{web_service.url}/health", timeout=10).json()["status"] == "ok"
    assert requests.post(f"{web_service.url}/predict", json=RIDE, timeout=10).json()["prediction"]["ride_id"] == 256
    assert "Using worker: gthread" in web_service.log.read_text()
    deadline = time.monotonic() + 30  # /health answers as soon as one worker is up
    while web_service.log.read_text().count("Booting worker with pid") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert web_service.log.read_text().count("Booting worker with pid") == 2  # the default WEB_CONCURRENCY


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_a_body_that_is_not_utf8_gets_the_streams_invalid_json(web_service, encoding):
    """The stream rejects these bytes as invalid_json; so does the service, for the same reason, whatever
    charset the client declares."""
    body = json.dumps(RIDE).encode(encoding)
    stream = read_kinesis_data(base64.b64encode(body), max_bytes=16 * 1024)
    assert isinstance(stream, Rejection) and stream.code is RejectionCode.INVALID_JSON

    response = requests.post(
        f"{web_service.url}/predict",
        data=body,
        headers={"Content-Type": f"application/json; charset={encoding}"},
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_json",
            "message": "the body is not JSON: " + stream.reason.removeprefix("data is not JSON: "),
        }
    }
