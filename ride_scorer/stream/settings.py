"""The stream scorer's settings, read and validated once per Lambda container from environment variables.

A container that starts with a wrong setting fails its first invocation with an error naming the variable,
not halfway through a batch.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ride_scorer.core.settings import (
    DEFAULT_MODEL_NAME,
    ConfigError,
    ModelSettings,
    model_location,
    optional,
    positive_int,
    required,
    sha256,
)

DEFAULT_MAX_EVENT_BYTES = 16 * 1024
_STREAM_NAME = re.compile(r"^[a-zA-Z0-9_.-]{1,128}$")
_HOST = re.compile(r"[a-z0-9.-]+|[0-9a-f:.]+")  # a name or IPv4 address, or an IPv6 one (urlsplit lowercases)
# /<account id>/<queue name>: 1-80 of a-z A-Z 0-9 _ -, where a FIFO queue's name ends in .fifo (within the 80).
# LocalStack's path-style URLs put /queue/<region> first.
_QUEUE_PATH = re.compile(r"(/queue/[a-z0-9-]+)?/[0-9]{12}/(?=[a-zA-Z0-9_.-]{1,80}$)[a-zA-Z0-9_-]+(\.fifo)?")


@dataclass(frozen=True)
class ChallengerSettings:
    """The shadow challenger: scored on every batch beside the champion, never written anywhere (its
    predictions become metrics only). Pinned like the champion: the stream loads no unpinned model."""

    model_location: str
    model_sha256: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ChallengerSettings | None:
        """None when neither variable is set; both or neither, each checked as the champion's is."""
        location, pin = optional(env, "CHALLENGER_MODEL_LOCATION"), sha256(env, "CHALLENGER_MODEL_SHA256")
        if location is None and pin is None:
            return None
        if pin is None:
            raise ConfigError(
                "CHALLENGER_MODEL_SHA256 is not set: the challenger is loaded only with its pinned digest, "
                "as the champion is (or unset CHALLENGER_MODEL_LOCATION)"
            )
        if location is None:
            raise ConfigError(
                "CHALLENGER_MODEL_LOCATION is not set, but CHALLENGER_MODEL_SHA256 is: set both or neither"
            )
        return cls(model_location(env, "CHALLENGER_MODEL_LOCATION"), pin)


@dataclass(frozen=True)
class ScorerSettings:
    model_location: str
    predictions_stream_name: str
    dead_letter_queue_url: str
    model_name: str = DEFAULT_MODEL_NAME
    model_sha256: str | None = None
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    challenger: ChallengerSettings | None = None

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
            challenger=ChallengerSettings.from_env(env),
        )


def stream_name(env: Mapping[str, str], name: str) -> str:
    value = required(env, name)
    if not _STREAM_NAME.match(value):
        raise ConfigError(f"{name}={value!r} is not a Kinesis stream name (1-128 of a-z A-Z 0-9 _ . -)")
    return value


def queue_url(env: Mapping[str, str], name: str) -> str:
    """A queue URL as SQS hands them out: http(s), a host (AWS, or an emulator's host and port) and the path
    /<12-digit account id>/<queue name> (LocalStack:
    /queue/<region>/<account>/<name>). Anything less would be accepted here and fail only when the first
    bad record is dead-lettered, so the record would be retried instead of set aside."""
    value = required(env, name)
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0  # .port raises ValueError when it is not a number
    except ValueError:
        port_ok = False
    if not (
        port_ok
        and parts.scheme in ("https", "http")
        and _HOST.fullmatch(parts.hostname or "")
        and not (parts.username or parts.password or parts.query or parts.fragment)
        and _QUEUE_PATH.fullmatch(parts.path)
    ):
        raise ConfigError(
            f"{name}={value!r} must be an SQS queue URL: "
            "https://sqs.<region>.amazonaws.com/<12-digit account id>/<queue name>"
        )
    return value
