"""The Lambda context object for calling the handler in-process in tests."""

from __future__ import annotations

from tools.local.context import DEFAULT_TIMEOUT_SECONDS, LocalLambdaContext


def lambda_context(timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> LocalLambdaContext:
    """The context object Lambda passes, as the local runner builds it: its remaining time counts down from
    `timeout_seconds`."""
    return LocalLambdaContext("ride-scorer", "us-east-1", "123456789012", timeout_seconds=timeout_seconds)
