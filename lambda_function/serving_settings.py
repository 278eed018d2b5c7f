"""Settings shared by the batch job and the HTTP service, and the one way both load the model.

They need only the model half of the streaming settings (no streams, no queue): `config.ModelSettings`,
the same variables and checks the Lambda reads, and the Lambda's own model loading.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lambda_function.aws_clients import client
from lambda_function.config import ModelSettings, positive_int
from lambda_function.model import RideDurationModel
from lambda_function.wiring import load_model_from

__all__ = ["ModelSettings", "ServiceSettings", "load_serving_model"]

# A 1,000-ride request is about 90 KB; 1 MiB leaves room for ten times that and bounds a worker's memory.
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024


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
    s3 = client("s3") if settings.model_location.startswith("s3://") else None
    return load_model_from(settings, s3, cache_root)
