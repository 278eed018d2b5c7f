"""moto's server started in this process on 127.0.0.1, with boto3's standard settings pointed at it.

`make run` and the benchmarks need a real AWS endpoint without Docker or an account; this is the light
default. It restores the environment and stops the server on exit, so nothing is left behind.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")


@contextmanager
def embedded_moto(region: str = "us-east-1") -> Iterator[str]:
    """Yield the endpoint URL while the server runs (moto is a development dependency)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    saved = {name: os.environ.get(name) for name in ENDPOINT_VARIABLES}
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        os.environ.update(
            AWS_ENDPOINT_URL=f"http://{host}:{port}",
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=region,
        )
        yield os.environ["AWS_ENDPOINT_URL"]
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
