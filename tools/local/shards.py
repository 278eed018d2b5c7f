"""Read a Kinesis stream shard by shard with GetRecords, the way a standard-iterator consumer does.

A reader remembers the last sequence number it returned, so an expired iterator is reopened right
after it, and a closed shard (after a reshard) reports `closed` once its last record is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tools.local.mapping import StartingPosition

MAX_GET_RECORDS = 10_000


@dataclass(frozen=True)
class ShardRecord:
    """One record as GetRecords returned it: raw bytes, not yet base64."""

    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes
    approximate_arrival_timestamp: float


@dataclass(frozen=True)
class ShardInfo:
    shard_id: str
    parent_ids: tuple[str, ...]


def list_shards(kinesis: Any, stream_name: str) -> list[ShardInfo]:
    shards: list[ShardInfo] = []
    arguments: dict[str, Any] = {"StreamName": stream_name}
    while True:
        page = kinesis.list_shards(**arguments)
        for shard in page.get("Shards", []):
            parents = tuple(p for p in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")) if p)
            shards.append(ShardInfo(shard["ShardId"], parents))
        token = page.get("NextToken")
        if not token:
            return shards
        arguments = {"NextToken": token}


def stream_arn(kinesis: Any, stream_name: str) -> str:
    return str(kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]["StreamARN"])


class ShardReader:
    def __init__(
        self,
        kinesis: Any,
        stream_name: str,
        shard_id: str,
        position: StartingPosition,
        timestamp: datetime | None = None,
    ) -> None:
        self.kinesis = kinesis
        self.stream_name = stream_name
        self.shard_id = shard_id
        self.position = position
        self.timestamp = timestamp
        self.last_sequence_number: str | None = None
        self.closed = False
        self.caught_up = False
        self._iterator: str | None = None

    def fetch(self, limit: int) -> list[ShardRecord]:
        """One GetRecords call; `caught_up` says whether the shard had nothing newer at that moment."""
        if self.closed:
            return []
        if self._iterator is None:
            self._iterator = self._open()
        try:
            response = self.kinesis.get_records(ShardIterator=self._iterator, Limit=min(limit, MAX_GET_RECORDS))
        except self.kinesis.exceptions.ExpiredIteratorException:
            self._iterator = self._open()
            response = self.kinesis.get_records(ShardIterator=self._iterator, Limit=min(limit, MAX_GET_RECORDS))
        records = [self._record(raw) for raw in response.get("Records", [])]
        if records:
            self.last_sequence_number = records[-1].sequence_number
        self._iterator = response.get("NextShardIterator")
        self.closed = self._iterator is None
        self.caught_up = not records and int(response.get("MillisBehindLatest", 0) or 0) == 0
        return records

    def _open(self) -> str:
        arguments: dict[str, Any] = {"StreamName": self.stream_name, "ShardId": self.shard_id}
        if self.last_sequence_number is not None:
            arguments.update(
                ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=self.last_sequence_number
            )
        else:
            arguments["ShardIteratorType"] = str(self.position)
            if self.position is StartingPosition.AT_TIMESTAMP:
                arguments["Timestamp"] = self.timestamp
        return str(self.kinesis.get_shard_iterator(**arguments)["ShardIterator"])

    def _record(self, raw: dict[str, Any]) -> ShardRecord:
        arrival = raw.get("ApproximateArrivalTimestamp")
        return ShardRecord(
            shard_id=self.shard_id,
            sequence_number=str(raw["SequenceNumber"]),
            partition_key=str(raw["PartitionKey"]),
            data=bytes(raw["Data"]),
            approximate_arrival_timestamp=arrival.timestamp() if isinstance(arrival, datetime) else float(arrival or 0),
        )
