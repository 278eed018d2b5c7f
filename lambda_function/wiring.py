"""Build a ready scorer from settings: the one place where adapters are chosen.

Tests and the local runner pass their own clients; the Lambda gets clients from the environment.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import botocore.session

from lambda_function.aws_clients import LazyClient, api_client
from lambda_function.config import ScorerSettings
from lambda_function.dead_letter import SqsDeadLetterQueue
from lambda_function.model import RideDurationModel, import_model_libraries, load_model
from lambda_function.model_store import fetch_model_directory
from lambda_function.scoring import StreamScorer
from lambda_function.sink import KinesisPredictionSink


@dataclass(frozen=True)
class AwsClients:
    s3: Any
    kinesis: Any
    sqs: Any

    @classmethod
    def from_environment(cls) -> AwsClients:
        # One session: its loader caches the endpoint and partition data the three clients share,
        # about 0.1 s of cold start per extra session. The S3 client is made by the model download, which
        # runs while scikit-learn imports; the Kinesis client is made now, so a configuration error
        # (no region, no credentials) fails the invocation instead of every record's write.
        session = botocore.session.get_session()
        return cls(
            s3=LazyClient(lambda: api_client("s3", session)),
            kinesis=api_client("kinesis", session),
            sqs=LazyClient(lambda: api_client("sqs", session)),
        )


class ModelSource(Protocol):
    """Where the model is and its pinned digest: ScorerSettings and ModelSettings both say so."""

    @property
    def model_location(self) -> str: ...

    @property
    def model_sha256(self) -> str | None: ...


def load_model_from(settings: ModelSource, s3_client: Any, cache_root: Path | None = None) -> RideDurationModel:
    """Download the model while scikit-learn imports: the two largest parts of a cold start, overlapped."""
    root = cache_root or Path(tempfile.gettempdir()) / "ride-scorer-model"
    with ThreadPoolExecutor(max_workers=1) as pool:
        directory = pool.submit(fetch_model_directory, settings.model_location, s3_client, root)
        import_model_libraries()
        return load_model(directory.result(), settings.model_sha256)


def build_scorer(settings: ScorerSettings, clients: AwsClients) -> StreamScorer:
    return StreamScorer(
        model=load_model_from(settings, clients.s3),
        model_name=settings.model_name,
        sink=KinesisPredictionSink(clients.kinesis, settings.predictions_stream_name),
        dead_letters=SqsDeadLetterQueue(clients.sqs, settings.dead_letter_queue_url),
        max_event_bytes=settings.max_event_bytes,
    )
