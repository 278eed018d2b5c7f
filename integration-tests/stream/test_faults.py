"""Faults while the local event source runner delivers real rides to the real handler: after each, the
reconciliation finds zero missing, zero unexpected, only identical duplicates, and the runner moved every
shard's checkpoint to its last record. Faults are injected at the botocore level on the handler's own
clients or by stopping an endpoint; none of our code is patched."""

from __future__ import annotations

import base64
import shutil
import time
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from moto.server import ThreadedMotoServer

from lambda_function import app
from ride_scorer.core.integrity import write_digest
from tests.shared.faults import FailCalls, throttle_entries
from tests.shared.paths import DATA
from tests.shared.reliability import (
    ChildProcessHandler,
    checkpointed_per_shard,
    function_errors,
    on_error,
    partial_failures,
    put_payloads,
    records_per_shard,
    run_mapping,
)
from tools.event_factory import ride_event_bytes
from tools.local.loopback import free_port
from tools.local.responses import OutcomeKind
from tools.reconcile import Sources, reconcile_sources

RIDES = 300


@pytest.fixture(scope="module")
def real_rides() -> list[tuple[str, bytes]]:
    """Real TLC rides, plus a few poison records so dead letters are part of every run."""
    frame = pd.read_parquet(DATA / "green_tripdata_2021-02.parquet").head(RIDES)
    payloads = [
        (str(index), ride_event_bytes(f"tlc-{index}", row.PULocationID, row.DOLocationID, float(row.trip_distance)))
        for index, row in enumerate(frame.itertuples())
    ]
    for position in (7, 150, 299):
        payloads[position] = (payloads[position][0], b"{poison " + str(position).encode())
    return payloads


def assert_every_ride_accounted(resources, kinesis, since, stats):
    report = reconcile_sources(
        Sources(
            resources.rides_stream,
            resources.predictions_stream,
            resources.dead_letter_queue_url,
            resources.on_failure_queue_url,
        ),
        since,
    )
    document = report.to_json()
    assert (document["counts"]["inputs"], document["counts"]["dead_lettered"]) == (RIDES, 3)
    assert document["missing"] == [] and document["unexpected"] == []
    assert all(item["identical"] for item in document["duplicated"]), document["duplicated"]
    assert document["counts"]["scored_and_dead_lettered"] == 0
    assert stats.discards == []
    assert checkpointed_per_shard(stats) == records_per_shard(kinesis, resources.rides_stream), (
        "every shard's checkpoint must reach its last record"
    )
    assert stats.checkpointed == RIDES
    return document


def start(payloads, kinesis, resources):
    since = datetime.now(UTC) - timedelta(seconds=1)
    put_payloads(kinesis, resources.rides_stream, payloads)
    return since


def test_throttled_entries_then_failed_calls_on_the_output_stream(stack, aws_env, real_rides):
    """moto only: the throttling and the outage are injected at botocore, not by the emulator."""
    resources = stack
    kinesis, sqs = aws_env.client("kinesis"), aws_env.client("sqs")
    since = start(real_rides, kinesis, resources)
    sink_client = app.get_scorer().sink.client
    throttle = throttle_entries(rate=0.4, calls=12).install(sink_client)
    outage = FailCalls("kinesis.PutRecords", sends=30).install(sink_client)

    stats = run_mapping(resources, kinesis, sqs)

    assert throttle.throttled > 0 and outage.failed == 30
    assert partial_failures(stats) > 0, "the outage must have forced re-deliveries"
    assert_every_ride_accounted(resources, kinesis, since, stats)


def test_dead_letter_queue_unavailable_for_a_while(stack, aws_env, real_rides):
    kinesis, sqs = aws_env.client("kinesis"), aws_env.client("sqs")
    since = start(real_rides, kinesis, stack)
    outage = FailCalls("sqs.SendMessageBatch", sends=25, refuse_connection=True).install(
        app.get_scorer().dead_letters.client
    )

    stats = run_mapping(stack, kinesis, sqs)

    assert outage.failed == 25 and partial_failures(stats) > 0
    document = assert_every_ride_accounted(stack, kinesis, since, stats)
    # Predictions before the unsendable letter were re-written on re-delivery: identical bytes.
    assert document["duplicated"], "re-delivery after the outage should have rewritten some predictions"


def test_handler_process_killed_after_part_of_its_output(stack, aws_env, real_rides):
    kinesis, sqs = aws_env.client("kinesis"), aws_env.client("sqs")
    since = start(real_rides, kinesis, stack)
    # The first child dies right after its predictions are written, before its dead letters are sent.
    handler = ChildProcessHandler(deaths=1)

    stats = run_mapping(stack, kinesis, sqs, handler=handler, batch_size=600)

    errors = function_errors(stats)
    assert len(errors) == 1 and "-9" in errors[0], errors
    killed = [base64.b64decode(record["kinesis"]["data"]) for record in handler.killed_events[0]["Records"]]
    scored_by_the_dead_child = sum(1 for data in killed if not data.startswith(b"{poison"))
    document = assert_every_ride_accounted(stack, kinesis, since, stats)
    assert len(document["duplicated"]) == scored_by_the_dead_child, "the re-delivery rewrote its predictions"
    assert all(item["copies"] == 2 for item in document["duplicated"]), document["duplicated"]


@pytest.fixture
def second_endpoint():
    """Another moto server in this process (it shares the emulator's state), which a test may stop and
    start again on the same port to take an endpoint down."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    holder = {"server": server}

    def restart() -> None:
        holder["server"] = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        holder["server"].start()

    holder["restart"] = restart
    holder["url"] = f"http://127.0.0.1:{port}"
    yield holder
    holder["server"].stop()


def test_endpoint_down_for_seconds_then_back(stack, aws_env, real_rides, second_endpoint, monkeypatch):
    # The runner reads the input stream from the session's server; the handler's clients use the other one.
    kinesis, sqs = aws_env.client("kinesis"), aws_env.client("sqs")
    since = start(real_rides, kinesis, stack)
    monkeypatch.setenv("AWS_ENDPOINT_URL", second_endpoint["url"])
    app.reset()
    app.get_scorer()
    second_endpoint["server"].stop()
    stopped_at = time.monotonic()
    restarted = []

    def bring_back() -> None:
        if not restarted:
            time.sleep(max(0.0, 3 - (time.monotonic() - stopped_at)))
            second_endpoint["restart"]()
            restarted.append(True)

    def handler(event, context):
        response = on_error(lambda _: bring_back())(event, context)
        if response["batchItemFailures"]:
            bring_back()
        return response

    stats = run_mapping(stack, kinesis, sqs, handler=handler)

    outcomes = [invocation.outcome.kind for invocation in stats.invocations]
    assert outcomes[0] is not OutcomeKind.SUCCESS, "the outage must have been seen by the handler"
    assert restarted
    assert_every_ride_accounted(stack, kinesis, since, stats)


@pytest.mark.parametrize("fault", ["missing", "corrupt", "s3_down"])
def test_model_unavailable_at_cold_start(fault, stack, aws_env, real_rides, trained_model_dir, second_endpoint,
                                         monkeypatch, tmp_path):  # fmt: skip
    s3, kinesis, sqs = aws_env.client("s3"), aws_env.client("kinesis"), aws_env.client("sqs")
    published = tmp_path / "published"
    shutil.copytree(trained_model_dir, published)
    write_digest(published)
    prefix = "models/ride-duration"
    monkeypatch.setenv("MODEL_LOCATION", f"s3://{stack.model_bucket}/{prefix}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", second_endpoint["url"])
    app.reset()

    def upload(corrupt: bool = False) -> None:
        for path in sorted(p for p in published.rglob("*") if p.is_file()):
            body = path.read_bytes()
            if corrupt and path.suffix == ".npz":  # the scoring form's arrays: what the scorer reads
                body = body[: len(body) // 2]
            s3.put_object(Bucket=stack.model_bucket, Key=f"{prefix}/{path.relative_to(published)}", Body=body)

    if fault == "corrupt":
        upload(corrupt=True)
    if fault == "s3_down":
        upload()
        second_endpoint["server"].stop()

    def repair(errors: int) -> None:
        if errors == 2:  # the function failed twice on cold start; the operator fixes the cause
            if fault == "s3_down":
                second_endpoint["restart"]()
            else:
                upload()

    since = start(real_rides, kinesis, stack)
    stats = run_mapping(stack, kinesis, sqs, handler=on_error(repair))

    errors = function_errors(stats)
    assert len(errors) == 2, errors
    expected = {"missing": "no MLmodel object", "corrupt": "digest", "s3_down": "cannot list"}[fault]
    assert expected in errors[0]
    assert_every_ride_accounted(stack, kinesis, since, stats)
