"""gunicorn settings for the HTTP service, and the service's launcher:

    python -m ride_scorer.http_service.gunicorn_conf 'ride_scorer.http_service.app:create_app()'
    gunicorn -c python:ride_scorer.http_service.gunicorn_conf 'ride_scorer.http_service.app:create_app()'

Both serve the same app with these settings, and a wrong value ends either with one `error:` line naming
the variable and exit status 1. Start the service with the first (the image and `make serve` do). gunicorn
reads WEB_CONCURRENCY itself as soon as it is imported, and crashes with a traceback on a value that is not
a number, before this module runs. The launcher checks every variable first, and then runs gunicorn in the
same process.

Threaded workers (gthread): WEB_CONCURRENCY processes (default 2, one per core) of GUNICORN_THREADS threads
(default 8). Scoring is CPU-bound, so the threads add no scoring throughput within a process (the GIL).
They are there so that a client that sends slowly holds one thread, not a whole worker. With sync workers,
two clients that sent their headers and one byte of body held both workers, and /health waited 30 s. A
connection that sends nothing gives its thread back after 5 s (gunicorn's own wait), and then waits in the
worker's event loop until keepalive passes, as idle keep-alive connections do.

GUNICORN_CLIENT_TIMEOUT (default 10 s) bounds every wait of a thread on a client: each read of the
request line, the headers and the body, and each write of the answer. It is the listening socket's
SO_RCVTIMEO and SO_SNDTIMEO, which every accepted connection inherits. A client that stops sending for that
long loses its connection. If it stopped in the body, it gets a 408 `request_timeout` first. A client that
trickles a byte at a time just under the timeout still holds a thread. A worker also accepts and queues
connections while all its threads are busy. So a deployment open to the internet needs a buffering proxy in
front (docs/batch_and_http.md).

GUNICORN_TIMEOUT (default 30 s) restarts a worker whose event loop stopped answering the master. BIND is
the address (default 127.0.0.1:8080). The image sets 0.0.0.0:8080, which is reachable from the network and
has no authentication. `preload_app` loads the model once in the master, before forking. A missing or
tampered model then stops the service at start with the loader's message, and the workers share the model's
memory. Command-line flags override these settings.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import sys
from collections.abc import Sequence
from typing import Any

from ride_scorer.core.settings import ConfigError
from ride_scorer.http_service.settings import ServerSettings

_CONFIG_MODULE = "ride_scorer.http_service.gunicorn_conf"

try:
    _server = ServerSettings.from_env()
except ConfigError as error:
    # SystemExit, not the ConfigError: gunicorn turns an exception in its config into a blank line and
    # "Error: ...", while a SystemExit ends it with exactly this line, as every mode's entry does.
    sys.exit(f"error: {error}")

bind = [_server.bind]
workers = _server.workers
worker_class = "gthread"
threads = _server.threads
timeout = _server.timeout
# Idle keep-alive connections wait in the worker's event loop, not in a thread; 5 s is gunicorn's advice for
# clients that connect directly.
keepalive = 5
graceful_timeout = 10
preload_app = True
accesslog = "-"
# Headers are bounded by gunicorn's defaults; the body by the app's MAX_REQUEST_BYTES.
limit_request_line = 4094
limit_request_fields = 100

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def when_ready(server: Any) -> None:
    """gunicorn's hook once the listening sockets exist, before any worker: give them the client timeout.

    A gthread worker reads a request in a blocking call with no timeout of its own. Connections accepted
    from a socket inherit its SO_RCVTIMEO and SO_SNDTIMEO, so every such read and write then gives up after
    GUNICORN_CLIENT_TIMEOUT seconds, whichever thread makes it."""
    limit = struct.pack("ll", _server.client_timeout, 0)  # struct timeval: seconds, microseconds
    for listener in server.LISTENERS:
        listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
        listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)


def main(argv: Sequence[str] | None = None) -> None:
    """Run gunicorn with this module as its configuration, after the module's own checks have passed.

    The validated worker count replaces WEB_CONCURRENCY before gunicorn is imported. gunicorn reads it at
    import, and would crash on a value such as a blank one, which the check takes as "the default"."""
    os.environ["WEB_CONCURRENCY"] = str(_server.workers)
    from gunicorn.app.wsgiapp import run

    arguments = list(sys.argv[1:] if argv is None else argv)
    sys.argv = ["gunicorn", "-c", f"python:{_CONFIG_MODULE}", *arguments]
    run()


if __name__ == "__main__":
    main()
