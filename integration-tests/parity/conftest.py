"""Fixtures of the cross-mode parity suite: one model kind at a time, served three ways.

- stream: the Lambda handler in-process against moto's real server, with the model of the kind under test
  published to S3 by training's own publish step (as integration-tests/conftest.py's `deploy_scorer` does
  with the linear `trained_model_dir`), its digest pinned;
- batch and HTTP: the same model directory loaded with `ride_scorer.core.model.load_model`.

Everything is module-scoped and parametrized by `model_kind`, so each kind is deployed once per module and
every parity test of that kind reads the outcomes of one run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.provision import Resources, provision
from lambda_function import app
from ride_scorer.core.model import RideDurationModel, load_model
from ride_scorer.core.settings import DEFAULT_MODEL_NAME, ModelSettings
from ride_scorer.http_service.app import create_app
from ride_scorer.http_service.settings import ServiceSettings
from tests.shared.emulators import point_at
from training.publish import PublishResult, publish_model

MODEL_KINDS = ("linear", "forest")


@dataclass(frozen=True)
class StreamDeployment:
    """The handler's world: where it reads its model and writes its outputs, and clients to read them."""

    kind: str
    resources: Resources
    published: PublishResult
    kinesis: Any
    sqs: Any


@pytest.fixture(scope="module", params=MODEL_KINDS)
def model_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def model_dir(model_kind: str, test_models) -> Path:
    """The MLflow model directory of the kind under test, trained once per session by the root conftest."""
    return Path(test_models(model_kind))


@pytest.fixture(scope="module")
def stream_deployment(model_kind: str, model_dir: Path, moto_endpoint) -> Iterator[StreamDeployment]:
    """The resources of infra/templates/resources.yaml on moto, the model of `model_kind` published there by
    `publish_model`, and the handler's environment pointing at them (a fresh container)."""
    with pytest.MonkeyPatch.context() as patch:
        point_at(patch, moto_endpoint)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "MODEL_NAME", "MAX_EVENT_BYTES"):
            patch.delenv(name, raising=False)
        resources = provision(prefix=f"rs-par-{uuid.uuid4().hex[:8]}", shard_count=1)
        published = publish_model(model_dir, resources.model_bucket, s3_client=moto_endpoint.client("s3"))
        patch.setenv("MODEL_LOCATION", published.model_location)
        patch.setenv("MODEL_SHA256", published.sha256)
        patch.setenv("PREDICTIONS_STREAM_NAME", resources.predictions_stream)
        patch.setenv("DEAD_LETTER_QUEUE_URL", resources.dead_letter_queue_url)
        patch.setenv("POWERTOOLS_METRICS_NAMESPACE", "RideScorerTest")
        app.reset()
        try:
            yield StreamDeployment(
                model_kind, resources, published, moto_endpoint.client("kinesis"), moto_endpoint.client("sqs")
            )
        finally:
            app.reset()


@pytest.fixture(scope="module")
def scoring_model(model_dir: Path) -> RideDurationModel:
    """The model as the batch job and the HTTP service hold it."""
    return load_model(model_dir)


@pytest.fixture(scope="module")
def http_client(model_dir: Path, scoring_model: RideDurationModel):
    """The Flask service in-process, default settings (model name, request size limit) as deployed."""
    settings = ServiceSettings(model=ModelSettings(model_location=str(model_dir), model_name=DEFAULT_MODEL_NAME))
    return create_app(settings, scoring_model).test_client()
