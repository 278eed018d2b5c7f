"""Fixtures shared by unit and integration tests: real local AWS endpoints and real trained models.

Every server started here is stopped here. Models are trained from the bundled real TLC data, never
loaded from a committed pickle.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pandas as pd
import pytest
from moto.server import ThreadedMotoServer

from infra.provision import Resources, provision
from lambda_function import app
from ride_scorer.core.features import features_from_columns
from training.pipeline import build_pipeline
from training.publish import PublishResult, publish_model

ROOT = Path(__file__).parent
DATA = ROOT / "data"
TRAIN_SLICE_ROWS = 10_000

# moto's server logs every request; keep test output about the tests.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Endpoint:
    url: str
    region: str = "us-east-1"

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.region
        )

    def client(self, service: str):
        return self.session().client(service, endpoint_url=self.url)


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
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", moto_endpoint.region)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return moto_endpoint


@pytest.fixture
def unique_prefix() -> str:
    """moto's state lives as long as the server; a fresh prefix keeps tests apart."""
    return f"rs-{uuid.uuid4().hex[:10]}"


def read_training_slice(path: Path, rows: int) -> tuple[list, list[float]]:
    frame = pd.read_parquet(path).head(rows)
    features = features_from_columns(frame["PULocationID"], frame["DOLocationID"], frame["trip_distance"])
    return features, frame["duration"].astype(float).tolist()


def save_mlflow_model(pipeline, directory: Path, run_id: str) -> Path:
    import mlflow.sklearn
    from mlflow.models import Model

    mlflow.sklearn.save_model(pipeline, str(directory), mlflow_model=Model(run_id=run_id))
    return directory


class ModelFactory:
    """Models trained on a real TLC slice and saved as standard MLflow sklearn models, once per session and
    kind: every test that needs a model asks here, so none trains its own."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._trained: dict[str, Path] = {}

    def __call__(self, kind: str = "linear") -> Path:
        if kind not in self._trained:
            features, target = read_training_slice(DATA / "green_tripdata_2021-01.parquet", TRAIN_SLICE_ROWS)
            pipeline = build_pipeline(kind).fit(features, target)  # type: ignore[arg-type]
            self._trained[kind] = save_mlflow_model(pipeline, self._root / kind / "model", uuid.uuid4().hex)
        return self._trained[kind]


@pytest.fixture(scope="session")
def test_models(tmp_path_factory: pytest.TempPathFactory) -> ModelFactory:
    """`test_models("linear")` or `test_models("forest")`: a model directory, trained on first use."""
    return ModelFactory(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def trained_model_dir(test_models: ModelFactory) -> Path:
    """The linear test model most tests use."""
    return test_models("linear")


@dataclass(frozen=True)
class Deployment:
    resources: Resources
    model: PublishResult


@pytest.fixture
def deploy_scorer(aws_env: Endpoint, unique_prefix: str, trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """A scorer as deployed: the resources of infra/resources.yaml on moto, the test model published by
    training's own publish step, and the handler's environment pointing at them (a fresh container)."""

    def deploy(shard_count: int = 1, pin_digest: bool = False) -> Deployment:
        resources = provision(prefix=unique_prefix, shard_count=shard_count)
        published = publish_model(trained_model_dir, resources.model_bucket, s3_client=aws_env.client("s3"))
        monkeypatch.setenv("MODEL_LOCATION", published.model_location)
        if pin_digest:
            monkeypatch.setenv("MODEL_SHA256", published.sha256)
        monkeypatch.setenv("PREDICTIONS_STREAM_NAME", resources.predictions_stream)
        monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", resources.dead_letter_queue_url)
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "RideScorerTest")
        app.reset()
        return Deployment(resources, published)

    yield deploy
    app.reset()
