"""The HTTP service's settings: the model, as every mode reads it, the request size limit, and how gunicorn
serves the app. Read once from the environment and validated, so that a wrong value stops the service at
start with one line naming the variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ride_scorer.core.settings import ModelSettings, optional, positive_int

# A 1,000-ride request is about 90 KB; 1 MiB leaves room for ten times that and bounds a worker's memory.
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
DEFAULT_BIND = "127.0.0.1:8080"


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


@dataclass(frozen=True)
class ServerSettings:
    """How gunicorn serves the app (ride_scorer/http_service/gunicorn_conf.py says why each default).

    gunicorn itself reads WEB_CONCURRENCY when it is imported, and crashes on a value that is not a number
    before any of our code runs; the service's launcher reads these first for that reason."""

    bind: str = DEFAULT_BIND
    workers: int = 2
    threads: int = 8
    timeout: int = 30
    client_timeout: int = 10

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        env = os.environ if environ is None else environ
        return cls(
            bind=optional(env, "BIND") or DEFAULT_BIND,
            workers=positive_int(env, "WEB_CONCURRENCY", cls.workers),
            threads=positive_int(env, "GUNICORN_THREADS", cls.threads),
            timeout=positive_int(env, "GUNICORN_TIMEOUT", cls.timeout),
            client_timeout=positive_int(env, "GUNICORN_CLIENT_TIMEOUT", cls.client_timeout),
        )
