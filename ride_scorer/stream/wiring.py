"""Build a ready stream scorer from settings: the one place where the stream's adapters are chosen.

Tests and the local runner pass their own clients; the Lambda gets clients from the environment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import botocore.session

from ride_scorer.adapters.aws_clients import LazyClient, api_client
from ride_scorer.adapters.kinesis import KinesisPredictionSink
from ride_scorer.adapters.model_store import load_model_from
from ride_scorer.adapters.sqs import SqsDeadLetterQueue
from ride_scorer.stream.scorer import StreamScorer
from ride_scorer.stream.settings import ChallengerSettings, ScorerSettings
from ride_scorer.stream.shadow import Shadow

logger = logging.getLogger(__name__)


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
        shadow=None if settings.challenger is None else load_shadow(settings.challenger, clients.s3),
    )


def load_shadow(settings: ChallengerSettings, s3_client: Any) -> Shadow:
    """The challenger, loaded as the champion is (digest verified); a challenger that cannot be loaded is
    logged and reported on every batch, never raised: it must not stop the champion."""
    try:
        return Shadow(load_model_from(settings, s3_client))
    except Exception as error:  # a broken challenger can raise almost anything; the champion goes on
        location, kind = settings.model_location, type(error).__name__
        logger.warning("the challenger at %s could not be loaded: %s: %s", location, kind, error)
        return Shadow(None, f"{type(error).__name__}: {error}")
