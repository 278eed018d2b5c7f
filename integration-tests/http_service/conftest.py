"""One HTTP service for the session: the launcher the image and `make serve` run (`python -m
ride_scorer.http_service.gunicorn_conf`: gthread workers, the default worker count) on a free loopback port,
with the trained test model pinned and the settings of tests/shared/web_service.py. The service tests, the
launcher's and the slow clients' tests, and the Lambda adapter's parity all talk to it; a test that needs
other gunicorn settings starts its own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ride_scorer.core.integrity import directory_digest
from tests.shared.web_service import SETTINGS
from tools.local.gunicorn_service import gunicorn_service


@dataclass(frozen=True)
class WebService:
    url: str
    log: Path  # gunicorn's own log: which workers booted
    environment: dict[str, str]  # the service's settings, which the web Lambda takes too


@pytest.fixture(scope="session")
def web_service(trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebService]:
    environment = {
        "MODEL_LOCATION": str(trained_model_dir),
        "MODEL_SHA256": directory_digest(trained_model_dir),
        **SETTINGS,
    }
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with gunicorn_service(environment, log) as url:
        yield WebService(url, log, environment)


@pytest.fixture
def service(web_service: WebService) -> str:
    """The service's base URL."""
    return web_service.url
