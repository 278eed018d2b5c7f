"""The committed sample events are exactly what events/generate.py makes from the real TLC data, and have
the shape Lambda delivers (powertools reads them), so `sam local invoke -e` tests what production sees."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent

from infra.sam_translate import load_sam_template
from tests.shared.paths import EVENTS


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_events_generate", EVENTS / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["small", "poison"])
def test_committed_event_is_what_the_generator_makes(generator: ModuleType, name: str) -> None:
    committed = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    assert committed == getattr(generator, f"{name}_event")(), f"run `make events` and commit events/{name}.json"


def test_large_event_fits_one_lambda_invocation(generator: ModuleType, tmp_path: Path) -> None:
    event: dict[str, Any] = generator.large_event()
    assert len(event["Records"]) == 5000
    assert len(json.dumps(event, indent=2).encode()) < 6 * 1024 * 1024  # synchronous invocation payload limit
    assert len({record["kinesis"]["partitionKey"] for record in event["Records"]}) == 5000


def test_sample_events_parse_as_lambda_kinesis_events() -> None:
    small = KinesisStreamEvent(json.loads((EVENTS / "small.json").read_text(encoding="utf-8")))
    first = next(iter(small.records))
    assert first.event_source_arn == "arn:aws:kinesis:us-east-1:123456789012:stream/ride-scorer-rides"
    assert json.loads(first.kinesis.data_as_bytes()) == {
        "ride": {"PULocationID": 166, "DOLocationID": 143, "trip_distance": 2.58},
        "ride_id": "green-2023-01-000000",
    }


def test_env_json_overrides_only_variables_the_template_declares() -> None:
    """sam local invoke ignores overrides of variables the template does not declare: catch typos."""
    declared = set(load_sam_template()["Resources"]["ScorerFunction"]["Properties"]["Environment"]["Variables"])
    overrides = json.loads((EVENTS / "env.json").read_text(encoding="utf-8"))
    assert set(overrides) == {"ScorerFunction"}
    assert set(overrides["ScorerFunction"]) <= declared
