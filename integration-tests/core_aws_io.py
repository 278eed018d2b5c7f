"""Test helpers for the core's integration tests: publish a model as training does, a Lambda context."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from lambda_function.integrity import write_digest
from lambda_function.local.context import LocalLambdaContext


def upload_model(s3: Any, model_dir: Path, bucket: str, prefix: str, work: Path) -> str:
    """Publish a model directory with its digest, as the training CLI does; returns MODEL_LOCATION."""
    staged = shutil.copytree(model_dir, work / "staged-model")
    write_digest(staged)
    for path in sorted(p for p in staged.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(staged).as_posix()}")
    return f"s3://{bucket}/{prefix}"


def lambda_context() -> LocalLambdaContext:
    """The context object Lambda passes, as the local runner builds it."""
    return LocalLambdaContext(function_name="ride-scorer", region="us-east-1", account="123456789012")
