"""In-memory stand-ins for the AWS adapters' clients, with the same call shapes as boto3's.

They let the pure logic (ordering, retries, failure positions) be tested fast; the same adapters are
tested against moto's real server in integration-tests/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ride_scorer.adapters.retrying import RetryPolicy

NO_WAIT = RetryPolicy(max_attempts=4, sleep=lambda _: None)


@dataclass
class FakeKinesis:
    """`fail` decides per (call number, record data) whether an entry comes back throttled."""

    fail: Callable[[int, bytes], bool] = lambda call, data: False
    raise_on_call: Callable[[int], Exception | None] = lambda call: None
    written: list[tuple[bytes, str]] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        call = len(self.calls)
        self.calls.append(len(Records))
        error = self.raise_on_call(call)
        if error is not None:
            raise error
        results = []
        for record in Records:
            if self.fail(call, record["Data"]):
                results.append({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"})
            else:
                self.written.append((record["Data"], record["PartitionKey"]))
                results.append({"SequenceNumber": str(len(self.written)), "ShardId": "shardId-000000000000"})
        failed = sum("ErrorCode" in result for result in results)
        return {"FailedRecordCount": failed, "Records": results}


@dataclass
class FakeSqs:
    fail: Callable[[int, str], bool] = lambda call, body: False
    sent: list[str] = field(default_factory=list)
    calls: int = 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        call, self.calls = self.calls, self.calls + 1
        failed = []
        for entry in Entries:
            if self.fail(call, entry["MessageBody"]):
                failed.append({"Id": entry["Id"], "SenderFault": False, "Code": "ServiceUnavailable", "Message": "x"})
            else:
                self.sent.append(entry["MessageBody"])
        return {"Successful": [], "Failed": failed}
