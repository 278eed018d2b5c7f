"""moto's server on 127.0.0.1, with boto3's standard settings pointed at it.

`make run` and the benchmarks need a real AWS endpoint without Docker or an account; this is the light
default. `embedded_moto` runs it in this process, restores the environment and stops the server on exit, so
nothing is left behind; `detached_moto` runs it in a process of its own that outlives this one, for
`make run KEEP=1`.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tools.local.loopback import free_port

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


@dataclass(frozen=True)
class DetachedMoto:
    endpoint: str
    pid: int


def detached_moto(log: Path, region: str = "us-east-1", ready_within: float = 30.0) -> DetachedMoto:
    """moto's server in a process of its own session on 127.0.0.1, left running when this one exits (`make run
    KEEP=1`); boto3's standard settings in this process point at it. Stop it with `kill <pid>`."""
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=output,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the terminal that ran `make run` does not reach it
        )
    deadline = time.monotonic() + ready_within
    while not _listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"moto's server did not start on 127.0.0.1:{port}; its log: {log}")
        time.sleep(0.1)
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=region,
    )
    return DetachedMoto(os.environ["AWS_ENDPOINT_URL"], process.pid)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
