"""Every operator tool, fed hostile input or pointed at nothing, answers with one `error:` line and exit
status 2, never a traceback; argument errors are refused before any work (with nothing listening at the
endpoint, a tool that had called AWS first would say so instead).

Each command runs as a user runs it, through its `main()`, on moto's server where it needs AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from infra import provision, sam_env
from tests.shared.paths import ROOT
from tests.shared.reliability import put_payloads
from tools import consumer, producer, reconcile, runner
from tools.local.loopback import free_port

DIGEST = "a" * 64
DEEP = b"[" * 100_000 + b"]" * 100_000


@dataclass(frozen=True)
class Case:
    main: Callable[[list[str]], int]
    argv: Callable[[Any], list[str]]  # from the stack (None where the case needs no AWS)
    error: str  # how the one line starts, after "error: "
    aws: str = "nothing"  # "moto": a stack on moto; "nothing": nothing listening; "no credentials"; "no region"
    setup: Callable[[Any, Any], None] = lambda stack, aws_env: None


def prefix(stack) -> str:
    return stack.rides_stream.removesuffix("-rides")


def send_dead_letter(body: str):
    return lambda stack, aws_env: aws_env.client("sqs").send_message(
        QueueUrl=stack.dead_letter_queue_url, MessageBody=body
    )


def put_prediction(data: bytes):
    return lambda stack, aws_env: put_payloads(aws_env.client("kinesis"), stack.predictions_stream, [("k", data)])


CONSUME = lambda stack: ["--prefix", prefix(stack), "--from-start", "--until-idle"]  # noqa: E731
SINCE = ["--since", "5m"]

CASES = {
    "consumer, a dead letter that is not JSON": Case(
        consumer.main, CONSUME, "1 of 1 records printed were not JSON documents (the first: dead letter ",
        "moto", send_dead_letter("not json {"),
    ),
    "consumer, a prediction nested 100,000 deep": Case(
        consumer.main, CONSUME, "1 of 1 records printed were not JSON documents (the first: prediction shardId-",
        "moto", put_prediction(DEEP),
    ),
    "consumer, an unknown stream": Case(
        consumer.main, lambda stack: ["--stream", "no-such-stream", "--until-idle"],
        "Kinesis stream 'no-such-stream' does not exist at http://127.0.0.1:", "moto",
    ),
    "consumer, nothing listening": Case(
        consumer.main, lambda stack: ["--stream", "p", "--until-idle"], "cannot reach Kinesis stream 'p' at http://",
    ),
    "consumer, no region": Case(
        consumer.main, lambda stack: ["--stream", "p", "--until-idle"],
        "no AWS region is set: export AWS_DEFAULT_REGION", "no region",
    ),
    "reconcile --since 999999999d": Case(
        reconcile.main, lambda stack: ["--prefix", "p", "--since", "999999999d"],
        "argument --since: '999999999d' reaches back before the year 1",
    ),
    "reconcile --json in a folder that does not exist": Case(
        reconcile.main, lambda stack: ["--prefix", "p", *SINCE, "--json", "/nonexistent/r.json"],
        "argument --json: cannot write '/nonexistent/r.json': the folder /nonexistent does not exist",
    ),
    "reconcile, an unknown stream": Case(
        reconcile.main,
        lambda stack: ["--input-stream", "no-such-stream", "--output-stream", stack.predictions_stream,
                       "--dead-letter-queue-url", stack.dead_letter_queue_url, *SINCE],
        "Kinesis stream 'no-such-stream' does not exist at http://127.0.0.1:", "moto",
    ),
    "reconcile, no credentials": Case(
        reconcile.main, lambda stack: ["--prefix", "p", *SINCE],
        "no AWS credentials to reach queue 'p-dead-letters' at https://", "no credentials",
    ),
    "producer, a missing --input": Case(
        producer.main, lambda stack: ["--stream", "s", "--input", "/nonexistent/rides.parquet"],
        "argument --input: /nonexistent/rides.parquet is not a file",
    ),
    "producer, an --input that is not parquet": Case(
        producer.main, lambda stack: ["--stream", "s", "--input", str(ROOT / "README.md")],
        f"argument --input: {ROOT / 'README.md'} is not a parquet file",
    ),
    "producer --rate nan": Case(
        producer.main, lambda stack: ["--stream", "s", "--rate", "nan"],
        "argument --rate: 'nan' is not a positive number of records per second",
    ),
    "producer --limit -5": Case(
        producer.main, lambda stack: ["--stream", "s", "--limit", "-5"], "argument --limit: '-5' is negative",
    ),
    "producer, nothing listening": Case(
        producer.main, lambda stack: ["--stream", "s", "--limit", "3", "--no-progress"],
        "cannot reach Kinesis stream 's' at http://",
    ),
    "runner --starting-position-timestamp 1e20": Case(
        runner.main, lambda stack: ["--stream", "s", "--starting-position-timestamp", "1e20"],
        "argument --starting-position-timestamp: '1e20' seconds is not a time this machine can represent",
    ),
    "runner, no credentials": Case(
        runner.main, lambda stack: ["--stream", "s", "--until-idle"],
        "no AWS credentials to reach Kinesis stream 's' at https://", "no credentials",
    ),
    "provision, nothing listening": Case(
        provision.main, lambda stack: ["--prefix", "p"], "cannot reach the resources of 'p' at http://127.0.0.1:",
    ),
    "provision, no credentials": Case(
        provision.main, lambda stack: ["--prefix", "p"], "no AWS credentials to reach the resources of 'p' at AWS's",
        "no credentials",
    ),
    "make sam-env, nothing listening": Case(
        sam_env.main, lambda stack: ["--run-id", "r1", "--sha256", DIGEST], "cannot reach STS (GetCallerIdentity",
    ),
    "make sam-env, no credentials": Case(
        sam_env.main, lambda stack: ["--run-id", "r1", "--sha256", DIGEST],
        "no AWS credentials to reach STS (GetCallerIdentity", "no credentials",
    ),
}  # fmt: skip


def without_credentials(monkeypatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_hostile_input_is_one_error_line_and_exit_2(case: Case, request, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(ROOT)  # the producer's default --input is relative, as in the docs
    stack = None
    if case.aws == "moto":
        stack, aws_env = request.getfixturevalue("stack"), request.getfixturevalue("aws_env")
        case.setup(stack, aws_env)
    elif case.aws == "nothing":
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
        for name, value in {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_MAX_ATTEMPTS": "1",
        }.items():
            monkeypatch.setenv(name, value)
    else:
        without_credentials(monkeypatch)
        if case.aws == "no region":
            monkeypatch.delenv("AWS_DEFAULT_REGION")
            monkeypatch.delenv("AWS_REGION", raising=False)
    capsys.readouterr()

    try:
        status = case.main(case.argv(stack))
    except SystemExit as exited:  # argparse exits; a user sees the same status
        status = exited.code

    err = capsys.readouterr().err
    assert status == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert errors[0].startswith(f"error: {case.error}"), errors[0]
    assert errors[0] == err.splitlines()[-1]
