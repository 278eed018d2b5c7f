"""Test helpers for the core's integration tests: publish a model as training does, a Lambda context."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambda_function.integrity import write_digest


def upload_model(s3: Any, model_dir: Path, bucket: str, prefix: str, work: Path) -> str:
    """Publish a model directory with its digest, as the training CLI does; returns MODEL_LOCATION."""
    staged = shutil.copytree(model_dir, work / "staged-model")
    write_digest(staged)
    for path in sorted(p for p in staged.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(staged).as_posix()}")
    return f"s3://{bucket}/{prefix}"


@dataclass
class LambdaContextStub:
    """The context object Lambda passes; powertools reads these attributes for its log keys."""

    function_name: str = "ride-scorer"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ride-scorer"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/ride-scorer"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000
