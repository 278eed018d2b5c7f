"""Faults injected at the botocore level, on the real clients the handler built: nothing of ours is patched.

- `ThrottleEntries`: a share of PutRecords entries comes back ProvisionedThroughputExceededException (the
  entries are really not sent, as with real throttling).
- `FailCalls`: the next N HTTP sends of an operation fail: a 503, or the endpoint refusing connections.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import EndpointConnectionError

THROTTLED = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded (injected)"}


@dataclass
class ThrottleEntries:
    """Throttle each PutRecords entry with probability `rate` (seeded), for the first `calls` calls."""

    rate: float
    calls: int = 1_000_000
    seed: int = 7
    throttled: int = 0
    _rng: random.Random = field(init=False)
    _seen: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def install(self, client: Any) -> ThrottleEntries:
        client.meta.events.register("before-call.kinesis.PutRecords", self._drop_entries)
        client.meta.events.register("after-call.kinesis.PutRecords", self._report_entries)
        return self

    def _drop_entries(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        self._seen += 1
        if self._seen > self.calls:
            return
        body = json.loads(params["body"])
        records = body["Records"]
        dropped = [position for position in range(len(records)) if self._rng.random() < self.rate]
        if len(dropped) == len(records):
            dropped = dropped[1:]  # PutRecords refuses an empty call; let one entry through
        body["Records"] = [record for position, record in enumerate(records) if position not in set(dropped)]
        params["body"] = json.dumps(body).encode()
        context["throttled_positions"] = dropped
        self.throttled += len(dropped)

    def _report_entries(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        dropped = context.pop("throttled_positions", [])
        entries: Iterator[dict[str, Any]] = iter(parsed.get("Records", []))
        merged = [
            dict(THROTTLED) if position in set(dropped) else next(entries)
            for position in range(len(parsed.get("Records", [])) + len(dropped))
        ]
        parsed["Records"] = merged
        parsed["FailedRecordCount"] = sum(1 for entry in merged if entry.get("ErrorCode"))


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
