"""Slow clients against real gunicorn on loopback: they cannot keep /health from answering.

With sync workers, two clients that each sent their headers and one byte of body held both workers, and
/health answered only after 30.9 s. Each slow client here is a raw socket that sends part of a request and
then nothing more. gunicorn runs with the project's configuration (gthread workers, and a client timeout on
every read and write).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from tests.shared.web_service import CLIENT_TIMEOUT
from tools.local.gunicorn_service import gunicorn_service

SHORT_CLIENT_TIMEOUT = 3
# Headers in full and one byte of the 100-byte body they announce.
HEADERS_AND_ONE_BYTE = (
    b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n["
)
PART_OF_THE_HEADERS = b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty"
RIDE = {"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 256}


def start(trained_model_dir: Path, log: Path, **settings: str) -> Iterator[str]:
    environment = {
        "MODEL_LOCATION": str(trained_model_dir),
        "ALLOW_UNPINNED_MODEL": "true",  # these tests are about connections, not the model's pin
        **settings,
    }
    with gunicorn_service(environment, log) as url:
        yield url


@pytest.fixture(scope="module")
def one_worker_two_threads(trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    yield from start(
        trained_model_dir,
        log,
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
        GUNICORN_CLIENT_TIMEOUT=str(SHORT_CLIENT_TIMEOUT),
    )


def open_slow_clients(stack: ExitStack, url: str, count: int, sent: bytes) -> list[socket.socket]:
    port = int(url.rpartition(":")[2])
    clients = []
    for _ in range(count):
        client = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=30))
        client.sendall(sent)
        clients.append(client)
    time.sleep(0.5)  # every request has reached a worker before /health is asked
    return clients


def health_seconds(url: str, timeout: float) -> float:
    began = time.monotonic()
    response = requests.get(f"{url}/health", timeout=timeout)
    assert response.status_code == 200
    return time.monotonic() - began


def answer_to(client: socket.socket) -> tuple[bytes, float]:
    """What the service sends until it has sent one whole answer or closes the connection, and how long
    that took."""
    began, answer = time.monotonic(), b""
    while chunk := client.recv(4096):
        answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        length = re.search(rb"\r\nContent-Length: (\d+)", head)
        if length and len(body) >= int(length[1]):
            break
    return answer, time.monotonic() - began


def test_clients_that_stop_after_one_byte_of_body_do_not_hold_health(service):
    """Twice as many slow clients as workers, the case that held the sync workers. Fewer than a worker's
    threads, so wherever they land, every worker has a thread free: nothing waits for the client timeout."""
    with ExitStack() as stack:
        clients = open_slow_clients(stack, service, 4, HEADERS_AND_ONE_BYTE)

        assert health_seconds(service, timeout=2) < 2
        assert requests.post(f"{service}/predict", json=RIDE, timeout=5).status_code == 200

        # Each slow client is answered, and let go, when the client timeout passes.
        for client in clients:
            answer, waited = answer_to(client)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408 ")
            assert body == (
                b'{"error":{"code":"request_timeout",'
                b'"message":"the client stopped sending the body before it was complete"}}\n'
            )
            assert waited < CLIENT_TIMEOUT + 2


def test_clients_that_stop_in_their_headers_are_dropped_after_the_client_timeout(one_worker_two_threads):
    """More stalled clients than threads: /health waits at most for the client timeout, and each stalled
    connection is closed (no request line and headers, no answer)."""
    url, limit = one_worker_two_threads, SHORT_CLIENT_TIMEOUT + 2
    with ExitStack() as stack:
        clients = open_slow_clients(stack, url, 3, PART_OF_THE_HEADERS)

        assert health_seconds(url, timeout=limit) < limit

        for client in clients:
            answer, waited = answer_to(client)
            assert (answer, waited < limit) == (b"", True)
    assert health_seconds(url, timeout=2) < 2
