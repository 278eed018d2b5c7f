"""The operator tools as an on-call engineer chains them, each named by --prefix alone: the runner scores the
stream and says how many rides were scored and dead-lettered, the consumer prints every outcome (dead letters
with their reason and the record as text), and reconcile (right after the consumer) finds nothing missing."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta

import pytest

from tests.shared.reliability import put_payloads
from tools import consumer, reconcile, runner
from tools.event_factory import ride_event_bytes

GOOD = [ride_event_bytes(f"c-{i}", 130 + i, 205, 2.0 + i) for i in range(4)]
BAD = [b"not json", b'{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": -1}, "ride_id": 9}']


def prefix_of(stack) -> str:
    return stack.rides_stream.removesuffix("-rides")


def run_consumer(stack) -> tuple[int, list[dict]]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = consumer.main(["--prefix", prefix_of(stack), "--from-start", "--until-idle"])
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_runner_consumer_and_reconcile_account_for_every_ride(stack, aws_env, capsys):
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    put_payloads(aws_env.client("kinesis"), stack.rides_stream, [(f"k{i}", d) for i, d in enumerate(GOOD + BAD)])

    assert runner.main(["--prefix", prefix_of(stack), "--until-idle"]) == 0
    assert capsys.readouterr().err.startswith(
        "read 6 records, checkpointed 6 (4 scored, 2 dead-lettered), discarded 0;"
    )

    code, lines = run_consumer(stack)
    assert code == 0
    assert sorted(line["source"] for line in lines) == ["dead-letter-queue"] * 2 + ["predictions"] * 4
    assert {line["record"]["prediction"]["ride_id"] for line in lines if line["source"] == "predictions"} == {
        f"c-{i}" for i in range(4)
    }
    letters = sorted(
        (line["reason_code"], line["data_text"]) for line in lines if line["source"] == "dead-letter-queue"
    )
    assert letters == [("invalid_json", BAD[0].decode()), ("invalid_schema", BAD[1].decode())]
    assert {line["message"]["reason_code"] for line in lines if line["source"] == "dead-letter-queue"} == {
        "invalid_json",
        "invalid_schema",
    }
    capsys.readouterr()

    # Right after the consumer: printing the dead letters did not hide them from the next reader.
    status = reconcile.main(["--prefix", prefix_of(stack), "--since", since, "--json", "-"])

    report = json.loads(capsys.readouterr().out)
    assert status == 0, report
    assert report["counts"]["missing"] == 0
    assert report["counts"]["dead_lettered"] == 2
    assert report["counts"]["scored"] == 4


def test_runner_prefix_of_no_stack_is_one_line_naming_the_queue(aws_env, capsys):
    status = runner.main(["--prefix", "no-such-stack", "--until-idle"])

    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert err.startswith("error: queue 'no-such-stack-dead-letters' does not exist at http://127.0.0.1:")


def test_runner_needs_a_stream_or_a_prefix(capsys):
    with pytest.raises(SystemExit) as exited:
        runner.main(["--until-idle"])
    assert exited.value.code == 2
    assert "give --prefix, or --stream" in capsys.readouterr().err
