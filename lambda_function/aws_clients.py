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
