"""`producer --poison N` publishes N bad records of every kind, as its help says, on moto's server."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.shared.emulators import Endpoint, wait_for_stream
from tests.shared.paths import DATA
from tools.producer import main, poison_kinds


def stream_records(kinesis, stream: str) -> list[dict]:
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=10000)["Records"]


def test_poison_publishes_that_many_of_every_kind(
    aws_env: Endpoint, unique_prefix: str, capsys: pytest.CaptureFixture[str]
):
    kinesis = aws_env.client("kinesis")
    stream = f"{unique_prefix}-rides"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    wait_for_stream(kinesis, stream)
    rides = DATA / "green_tripdata_2023-01.parquet"

    code = main(["--stream", stream, "--input", str(rides), "--limit", "20", "--poison", "2", "--no-progress"])

    assert code == 0
    kinds = poison_kinds()
    assert len(kinds) == 6
    published = Counter(record["PartitionKey"] for record in stream_records(kinesis, stream))
    assert {key: count for key, count in published.items() if key.startswith("poison-")} == {
        f"poison-{kind}": 2 for kind in kinds
    }
    assert sum(published.values()) == 20 + 12
    assert "published 32 records (12 poison: 2 of each of 6 kinds)" in capsys.readouterr().err


def test_help_says_how_many_of_which_kinds(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "N bad records of every kind (6 kinds: not_json," in " ".join(capsys.readouterr().out.split())
