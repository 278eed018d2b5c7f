"""Fixtures for the integration tier: real local AWS endpoints (moto's server, LocalStack) and what is
deployed on them. Every server started here is stopped here.

LocalStack is installed into .cache/localstack (once) and started on 127.0.0.1 for the session, then
stopped (SIGTERM, SIGKILL after a timeout). Where no Python >= 3.13 exists its tests are skipped with
the reason; the moto half still runs. RIDE_SCORER_EXTERNAL_LOCALSTACK=<url> uses a running LocalStack
(the docker-compose one) instead.

The plain helpers these fixtures share with the tests are in tests/shared/ (emulators.py, reliability.py);
the trained-model fixtures (`test_models`, `trained_model_dir`) are in the root conftest.py.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from infra.provision import Resources, provision
from lambda_function import app
from tests.shared.emulators import Emulator, Endpoint, point_at
from tests.shared.reliability import provision_scorer
from tools.local.localstack import DEFAULT_CACHE, Layout, LocalStackServer, LocalStackUnavailable, install
from tools.local.loopback import free_port
from training.publish import PublishResult, publish_model

LOCALSTACK_START_TIMEOUT = 180.0

# moto's server logs every request; keep test output about the tests.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


# moto's server and the environment that points boto3 at it.


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[Endpoint]:
    """moto's real HTTP server on 127.0.0.1 (a random free port), for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield Endpoint(f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def aws_env(moto_endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> Endpoint:
    """Point boto3's standard settings at the emulator, as a user would with AWS_ENDPOINT_URL."""
    point_at(monkeypatch, moto_endpoint)
    return moto_endpoint


@pytest.fixture
def unique_prefix() -> str:
    """moto's state lives as long as the server; a fresh prefix keeps tests apart."""
    return f"rs-{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Deployment:
    resources: Resources
    model: PublishResult


@pytest.fixture
def deploy_scorer(aws_env: Endpoint, unique_prefix: str, trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """A scorer as deployed: the resources of infra/templates/resources.yaml on moto, the test model published by
    training's own publish step, and the handler's environment pointing at them (a fresh container).
    The digest is pinned as the template requires; `pin_digest=False` leaves MODEL_SHA256 unset."""

    def deploy(shard_count: int = 1, pin_digest: bool = True) -> Deployment:
        resources = provision(prefix=unique_prefix, shard_count=shard_count)
        published = publish_model(trained_model_dir, resources.model_bucket, s3_client=aws_env.client("s3"))
        monkeypatch.setenv("MODEL_LOCATION", published.model_location)
        if pin_digest:
            monkeypatch.setenv("MODEL_SHA256", published.sha256)
        else:
            monkeypatch.delenv("MODEL_SHA256", raising=False)
        monkeypatch.setenv("PREDICTIONS_STREAM_NAME", resources.predictions_stream)
        monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", resources.dead_letter_queue_url)
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "RideScorerTest")
        app.reset()
        return Deployment(resources, published)

    yield deploy
    app.reset()


# One `emulator` parametrized over moto's server and LocalStack.


@pytest.fixture(scope="session")
def localstack_emulator() -> Iterator[Emulator]:
    external = os.environ.get("RIDE_SCORER_EXTERNAL_LOCALSTACK")
    if external:  # `make compose-test`: a LocalStack container someone else started and stops
        yield Emulator(external, name="localstack")
        return
    layout = Layout(Path(os.environ.get("RIDE_SCORER_LOCALSTACK_CACHE", str(DEFAULT_CACHE))))
    try:
        install(layout)
    except LocalStackUnavailable as error:
        pytest.skip(f"LocalStack tests skipped: {error}")
    server = LocalStackServer(layout, free_port())
    server.start(timeout=LOCALSTACK_START_TIMEOUT)
    try:
        yield Emulator(server.url, name="localstack")
    finally:
        server.stop()


@pytest.fixture(scope="session", params=["moto", "localstack"])
def emulator(request: pytest.FixtureRequest) -> Emulator:
    if request.param == "moto":
        endpoint = request.getfixturevalue("moto_endpoint")
        return Emulator(endpoint.url, endpoint.region, name="moto")
    return request.getfixturevalue("localstack_emulator")  # type: ignore[no-any-return]


# The scorer provisioned for the reliability tests (tests/shared/reliability.py drives it).


@pytest.fixture
def stack(
    aws_env: Endpoint, unique_prefix: str, trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Resources]:
    """The scorer's streams and queues on the session's moto server, and the handler configured for them."""
    yield provision_scorer(unique_prefix, trained_model_dir, monkeypatch)
    app.reset()
