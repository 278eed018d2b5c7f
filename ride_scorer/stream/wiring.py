"""Build a ready stream scorer from settings: the one place where the stream's adapters are chosen.

Tests and the local runner pass their own clients; the Lambda gets clients from the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import botocore.session

from ride_scorer.adapters.aws_clients import LazyClient, api_client
from ride_scorer.adapters.kinesis import KinesisPredictionSink
from ride_scorer.adapters.model_store import load_model_from
from ride_scorer.adapters.sqs import SqsDeadLetterQueue
from ride_scorer.stream.scorer import StreamScorer
from ride_scorer.stream.settings import ScorerSettings


@dataclass(frozen=True)
class AwsClients:
    s3: Any
    kinesis: Any
    sqs: Any

    @classmethod
    def from_environment(cls) -> AwsClients:
        # One session: its loader caches the endpoint and partition data the three clients share,
        # about 0.1 s of cold start per extra session. The S3 client is made by the model download, which
        # runs while numpy imports; the Kinesis client is made now, so a configuration error
        # (no region, no credentials) fails the invocation instead of every record's write.
        session = botocore.session.get_session()
        return cls(
            s3=LazyClient(lambda: api_client("s3", session)),
            kinesis=api_client("kinesis", session),
            sqs=LazyClient(lambda: api_client("sqs", session)),
        )


def build_scorer(settings: ScorerSettings, clients: AwsClients) -> StreamScorer:
    return StreamScorer(
        model=load_model_from(settings, clients.s3),
        model_name=settings.model_name,
        sink=KinesisPredictionSink(clients.kinesis, settings.predictions_stream_name),
        dead_letters=SqsDeadLetterQueue(clients.sqs, settings.dead_letter_queue_url),
        max_event_bytes=settings.max_event_bytes,
    )
