"""Settings shared by the batch job and the HTTP service, and the one way both load the model.

They need only the model half of the streaming settings (no streams, no queue), so they read the same
variables with the same checks as `config.ScorerSettings` and fail up front with the variable's name.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lambda_function.aws_clients import client
from lambda_function.config import DEFAULT_MODEL_NAME, model_location, optional, positive_int, sha256
from lambda_function.model import RideDurationModel, load_model
from lambda_function.model_store import fetch_model_directory

# A 1,000-ride request is about 90 KB; 1 MiB leaves room for ten times that and bounds a worker's memory.
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ModelSettings:
    model_location: str
    model_name: str = DEFAULT_MODEL_NAME
    model_sha256: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ModelSettings:
        env = os.environ if environ is None else environ
        return cls(
            model_location=model_location(env),
            model_name=optional(env, "MODEL_NAME") or DEFAULT_MODEL_NAME,
            model_sha256=sha256(env, "MODEL_SHA256"),
        )


@dataclass(frozen=True)
class ServiceSettings:
    model: ModelSettings
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if environ is None else environ
        return cls(
            model=ModelSettings.from_env(env),
            max_request_bytes=positive_int(env, "MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES),
        )


def load_serving_model(settings: ModelSettings, cache_root: Path | None = None) -> RideDurationModel:
    """Same fetch, digest check and loader as the Lambda; an S3 client is made only for an s3:// model."""
    root = cache_root or Path(tempfile.gettempdir()) / "ride-scorer-model"
    s3 = client("s3") if settings.model_location.startswith("s3://") else None
    return load_model(fetch_model_directory(settings.model_location, s3, root), settings.model_sha256)
