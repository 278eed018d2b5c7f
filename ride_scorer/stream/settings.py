"""The stream scorer's settings, read and validated once per Lambda container from environment variables.

A container that starts with a wrong setting fails its first invocation with an error naming the variable,
not halfway through a batch.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ride_scorer.core.settings import DEFAULT_MODEL_NAME, ConfigError, ModelSettings, positive_int, required

DEFAULT_MAX_EVENT_BYTES = 16 * 1024
_STREAM_NAME = re.compile(r"^[a-zA-Z0-9_.-]{1,128}$")


@dataclass(frozen=True)
class ScorerSettings:
    model_location: str
    predictions_stream_name: str
    dead_letter_queue_url: str
    model_name: str = DEFAULT_MODEL_NAME
    model_sha256: str | None = None
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ScorerSettings:
        env = os.environ if environ is None else environ
        model = ModelSettings.from_env(env)
        return cls(
            model_location=model.model_location,
            predictions_stream_name=stream_name(env, "PREDICTIONS_STREAM_NAME"),
            dead_letter_queue_url=queue_url(env, "DEAD_LETTER_QUEUE_URL"),
            model_name=model.model_name,
            model_sha256=model.model_sha256,
            max_event_bytes=positive_int(env, "MAX_EVENT_BYTES", DEFAULT_MAX_EVENT_BYTES),
        )


def stream_name(env: Mapping[str, str], name: str) -> str:
    value = required(env, name)
    if not _STREAM_NAME.match(value):
        raise ConfigError(f"{name}={value!r} is not a Kinesis stream name (1-128 of a-z A-Z 0-9 _ . -)")
    return value


def queue_url(env: Mapping[str, str], name: str) -> str:
    value = required(env, name)
    if not value.startswith(("https://", "http://")):
        raise ConfigError(f"{name}={value!r} must be an SQS queue URL (https://sqs.<region>.amazonaws.com/...)")
    return value
