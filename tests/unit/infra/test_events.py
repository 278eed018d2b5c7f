"""The committed sample events are exactly what events/generate.py makes from the real TLC data, and have
the shape Lambda delivers (powertools reads them), so `sam local invoke -e` tests what production sees."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent

from infra.sam_env import function_variables
from infra.sam_translate import load_sam_template
from tests.shared.paths import EVENTS, ROOT


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


def test_generated_env_vars_override_only_variables_the_template_declares() -> None:
    """sam local invoke ignores overrides of variables the template does not declare: catch typos. The file
    is made by `make sam-env` (infra/sam_env.py) for a published model, so it is checked as made."""
    function = load_sam_template()["Resources"]["ScorerFunction"]
    declared = set(function["Properties"]["Environment"]["Variables"])
    variables = function_variables(
        prefix="ride-scorer", run_id="abc123", sha256="0" * 64, account="000000000000", region="us-east-1"
    )
    assert set(variables) <= declared
    assert variables["MODEL_NAME"] == load_sam_template()["Parameters"]["ModelName"]["Default"]
    assert variables["MODEL_LOCATION"] == "s3://ride-scorer-models-000000000000-us-east-1/models/ride-duration/abc123"
    assert variables["DEAD_LETTER_QUEUE_URL"] == (
        "https://sqs.us-east-1.amazonaws.com/000000000000/ride-scorer-dead-letters"
    )


def test_container_env_vars_reach_the_localstack_that_sam_env_names() -> None:
    """--container-env-vars takes one flat object (not per function, unlike --env-vars), and the endpoint
    in it is the one `make sam-env` writes the queue URL for."""
    container = json.loads((EVENTS / "local-endpoint.json").read_text(encoding="utf-8"))
    assert all(isinstance(value, str) for value in container.values())
    make = subprocess.run(
        ["make", "--no-print-directory", "-n", "sam-env", "MODEL_RUN_ID=abc", f"MODEL_SHA256={'0' * 64}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert f'--endpoint "{container["AWS_ENDPOINT_URL"]}"' in make.stdout
