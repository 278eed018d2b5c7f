"""The web Lambda's sample events are what events/web/generate.py makes: the HTTP API event exactly as the
SAM CLI generates it, the Function URL event as AWS documents it, both in payload format 2.0."""

from __future__ import annotations

import base64
import importlib.util
import json
from types import ModuleType

import pytest

from tests.shared.paths import EVENTS, SAM

WEB_EVENTS = EVENTS / "web"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("web_events_generate", WEB_EVENTS / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def committed(name: str) -> dict:
    return json.loads((WEB_EVENTS / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.skipif(not SAM.exists(), reason="SAM CLI not installed: run `make sam-cli` (make test does)")
def test_the_http_api_event_is_what_the_sam_cli_generates(generator: ModuleType) -> None:
    assert committed("http-api-proxy") == generator.http_api_event(SAM), "run `make web-events` and commit events/web/"


def test_the_function_url_event_is_what_the_generator_makes(generator: ModuleType) -> None:
    assert committed("function-url") == generator.function_url_event(), "run `make web-events` and commit events/web/"


@pytest.mark.parametrize("name", ["http-api-proxy", "function-url"])
def test_both_are_a_payload_2_post_of_the_sample_ride(generator: ModuleType, name: str) -> None:
    event = committed(name)
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "$default", "/predict")
    assert event["requestContext"]["http"]["method"] == "POST"
    body = event["body"]
    if event["isBase64Encoded"]:
        body = base64.b64decode(body).decode("utf-8")
    assert json.loads(body) == generator.RIDE
