"""boto3 clients configured once: endpoints and region come only from boto3's standard settings
(AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_KINESIS, AWS_DEFAULT_REGION, ...), so the same code talks to AWS,
LocalStack or moto without a custom variable."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode retries throttling and transient errors on whole calls with backoff and jitter.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=16,
)


def client(service: str, session: boto3.session.Session | None = None) -> Any:
    return (session or boto3.session.Session()).client(service, config=CLIENT_CONFIG)  # type: ignore[call-overload]


class LazyClient:
    """A client made on first use. The dead-letter queue's client is needed only in a batch with a bad
    record, and creating it costs ~50 ms of every cold start otherwise."""

    def __init__(self, service: str, session: boto3.session.Session | None = None) -> None:
        self._service = service
        self._session = session
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = client(self._service, self._session)
        return getattr(self._client, name)
