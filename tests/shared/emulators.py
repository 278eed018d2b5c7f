"""The local AWS emulators as the integration tests see them: an endpoint's address and clients, boto3's
standard settings pointed at one, and waiting for a stream to become usable.

The fixtures that start the emulators (`moto_endpoint`, `localstack_emulator`, `emulator`, `aws_env`, ...)
are in integration-tests/conftest.py; this module only holds what they and the tests share.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from lambda_function import app


@dataclass(frozen=True)
class Endpoint:
    """moto's server (the `moto_endpoint` fixture)."""

    url: str
    region: str = "us-east-1"

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.region
        )

    def client(self, service: str):
        return self.session().client(service, endpoint_url=self.url)


@dataclass(frozen=True)
class Emulator(Endpoint):
    """moto's server or LocalStack (the `emulator` fixture, parametrized over both, names which)."""

    name: str = "moto"


def point_at(patch: pytest.MonkeyPatch, endpoint: Endpoint) -> None:
    """boto3's standard settings aimed at a local endpoint, as a user would set them; no profile or session
    token from the machine leaks in."""
    patch.setenv("AWS_ENDPOINT_URL", endpoint.url)
    patch.setenv("AWS_ACCESS_KEY_ID", "testing")
    patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    patch.setenv("AWS_DEFAULT_REGION", endpoint.region)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        patch.delenv(name, raising=False)


@contextmanager
def emulator_environment(emulator: Emulator, **scorer_env: str) -> Iterator[None]:
    """boto3's standard settings point at the emulator; the handler gets its Lambda variables; the cached
    scorer is dropped before and after so each use loads its own model and clients."""
    with pytest.MonkeyPatch.context() as patch:
        point_at(patch, emulator)
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
