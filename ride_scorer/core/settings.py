"""Settings every mode reads the same way: which model, and the checks on each environment variable.

A process that starts with a wrong setting should fail at once with an error naming the variable, not
halfway through a batch; so each mode reads its settings once, up front, with these checks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_MODEL_NAME = "ride_duration_prediction_model"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
ALLOW_UNPINNED_MODEL = "ALLOW_UNPINNED_MODEL"
MISSING_PIN = (
    "MODEL_SHA256 is not set: a model is loaded only when its digest is pinned. "
    "Set MODEL_SHA256 to the digest `python -m training publish` printed; for local work only, "
    f"{ALLOW_UNPINNED_MODEL}=true loads a model without one"
)
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


@dataclass(frozen=True)
class ModelSettings:
    """Which model to serve: what the Lambda, the batch job and the HTTP service all need."""

    model_location: str
    model_name: str = DEFAULT_MODEL_NAME
    model_sha256: str | None = None
    # The explicit local-work opt-out (ALLOW_UNPINNED_MODEL=true): load a model nobody pinned.
    allow_unpinned_model: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ModelSettings:
        """Refuses a missing MODEL_SHA256 unless ALLOW_UNPINNED_MODEL=true: a scorer deployed without a pin
        must fail at once, not score with whatever the bucket holds."""
        env = os.environ if environ is None else environ
        location = model_location(env)
        pin = sha256(env, "MODEL_SHA256")
        allow_unpinned = flag(env, ALLOW_UNPINNED_MODEL)
        if pin is None and not allow_unpinned:
            raise ConfigError(MISSING_PIN)
        return cls(
            model_location=location,
            model_name=optional(env, "MODEL_NAME") or DEFAULT_MODEL_NAME,
            model_sha256=pin,
            allow_unpinned_model=allow_unpinned,
        )


def optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def required(env: Mapping[str, str], name: str) -> str:
    value = optional(env, name)
    if value is None:
        raise ConfigError(f"{name} is not set; it is required")
    return value


def model_location(env: Mapping[str, str], name: str = "MODEL_LOCATION") -> str:
    value = required(env, name)
    if value.startswith("s3://"):
        bucket, _, prefix = value[len("s3://") :].partition("/")
        if not bucket or not prefix.strip("/"):
            raise ConfigError(f"{name}={value!r} must be s3://bucket/prefix of an MLflow model directory")
    elif "://" in value:
        raise ConfigError(f"{name}={value!r} must be an s3:// URI or a local path")
    return value


def sha256(env: Mapping[str, str], name: str) -> str | None:
    value = optional(env, name)
    if value is not None and not _SHA256.match(value.lower()):
        raise ConfigError(f"{name}={value!r} must be 64 hexadecimal characters (a SHA-256 digest)")
    return value.lower() if value else None


def flag(env: Mapping[str, str], name: str) -> bool:
    """An on/off switch, off when unset; a value that is neither is refused rather than guessed at."""
    value = optional(env, name)
    if value is None or value.lower() in _FALSE:
        return False
    if value.lower() in _TRUE:
        return True
    raise ConfigError(f"{name}={value!r} must be true or false")


def positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = optional(env, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} must be a positive integer") from None
    if number <= 0:
        raise ConfigError(f"{name}={value!r} must be a positive integer")
    return number
