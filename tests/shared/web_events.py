"""API Gateway HTTP API and Function URL events for the web Lambda, adapted from the committed samples.

events/web/http-api-proxy.json is what `sam local generate-event apigateway http-api-proxy` made and
events/web/function-url.json is AWS's documented Function URL payload (events/web/generate.py writes both).
A test changes only what a request changes: method, path, headers and body, the body either as text or
base64-encoded with `isBase64Encoded`, as API Gateway sends it.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from tests.shared.paths import EVENTS

WEB_EVENTS = EVENTS / "web"
KINDS = ("http-api-proxy", "function-url")


@cache
def sample(kind: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((WEB_EVENTS / f"{kind}.json").read_text(encoding="utf-8"))
    return event


def web_event(
    kind: str,
    body: bytes | None = None,
    *,
    method: str = "POST",
    path: str = "/predict",
    headers: Mapping[str, str] | None = None,
    base64_body: bool = True,
) -> dict[str, Any]:
    """The sample of `kind` as a request of `method` to `path` with these headers (added to the sample's)."""
    event = copy.deepcopy(sample(kind))
    event["rawPath"] = path
    event["rawQueryString"] = ""
    event.pop("queryStringParameters", None)
    event["requestContext"]["http"].update(method=method, path=path)
    event["headers"] = {**event["headers"], **(headers or {})}
    if body is None:
        event.pop("body", None)
        event["isBase64Encoded"] = False
    elif base64_body:
        event["body"] = base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = True
    else:
        event["body"] = body.decode("utf-8")
        event["isBase64Encoded"] = False
    return event


def response_json(response: Mapping[str, Any]) -> Any:
    """The proxy response's body as JSON, decoded as API Gateway does when `isBase64Encoded` is set."""
    body = response["body"]
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode("utf-8")
    return json.loads(raw)
