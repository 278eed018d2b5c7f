"""`python -m infra.sam_translate`, the step of `make validate` that turns the SAM template into what SAM
deploys, says one line and nothing else, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.shared.paths import ROOT


def test_translating_the_template_prints_one_line_and_no_warnings(tmp_path):
    output = tmp_path / "translated.json"
    result = subprocess.run(
        [sys.executable, "-m", "infra.sam_translate", "template.yaml", "--output", str(output)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (0, f"translated template.yaml -> {output}\n", "")
    assert "AWS::Lambda::EventSourceMapping" in {
        resource["Type"] for resource in json.loads(output.read_text())["Resources"].values()
    }
