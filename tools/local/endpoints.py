"""Turn "the endpoint, the credentials or the resource is not there" into one clear sentence instead of a
botocore traceback.

Everything reaches AWS through boto3's standard AWS_ENDPOINT_URL settings, so the message names the
endpoint the client actually used and the variable that chose it.
"""

from __future__ import annotations

import os
from typing import Any

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from ride_scorer.adapters.aws_clients import client


class AwsUnavailable(RuntimeError):
    """A call to AWS (or the emulator) failed; the message is one line a user can act on."""


class EndpointUnavailable(AwsUnavailable):
    """The AWS endpoint (LocalStack, moto or AWS) cannot be reached at all."""


class CredentialsMissing(AwsUnavailable):
    """boto3 found no credentials to sign the call with."""


class RegionMissing(AwsUnavailable):
    """No region is set, so boto3 cannot even make a client."""


class ResourceMissing(AwsUnavailable):
    """The endpoint answered, but the stream or queue named does not exist there."""


MISSING_CODES = {
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NoSuchBucket",
}


def tool_client(service: str) -> Any:
    """`client(service)`, or a RegionMissing that says which variable to set."""
    try:
        return client(service)
    except NoRegionError as error:
        raise explain(error, None, service) from None


def endpoint_of(aws_client: Any) -> str:
    """The client's endpoint, or without one the endpoint boto3's settings choose."""
    if aws_client is None:
        return os.environ.get("AWS_ENDPOINT_URL") or "AWS's own endpoints"
    return str(aws_client.meta.endpoint_url)


def explain(error: Exception, aws_client: Any, what: str) -> AwsUnavailable:
    """The user-facing error for a botocore error raised while reaching `what`, always one line."""
    endpoint = endpoint_of(aws_client)
    if isinstance(error, AwsUnavailable):
        return error
    if isinstance(error, EndpointConnectionError):
        chosen_by = "AWS_ENDPOINT_URL" if os.environ.get("AWS_ENDPOINT_URL") else "the default AWS endpoint"
        return EndpointUnavailable(
            f"cannot reach {what} at {endpoint} ({chosen_by}): nothing is listening there. Start the emulator "
            "(`make localstack-up`, or moto's server) or fix AWS_ENDPOINT_URL."
        )
    if isinstance(error, NoRegionError):
        return RegionMissing(
            "no AWS region is set: export AWS_DEFAULT_REGION (us-east-1 for the emulators) or set one in your profile"
        )
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return CredentialsMissing(
            f"no AWS credentials to reach {what} at {endpoint}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(or AWS_PROFILE); an emulator takes any, e.g. `test`"
        )
    if isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in MISSING_CODES:
        return ResourceMissing(f"{what} does not exist at {endpoint}: create it first (python -m infra.provision)")
    return AwsUnavailable(" ".join(f"{what} at {endpoint}: {error}".split()))
