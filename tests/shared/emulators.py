"""Fixtures for the local-AWS tests: one `emulator` parametrized over moto's server and LocalStack.

LocalStack is installed into .cache/localstack (once) and started on 127.0.0.1 for the session, then
stopped (SIGTERM, SIGKILL after a timeout). Where no Python >= 3.13 exists its tests are skipped with
the reason; the moto half still runs. RIDE_SCORER_EXTERNAL_LOCALSTACK=<url> uses a running LocalStack
(the docker-compose one) instead. Test files import the fixtures they use from here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from lambda_function import app
from ride_scorer.tools.local.localstack import DEFAULT_CACHE, Layout, LocalStackServer, LocalStackUnavailable, install
from ride_scorer.tools.local.ports import free_port

LOCALSTACK_START_TIMEOUT = 180.0


@dataclass(frozen=True)
class Emulator:
    name: str
    url: str
    region: str = "us-east-1"

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.region
        )

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.url)


@pytest.fixture(scope="session")
def localstack_emulator() -> Iterator[Emulator]:
    external = os.environ.get("RIDE_SCORER_EXTERNAL_LOCALSTACK")
    if external:  # `make compose-test`: a LocalStack container someone else started and stops
        yield Emulator("localstack", external)
        return
    layout = Layout(Path(os.environ.get("RIDE_SCORER_LOCALSTACK_CACHE", str(DEFAULT_CACHE))))
    try:
        install(layout)
    except LocalStackUnavailable as error:
        pytest.skip(f"LocalStack tests skipped: {error}")
    server = LocalStackServer(layout, free_port())
    server.start(timeout=LOCALSTACK_START_TIMEOUT)
    try:
        yield Emulator("localstack", server.url)
    finally:
        server.stop()


@pytest.fixture(scope="session", params=["moto", "localstack"])
def emulator(request: pytest.FixtureRequest) -> Emulator:
    if request.param == "moto":
        endpoint = request.getfixturevalue("moto_endpoint")
        return Emulator("moto", endpoint.url, endpoint.region)
    return request.getfixturevalue("localstack_emulator")  # type: ignore[no-any-return]


@contextmanager
def emulator_environment(emulator: Emulator, **scorer_env: str) -> Iterator[None]:
    """boto3's standard settings point at the emulator; the handler gets its Lambda variables; the cached
    scorer is dropped before and after so each use loads its own model and clients."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", emulator.url)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", emulator.region)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            patch.delenv(name, raising=False)
        for name, value in scorer_env.items():
            patch.setenv(name, value)
        app.reset()
        try:
            yield
        finally:
            app.reset()


def wait_for_stream(kinesis: Any, name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise TimeoutError(f"stream {name} not ACTIVE after {timeout}s")
        time.sleep(0.1)
