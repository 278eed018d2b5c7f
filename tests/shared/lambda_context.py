"""The Lambda context object for calling the handler in-process in tests."""

from __future__ import annotations

from tools.local.context import LocalLambdaContext


def lambda_context() -> LocalLambdaContext:
    """The context object Lambda passes, as the local runner builds it."""
    return LocalLambdaContext(function_name="ride-scorer", region="us-east-1", account="123456789012")
