"""Faults injected at the botocore level, on the real clients the handler built: nothing of ours is patched.

- `PutRecordsThrottler` / `throttle_entries`: chosen PutRecords entries come back
  ProvisionedThroughputExceededException at their positions (they are really not sent, as with real
  throttling; a call whose every entry is throttled is answered without being sent).
- `FailCalls`: the next N HTTP sends of an operation fail: a 503, or the endpoint refusing connections.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import EndpointConnectionError

THROTTLED = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded (injected)"}


@dataclass
class PutRecordsThrottler:
    should_fail: Callable[[int, dict[str, Any]], bool]
    calls: int = 0
    throttled: int = 0
    _dropped: list[int] = field(default_factory=list)
    _all_dropped: bool = False

    def install(self, client: Any) -> PutRecordsThrottler:
        client.meta.events.register("provide-client-params.kinesis.PutRecords", self._drop_entries)
        client.meta.events.register("before-call.kinesis.PutRecords", self._skip_when_nothing_left)
        client.meta.events.register("after-call.kinesis.PutRecords", self._report_dropped)
        return self

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
                dict(THROTTLED),
            )
        parsed["Records"] = results
        parsed["FailedRecordCount"] = parsed.get("FailedRecordCount", 0) + len(self._dropped)
        self.throttled += len(self._dropped)


def throttle_entries(rate: float, calls: int = 1_000_000, seed: int = 7) -> PutRecordsThrottler:
    """Throttle each entry with probability `rate` (seeded) during the first `calls` PutRecords calls."""
    rng = random.Random(seed)
    return PutRecordsThrottler(lambda call, record: call < calls and rng.random() < rate)


class _Body:
    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.content


@dataclass
class FailCalls:
    """Fail the next `sends` HTTP attempts of `operation` ('kinesis.PutRecords', 'sqs.SendMessageBatch')."""

    operation: str
    sends: int
    refuse_connection: bool = False
    failed: int = 0

    def install(self, client: Any) -> FailCalls:
        client.meta.events.register(f"before-send.{self.operation}", self._fail)
        return self

    def _fail(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.failed >= self.sends:
            return None
        self.failed += 1
        if self.refuse_connection:
            raise EndpointConnectionError(endpoint_url=request.url)
        body = json.dumps({"__type": "ServiceUnavailable", "message": "injected outage"}).encode()
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.1"
        return AWSResponse(request.url, 503, headers, _Body(body))
