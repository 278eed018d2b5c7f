"""gunicorn settings for the HTTP service: `gunicorn -c python:ride_scorer.http_service.gunicorn_conf ...`.

Sync workers, one per core: scoring is CPU-bound sklearn work, so threads would only queue behind the GIL.
`preload_app` loads the model once in the master before forking, so a missing or tampered model stops the
service at start with the loader's message, and workers share the model's memory.

Environment: BIND (default 127.0.0.1:8080; a container sets 0.0.0.0:8080), WEB_CONCURRENCY (workers,
default 2), GUNICORN_TIMEOUT (seconds a request may take, default 30). Command-line flags override these.
"""

from __future__ import annotations

import logging
import os

from ride_scorer.core.settings import ConfigError


def _positive(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip() or str(default)
    if not text.isdigit() or int(text) <= 0:
        raise ConfigError(f"{name}={text!r} must be a positive integer")
    return int(text)


bind = [os.environ.get("BIND", "").strip() or "127.0.0.1:8080"]
workers = _positive("WEB_CONCURRENCY", 2)
worker_class = "sync"
timeout = _positive("GUNICORN_TIMEOUT", 30)
graceful_timeout = 10
preload_app = True
accesslog = "-"
# Headers are bounded by gunicorn's defaults; the body by the app's MAX_REQUEST_BYTES.
limit_request_line = 4094
limit_request_fields = 100

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
