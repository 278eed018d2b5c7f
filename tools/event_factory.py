"""Build Kinesis events exactly as Lambda's event source mapping delivers them.

The field set matches `sam local generate-event kinesis get-records`; the local runner, the sample
events and the tests all build events here, so they cannot drift apart.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

DEFAULT_REGION = "us-east-1"
DEFAULT_STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/rides"


@dataclass(frozen=True)
class KinesisRecordSpec:
    """One record as read from a shard: raw bytes, not yet base64."""

    data: bytes
    partition_key: str
    sequence_number: str
    approximate_arrival_timestamp: float
    shard_id: str = "shardId-000000000000"


def kinesis_record(
    spec: KinesisRecordSpec, stream_arn: str = DEFAULT_STREAM_ARN, region: str = DEFAULT_REGION
) -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": spec.partition_key,
            "sequenceNumber": spec.sequence_number,
            "data": base64.b64encode(spec.data).decode("ascii"),
            "approximateArrivalTimestamp": spec.approximate_arrival_timestamp,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{spec.shard_id}:{spec.sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{_account(stream_arn)}:role/ride-scorer-function-role",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


def kinesis_event(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}


def ride_event_bytes(ride_id: int | str, pickup: int | str, dropoff: int | str, trip_distance: float) -> bytes:
    """The JSON upstream services publish for one ride."""
    ride = {"PULocationID": pickup, "DOLocationID": dropoff, "trip_distance": trip_distance}
    return json.dumps({"ride": ride, "ride_id": ride_id}).encode("utf-8")


def _account(stream_arn: str) -> str:
    parts = stream_arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else "123456789012"
