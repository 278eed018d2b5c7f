"""X-Ray: with tracing on, an invocation's trace holds the S3, Kinesis and SQS calls; with it off, the X-Ray
SDK is not even imported (its import is a quarter of a second of cold start).

The handler runs in a fresh Python process, as in a new Lambda container, against moto's server. X-Ray's
real SDK sends its segments over UDP to the daemon address Lambda gives it; here that address is a socket the
test listens on, so the test reads exactly what the daemon would forward.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from tests.shared.paths import ROOT

HANDLER_RUN = textwrap.dedent(
    """
    import json, sys
    from lambda_function import app
    from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record, ride_event_bytes
    from tests.shared.lambda_context import lambda_context

    data = [ride_event_bytes("t-1", 130, 205, 3.66), b"not json"]
    specs = [KinesisRecordSpec(payload, f"k{n}", f"4960{n:020d}", 1764000000.0) for n, payload in enumerate(data)]
    event = kinesis_event(kinesis_record(spec) for spec in specs)
    print(json.dumps(app.lambda_handler(event, lambda_context())))
    print(json.dumps({"xray_imported": "aws_xray_sdk.core" in sys.modules}))
    """
)


def run_handler(extra_environment: dict[str, str]) -> tuple[dict, dict]:
    environment = {**os.environ, "POWERTOOLS_METRICS_DISABLED": "true", **extra_environment}
    result = subprocess.run(
        [sys.executable, "-c", HANDLER_RUN], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    answer, imports = (json.loads(line) for line in result.stdout.splitlines()[-2:])
    return answer, imports


@pytest.fixture
def daemon():
    """A UDP socket where the X-Ray SDK sends what it would send Lambda's X-Ray daemon."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(0.5)
        yield listener


def received_segments(listener: socket.socket) -> list[dict]:
    segments = []
    while True:
        try:
            datagram = listener.recv(65536)
        except TimeoutError:
            return segments
        _header, _, body = datagram.decode("utf-8").partition("\n")
        segments.append(json.loads(body))


def test_traced_invocation_has_a_subsegment_per_aws_call(deploy_scorer, daemon):
    deploy_scorer()
    host, port = daemon.getsockname()

    answer, imports = run_handler(
        {
            "POWERTOOLS_TRACE_DISABLED": "false",
            # What Lambda sets for a traced function: where the daemon is, and the invocation's trace header.
            "AWS_XRAY_DAEMON_ADDRESS": f"{host}:{port}",
            "LAMBDA_TASK_ROOT": str(ROOT),
            "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_LAMBDA_FUNCTION_NAME": "ride-scorer",
        }
    )

    assert answer == {"batchItemFailures": []}
    assert imports == {"xray_imported": True}
    segments = received_segments(daemon)
    calls = {(segment.get("name"), segment.get("aws", {}).get("operation")) for segment in segments}
    assert {("s3", "GetObject"), ("kinesis", "PutRecords"), ("sqs", "SendMessageBatch")} <= calls
    assert ("## lambda_handler", None) in calls
    assert {segment["trace_id"] for segment in segments} == {"1-5759e988-bd862e3fe1be46a994272793"}


def test_untraced_function_never_imports_the_xray_sdk(deploy_scorer):
    deploy_scorer()

    answer, imports = run_handler({"POWERTOOLS_TRACE_DISABLED": "true"})

    assert answer == {"batchItemFailures": []}
    assert imports == {"xray_imported": False}
