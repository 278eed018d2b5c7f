"""The invocation context and environment a Lambda function sees, for calling a handler in-process."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

DEFAULT_TIMEOUT_SECONDS = 60
DEFAULT_MEMORY_MB = 1024


@dataclass
class LocalLambdaContext:
    """Powertools' `inject_lambda_context` reads these fields; the deadline is informative only."""

    function_name: str
    region: str
    account: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    memory_limit_in_mb: int = DEFAULT_MEMORY_MB
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return function_arn(self.region, self.account, self.function_name)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[{self.function_version}]{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        remaining = self.timeout_seconds - (time.monotonic() - self.started)
        return max(0, int(remaining * 1000))


def function_arn(region: str, account: str, function_name: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{function_name}"


def lambda_environment(function_name: str, region: str, memory_mb: int = DEFAULT_MEMORY_MB) -> dict[str, str]:
    """The reserved variables Lambda sets in every function's environment (those a handler may read)."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }


def child_context_source(function_name: str = "ride-scorer-scorer") -> str:
    """Python source that defines `context` in a child interpreter whose path holds only an image's code.

    This module is a tool, not in any image, so the child loads this one file by path (it imports nothing
    of the project) and `local_context.__file__` names it, for checks of what the child imported.
    """
    return f"""
import importlib.util
spec = importlib.util.spec_from_file_location("local_context", {__file__!r})
local_context = sys.modules["local_context"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(local_context)
context = local_context.LocalLambdaContext(
    function_name={function_name!r}, region="us-east-1", account="123456789012"
)
"""
