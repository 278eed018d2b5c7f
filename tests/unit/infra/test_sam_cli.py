"""The AWS SAM CLI's own checks, where they work without Docker: `sam validate` of each SAM template (its
translation; cfn-lint runs once per template, in test_lint.py, so not `--lint` here) and
`sam local generate-event`, whose Kinesis event our event factory must match.

The SAM CLI lives in its own venv (`make sam-cli`, which `make test` runs first): its pins clash with ours.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from tests.shared.paths import ROOT, SAM
from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record

pytestmark = pytest.mark.skipif(not SAM.exists(), reason="SAM CLI not installed: run `make sam-cli` (make test does)")


def sam(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "SAM_CLI_TELEMETRY": "0",  # it would otherwise try to send usage data
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(
        [str(SAM), *arguments], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.parametrize("template", ["template.yaml", "infra/templates/web.yaml"])
def test_sam_validate_accepts_the_template(template):
    result = sam("validate", "--region", "us-east-1", "--template-file", template)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_sam_validate_rejects_a_broken_template(tmp_path):
    broken = tmp_path / "template.yaml"
    broken.write_text((ROOT / "template.yaml").read_text().replace("PackageType: Image", "PackageType: Imag"))
    result = sam("validate", "--region", "us-east-1", "--template-file", str(broken))
    assert result.returncode != 0


def shape(value: Any) -> Any:
    """Field names and value types, not values: what a consumer of the event relies on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_event_factory_builds_the_event_sam_generates():
    result = sam("local", "generate-event", "kinesis", "get-records")
    assert result.returncode == 0, result.stderr
    generated = json.loads(result.stdout)
    ours = kinesis_event([kinesis_record(KinesisRecordSpec(b"{}", "partitionKey-03", "4954511524349", 1428537600.0))])
    assert shape(ours) == shape(generated)
