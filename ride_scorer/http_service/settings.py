"""The HTTP service's settings: the model, as every mode reads it, and the request size limit."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ride_scorer.core.settings import ModelSettings, positive_int

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
