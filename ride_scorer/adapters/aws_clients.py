"""AWS clients configured once: endpoints and region come only from the SDK's standard settings
(AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_KINESIS, AWS_DEFAULT_REGION, ...), so the same code talks to AWS,
LocalStack or moto without a custom variable."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config

if TYPE_CHECKING:
    import boto3

# Standard retry mode retries throttling and transient errors on whole calls with backoff and jitter.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=16,
)


def client(service: str, session: boto3.session.Session | None = None) -> Any:
    """A boto3 client, for tools that use boto3's extras (S3 upload_file/download_file)."""
    import boto3

    return (session or boto3.session.Session()).client(service, config=CLIENT_CONFIG)  # type: ignore[call-overload]


def api_client(service: str, session: botocore.session.Session) -> Any:
    """A plain API client for the Lambda, made by botocore, which boto3 clients are too.

    The scorer only makes API calls; importing boto3 would also import s3transfer for the transfer
    methods it adds to S3 clients, about 55 ms of every cold start for code the scorer never runs.
    """
    return session.create_client(service, config=CLIENT_CONFIG)


class LazyClient:
    """A client made on first use. The dead-letter queue's client is needed only in a batch with a bad
    record, and creating it costs ~25-50 ms of every cold start otherwise."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._make()
        return getattr(self._client, name)
