"""Turn "the endpoint is not there" into one clear sentence instead of a botocore traceback.

Everything reaches AWS through boto3's standard AWS_ENDPOINT_URL settings, so the message names the
endpoint the client actually used and the variable that chose it.
"""

from __future__ import annotations

import os
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError


class EndpointUnavailable(RuntimeError):
    """The AWS endpoint (LocalStack, moto or AWS) cannot be reached at all."""


class ResourceMissing(RuntimeError):
    """The endpoint answered, but the stream or queue named does not exist there."""


def endpoint_of(aws_client: Any) -> str:
    return str(aws_client.meta.endpoint_url)


def explain(error: Exception, aws_client: Any, what: str) -> RuntimeError:
    """Map a botocore error raised while reaching `what` to a user-facing error, or return it unchanged."""
    endpoint = endpoint_of(aws_client)
    if isinstance(error, EndpointConnectionError):
        chosen_by = "AWS_ENDPOINT_URL" if os.environ.get("AWS_ENDPOINT_URL") else "the default AWS endpoint"
        return EndpointUnavailable(
            f"cannot reach {what} at {endpoint} ({chosen_by}): nothing is listening there. Start the emulator "
            "(`make localstack-up`, or moto's server) or fix AWS_ENDPOINT_URL."
        )
    if isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in {
        "ResourceNotFoundException",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    }:
        return ResourceMissing(f"{what} does not exist at {endpoint}: create it first (python -m infra.provision)")
    return error if isinstance(error, RuntimeError) else RuntimeError(f"{what} at {endpoint}: {error}")
