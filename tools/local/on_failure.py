"""The on-failure destination record Lambda sends when it discards Kinesis records, sent to SQS.

The record carries no data, only where the discarded records are (shard, first and last sequence
number), so an operator reads them back from the stream before retention drops them.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tools.local.shards import ShardRecord

logger = logging.getLogger(__name__)

RETRY_ATTEMPTS_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


@dataclass(frozen=True)
class Discard:
    """Records dropped by the mapping, and why."""

    records: Sequence[ShardRecord]
    condition: str
    invoke_count: int
    function_error: str | None


def invocation_record(
    discard: Discard, stream_arn: str, function_arn: str, now: datetime | None = None
) -> dict[str, Any]:
    first, last = discard.records[0], discard.records[-1]
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if discard.function_error:
        response["functionError"] = discard.function_error
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": discard.condition,
            "approximateInvokeCount": discard.invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": _iso(now or datetime.now(UTC)),
        "KinesisBatchInfo": {
            "shardId": first.shard_id,
            "startSequenceNumber": first.sequence_number,
            "endSequenceNumber": last.sequence_number,
            "approximateArrivalOfFirstRecord": _iso(datetime.fromtimestamp(first.approximate_arrival_timestamp, UTC)),
            "approximateArrivalOfLastRecord": _iso(datetime.fromtimestamp(last.approximate_arrival_timestamp, UTC)),
            "batchSize": len(discard.records),
            "streamArn": stream_arn,
        },
    }


@dataclass
class SqsOnFailureDestination:
    client: Any
    queue_url: str

    def send(self, record: dict[str, Any]) -> None:
        """botocore retries transient errors; a failure after that raises, so the runner stops loudly
        rather than dropping records without a trace."""
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(record))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
