"""The settings of the HTTP service the integration tests share (integration-tests/http_service/conftest.py
starts it once per session), for the tests that assert what those settings produce."""

from __future__ import annotations

MODEL_NAME = "ride-duration-http"
MAX_REQUEST_BYTES = 256 * 1024  # a thousand real rides fit in one request
# Shorter than the default 10 s, so a test of a client that stalls waits 3 s for its answer, not 10.
CLIENT_TIMEOUT = 3
SETTINGS = {
    "MODEL_NAME": MODEL_NAME,
    "MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
    "GUNICORN_CLIENT_TIMEOUT": str(CLIENT_TIMEOUT),
    # Set but blank, as a platform may leave it: the default worker count (two), where gunicorn alone would
    # crash on int('').
    "WEB_CONCURRENCY": "",
}
