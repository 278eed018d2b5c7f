"""The reconciliation tool against moto: real streams and queues, real handler, exact counts."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

from tests.shared.paths import HOSTILE_CORPUS
from tests.shared.reliability import put_payloads, run_mapping
from tools import reconcile
from tools.event_factory import ride_event_bytes
from tools.readers import read_stream
from tools.reconcile import Sources, reconcile_sources

GOOD = [ride_event_bytes(f"r-{i}", 130 + i, 205, 1.5 + i) for i in range(6)]
# The hostile corpus's own deep array: 16,000 nested lists, deeper than Python's json can recurse.
DEEP_ARRAY = next(
    base64.b64decode(case["kinesis_data"])
    for case in map(json.loads, HOSTILE_CORPUS.open(encoding="utf-8"))
    if case["name"] == "deep_array_16000"
)
BAD = [b"not json at all", b'{"ride": {"PULocationID": "x", "DOLocationID": 1, "trip_distance": 1}, "ride_id": 1}']


def sources(resources) -> Sources:
    return Sources(
        resources.rides_stream,
        resources.predictions_stream,
        resources.dead_letter_queue_url,
        resources.on_failure_queue_url,
    )


def started() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=1)


def counts(report) -> dict[str, int]:
    return report.to_json()["counts"]


def test_every_ride_is_scored_or_dead_lettered(stack, aws_env):
    since = started()
    kinesis = aws_env.client("kinesis")
    payloads = [(f"k{i}", data) for i, data in enumerate(GOOD + BAD)]
    put_payloads(kinesis, stack.rides_stream, payloads)
    run_mapping(stack, kinesis, aws_env.client("sqs"))

    report = reconcile_sources(sources(stack), since)

    assert counts(report) == {
        "inputs": 8,
        "predictions": 6,
        "dead_lettered": 2,
        "discarded": 0,
        "scored": 6,
        "missing": 0,
        "duplicated": 0,
        "duplicated_not_identical": 0,
        "unexpected": 0,
        "scored_and_dead_lettered": 0,
    }
    assert report.ok
    # Reading left the dead letters in the queue for the next reader.
    assert counts(reconcile_sources(sources(stack), since))["dead_lettered"] == 2


def test_undelivered_rides_are_missing_and_foreign_predictions_unexpected(stack, aws_env):
    since = started()
    kinesis = aws_env.client("kinesis")
    numbers = put_payloads(kinesis, stack.rides_stream, [("same-key", data) for data in GOOD[:3]])
    foreign = {"model": "m", "version": "v", "prediction": {"ride_duration": 1.0, "ride_id": "zz"}}
    kinesis.put_record(
        StreamName=stack.predictions_stream,
        PartitionKey="zz",
        Data=json.dumps({**foreign, "source_sequence_number": "987654321"}).encode(),
    )

    document = reconcile_sources(sources(stack), since).to_json()

    shard = document["missing"][0]["shard_id"]
    assert document["missing"] == [{"shard_id": shard, "sequence_number": number} for number in numbers]
    assert [(item["kind"], item["source_sequence_number"], item["ride_id"]) for item in document["unexpected"]] == [
        ("prediction", "987654321", "zz")
    ]
    assert document["ok"] is False


def test_identical_redelivery_is_a_harmless_duplicate_and_a_different_one_is_not(stack, aws_env):
    since = started()
    kinesis = aws_env.client("kinesis")
    put_payloads(kinesis, stack.rides_stream, [("one-key", GOOD[0])])
    run_mapping(stack, kinesis, aws_env.client("sqs"))
    written = read_stream(kinesis, stack.predictions_stream)
    assert len(written) == 1
    kinesis.put_record(StreamName=stack.predictions_stream, PartitionKey="r-0", Data=written[0].data)

    report = reconcile_sources(sources(stack), since)
    assert [(item["copies"], item["identical"]) for item in report.duplicated] == [(2, True)]
    assert report.ok

    changed = json.loads(written[0].data)
    changed["prediction"]["ride_duration"] += 1
    kinesis.put_record(StreamName=stack.predictions_stream, PartitionKey="r-0", Data=json.dumps(changed).encode())
    report = reconcile_sources(sources(stack), since)
    assert [(item["copies"], item["identical"]) for item in report.duplicated] == [(3, False)]
    assert not report.ok


def test_batches_given_up_by_the_event_source_mapping_count_as_discarded(stack, aws_env):
    since = started()
    kinesis, sqs = aws_env.client("kinesis"), aws_env.client("sqs")
    numbers = put_payloads(kinesis, stack.rides_stream, [("k", data) for data in GOOD[:3]])
    shard = reconcile_sources(sources(stack), since).missing[0]["shard_id"]
    failure = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3},
        "version": "1.0",
        "KinesisBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": numbers[0],
            "endSequenceNumber": numbers[1],
            "batchSize": 2,
        },
    }
    sqs.send_message(QueueUrl=stack.on_failure_queue_url, MessageBody=json.dumps(failure))

    report = reconcile_sources(sources(stack), since)

    assert (report.discarded, report.missing) == (2, [{"shard_id": shard, "sequence_number": numbers[2]}])


def test_only_inputs_inside_the_window_count(stack, aws_env):
    kinesis = aws_env.client("kinesis")
    put_payloads(kinesis, stack.rides_stream, [("k", GOOD[0])])
    time.sleep(1.2)
    since = datetime.now(UTC)
    put_payloads(kinesis, stack.rides_stream, [("k", GOOD[1]), ("k", GOOD[2])])

    assert reconcile_sources(sources(stack), since).inputs == 2


def test_command_line_writes_json_and_fails_when_rides_are_missing(stack, aws_env, tmp_path, capsys):
    kinesis, sqs = aws_env.client("kinesis"), aws_env.client("sqs")
    put_payloads(kinesis, stack.rides_stream, [("k", data) for data in [*GOOD[:2], BAD[0]]])
    run_mapping(stack, kinesis, sqs)
    put_payloads(kinesis, stack.rides_stream, [("k", GOOD[2])])
    prefix = stack.rides_stream.removesuffix("-rides")
    output = tmp_path / "report.json"

    status = reconcile.main(["--prefix", prefix, "--since", "5m", "--json", str(output), "--delete-messages"])

    document = json.loads(output.read_text())
    assert status == 1
    assert (document["counts"]["inputs"], document["counts"]["scored"], document["counts"]["dead_lettered"]) == (
        4,
        2,
        1,
    )
    assert len(document["missing"]) == 1
    assert "missing       1" in capsys.readouterr().out
    # --delete-messages removed the dead letter it read.
    assert "Messages" not in sqs.receive_message(QueueUrl=stack.dead_letter_queue_url, WaitTimeSeconds=0)


def test_a_deeply_nested_record_sharing_a_sequence_number_with_another_shard_is_reported(stack, aws_env):
    """moto numbers each shard from 1, so a ride on one shard and the corpus's deep array on the other both
    have sequence number 1; telling them apart reads the inputs' ride ids, and the deep array is not one."""
    since = started()
    kinesis = aws_env.client("kinesis")
    shards = kinesis.list_shards(StreamName=stack.rides_stream)["Shards"]
    placed = [
        kinesis.put_record(
            StreamName=stack.rides_stream,
            PartitionKey="k",
            ExplicitHashKey=shard["HashKeyRange"]["StartingHashKey"],  # one record on each shard
            Data=data,
        )
        for shard, data in zip(shards, (GOOD[0], DEEP_ARRAY), strict=True)
    ]
    assert {entry["SequenceNumber"] for entry in placed} == {"1"}
    assert len({entry["ShardId"] for entry in placed}) == 2
    run_mapping(stack, kinesis, aws_env.client("sqs"))

    report = reconcile_sources(sources(stack), since)

    assert counts(report) == {
        "inputs": 2,
        "predictions": 1,
        "dead_lettered": 1,
        "discarded": 0,
        "scored": 1,
        "missing": 0,
        "duplicated": 0,
        "duplicated_not_identical": 0,
        "unexpected": 0,
        "scored_and_dead_lettered": 0,
    }
    assert report.ok


def test_whatever_else_is_in_the_streams_and_queues_is_reported_not_a_crash(stack, aws_env, tmp_path):
    """Anyone who may write to the prediction stream or the queues can put anything there: deep nesting,
    a `source` or `prediction` that is not an object, sequence numbers that are not numbers."""
    kinesis, sqs = aws_env.client("kinesis"), aws_env.client("sqs")
    ride = kinesis.put_record(StreamName=stack.rides_stream, PartitionKey="k", Data=GOOD[0])
    for data in (DEEP_ARRAY, b'{"source_sequence_number": "999", "prediction": "r-0"}'):
        kinesis.put_record(StreamName=stack.predictions_stream, PartitionKey="k", Data=data)
    for body in (DEEP_ARRAY.decode(), '{"source": [1]}', '{"source": {"shard_id": {}, "sequence_number": [1]}}'):
        sqs.send_message(QueueUrl=stack.dead_letter_queue_url, MessageBody=body)
    # Ranges on the ride's own shard whose ends are not sequence numbers (int() refuses over 4,300 digits).
    for start, end in (("first", "last"), ("9" * 5000, ride["SequenceNumber"]), ("0", "9" * 5000)):
        batch = {"shardId": ride["ShardId"], "startSequenceNumber": start, "endSequenceNumber": end}
        sqs.send_message(QueueUrl=stack.on_failure_queue_url, MessageBody=json.dumps({"KinesisBatchInfo": batch}))
    sqs.send_message(QueueUrl=stack.on_failure_queue_url, MessageBody=DEEP_ARRAY.decode())
    prefix = stack.rides_stream.removesuffix("-rides")
    output = tmp_path / "report.json"

    status = reconcile.main(["--prefix", prefix, "--since", "5m", "--json", str(output)])

    document = json.loads(output.read_text())
    assert status == 1
    assert (document["counts"]["inputs"], document["counts"]["discarded"]) == (1, 0)
    assert document["missing"] == [{"shard_id": ride["ShardId"], "sequence_number": ride["SequenceNumber"]}]
    assert [
        (item["kind"], item.get("source_sequence_number"), item.get("ride_id")) for item in document["unexpected"]
    ] == [("prediction", None, None), ("prediction", "999", None)] + [("dead_letter", None, None)] * 3
