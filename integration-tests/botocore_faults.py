"""Make a real Kinesis endpoint answer PutRecords with partial throttling, at the botocore level.

Emulators never throttle entries, so the selected entries are removed from the request before it is
sent (they are really not written) and come back as ProvisionedThroughputExceededException in the
parsed response at their original positions: exactly what a throttled PutRecords looks like to a client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse


@dataclass
class PutRecordsThrottler:
    should_fail: Callable[[int, dict[str, Any]], bool]
    calls: int = 0
    throttled: int = 0
    _dropped: list[int] = field(default_factory=list)
    _all_dropped: bool = False

    def install(self, client: Any) -> None:
        client.meta.events.register("provide-client-params.kinesis.PutRecords", self._drop_entries)
        client.meta.events.register("before-call.kinesis.PutRecords", self._skip_when_nothing_left)
        client.meta.events.register("after-call.kinesis.PutRecords", self._report_dropped)

    def _drop_entries(self, params: dict[str, Any], **_: Any) -> None:
        call, self.calls = self.calls, self.calls + 1
        records = params["Records"]
        self._dropped = [i for i, record in enumerate(records) if self.should_fail(call, record)]
        # An empty PutRecords is invalid; when every entry fails the call is answered without sending it.
        self._all_dropped = len(self._dropped) == len(records)
        if not self._all_dropped:
            params["Records"] = [record for i, record in enumerate(records) if i not in set(self._dropped)]

    def _skip_when_nothing_left(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not self._all_dropped:
            return None
        return AWSResponse("http://127.0.0.1/", 200, {}, None), {"FailedRecordCount": 0, "Records": []}

    def _report_dropped(self, parsed: dict[str, Any], **_: Any) -> None:
        results = list(parsed.get("Records", []))
        for position in self._dropped:
            results.insert(
                position,
                {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded for shard"},
            )
        parsed["Records"] = results
        parsed["FailedRecordCount"] = parsed.get("FailedRecordCount", 0) + len(self._dropped)
        self.throttled += len(self._dropped)
