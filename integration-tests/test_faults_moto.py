"""Faults against the real handler on moto: after each, the reconciliation finds zero missing, zero
unexpected, only identical duplicates, and every shard's checkpoint at its last record."""

from __future__ import annotations

import base64
import shutil
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from moto.server import ThreadedMotoServer
from reliability_faults import FailCalls, ThrottleEntries
from reliability_harness import deliver, handler_in_process_killed_after_first_put, put_payloads

from infra.provision import provision
from lambda_function import app
from lambda_function.event_factory import ride_event_bytes
from lambda_function.integrity import write_digest
from lambda_function.reconcile import Sources, reconcile_sources

DATA = Path(__file__).parent.parent / "data"
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


@pytest.fixture
def stack(aws_env, unique_prefix, trained_model_dir, monkeypatch):
    resources = provision(unique_prefix, shard_count=2)
    monkeypatch.setenv("MODEL_LOCATION", str(trained_model_dir))
    monkeypatch.setenv("PREDICTIONS_STREAM_NAME", resources.predictions_stream)
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", resources.dead_letter_queue_url)
    app.reset()
    yield resources
    app.reset()


def assert_every_ride_accounted(stack, kinesis, since, log, expected_inputs=RIDES):
    report = reconcile_sources(
        Sources(
            stack.rides_stream,
            stack.predictions_stream,
            stack.dead_letter_queue_url,
            stack.on_failure_queue_url,
        ),
        since,
    )
    document = report.to_json()
    assert (document["counts"]["inputs"], document["counts"]["dead_lettered"]) == (expected_inputs, 3)
    assert document["missing"] == [] and document["unexpected"] == []
    assert all(item["identical"] for item in document["duplicated"]), document["duplicated"]
    assert document["counts"]["scored_and_dead_lettered"] == 0
    last = {}
    for shard in kinesis.list_shards(StreamName=stack.rides_stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stack.rides_stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]
        if records:
            last[shard["ShardId"]] = records[-1]["SequenceNumber"]
    assert log.checkpoints == last, "every shard's checkpoint must reach its last record"
    return document


def start(payloads, kinesis, stack):
    since = datetime.now(UTC) - timedelta(seconds=1)
    put_payloads(kinesis, stack.rides_stream, payloads)
    return since


def test_throttled_entries_then_failed_calls_on_the_output_stream(stack, aws_env, real_rides):
    kinesis = aws_env.client("kinesis")
    since = start(real_rides, kinesis, stack)
    sink_client = app.get_scorer().sink.client
    throttle = ThrottleEntries(rate=0.4, calls=12).install(sink_client)
    outage = FailCalls("kinesis.PutRecords", sends=30).install(sink_client)

    log = deliver(kinesis, stack.rides_stream, batch_size=100)

    assert throttle.throttled > 0 and outage.failed == 30
    assert log.partial_failures > 0, "the outage must have forced re-deliveries"
    assert_every_ride_accounted(stack, kinesis, since, log)


def test_dead_letter_queue_unavailable_for_a_while(stack, aws_env, real_rides):
    kinesis = aws_env.client("kinesis")
    since = start(real_rides, kinesis, stack)
    outage = FailCalls("sqs.SendMessageBatch", sends=25, refuse_connection=True).install(
        app.get_scorer().dead_letters.client
    )

    log = deliver(kinesis, stack.rides_stream, batch_size=100)

    assert outage.failed == 25 and log.partial_failures > 0
    document = assert_every_ride_accounted(stack, kinesis, since, log)
    # Predictions before the unsendable letter were re-written on re-delivery: identical bytes.
    assert document["duplicated"], "re-delivery after the outage should have rewritten some predictions"


def test_handler_process_killed_after_part_of_its_output(stack, aws_env, real_rides):
    kinesis = aws_env.client("kinesis")
    since = start(real_rides, kinesis, stack)
    deaths = []

    def handler(event, context):
        if not deaths:
            records = [base64.b64decode(record["kinesis"]["data"]) for record in event["Records"]]
            deaths.append(sum(1 for data in records if not data.startswith(b"{poison")))
            return handler_in_process_killed_after_first_put(event, context)
        return app.lambda_handler(event, context)

    # The child dies right after its predictions are written, before its dead letters are sent.
    log = deliver(kinesis, stack.rides_stream, handler=handler, batch_size=600)

    assert len(log.errors) == 1 and "-9" in log.errors[0]
    document = assert_every_ride_accounted(stack, kinesis, since, log)
    assert len(document["duplicated"]) == deaths[0], "the re-delivery rewrote the dead child's predictions"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
    kinesis = aws_env.client("kinesis")
    since = start(real_rides, kinesis, stack)
    monkeypatch.setenv("AWS_ENDPOINT_URL", second_endpoint["url"])  # the handler's clients use this one
    app.reset()
    app.get_scorer()
    second_endpoint["server"].stop()
    stopped_at = time.monotonic()

    def bring_back(errors: int) -> None:
        if errors == 1:
            time.sleep(max(0.0, 3 - (time.monotonic() - stopped_at)))
            second_endpoint["restart"]()

    def handler(event, context):
        response = app.lambda_handler(event, context)
        if response["batchItemFailures"] and not log_errors:
            log_errors.append("partial")
            bring_back(1)
        return response

    log_errors: list[str] = []
    log = deliver(kinesis, stack.rides_stream, handler=handler, batch_size=100, on_error=bring_back)

    assert log_errors or log.errors, "the outage must have been seen by the handler"
    assert_every_ride_accounted(stack, kinesis, since, log)


@pytest.mark.parametrize("fault", ["missing", "corrupt", "s3_down"])
def test_model_unavailable_at_cold_start(fault, stack, aws_env, real_rides, trained_model_dir, second_endpoint,
                                         monkeypatch, tmp_path):  # fmt: skip
    s3, kinesis = aws_env.client("s3"), aws_env.client("kinesis")
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
            if corrupt and path.suffix in {".pkl", ".skops"}:
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
    log = deliver(kinesis, stack.rides_stream, batch_size=100, on_error=repair)

    assert len(log.errors) == 2
    expected = {"missing": "no MLmodel object", "corrupt": "digest", "s3_down": "cannot list"}[fault]
    assert expected in log.errors[0]
    assert_every_ride_accounted(stack, kinesis, since, log)
