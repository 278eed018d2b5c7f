"""`make deploy` requires the model pin and passes it to the stack, before it needs the SAM CLI or AWS.

The infra stack's outputs are given on the command line, so no AWS call is made; `-n` prints the `sam deploy`
command instead of running it.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from infra.sam_translate import load_sam_template
from tests.shared.make import run_make

PIN = "0123456789abcdef" * 4
OFFLINE = ["INFRA_REPOSITORY_URI=123456789012.dkr.ecr.us-east-1.amazonaws.com/ride-scorer", "INFRA_MODEL_BUCKET=models"]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_deploy(*arguments: str) -> subprocess.CompletedProcess[str]:
    return run_make(
        *arguments, *OFFLINE, unset={"MODEL_SHA256", "MODEL_RUN_ID", "CHALLENGER_RUN_ID", "CHALLENGER_SHA256"}
    )


def test_deploy_without_the_pin_stops_naming_it():
    result = make_deploy("deploy", "MODEL_RUN_ID=abc")
    assert result.returncode != 0
    assert "MODEL_SHA256 is not set" in result.stderr
    assert "SAM CLI" not in result.stdout + result.stderr  # it stopped before anything else


def test_deploy_with_a_malformed_pin_stops_naming_it():
    result = make_deploy("deploy", "MODEL_RUN_ID=abc", "MODEL_SHA256=3f0c")
    assert result.returncode != 0
    assert "MODEL_SHA256=3f0c must be 64 lowercase hexadecimal characters" in result.stderr


def test_deploy_passes_the_pin_to_the_stack():
    result = make_deploy("-n", "deploy", "MODEL_RUN_ID=abc", f"MODEL_SHA256={PIN}")
    assert result.returncode == 0, result.stderr
    assert f"ModelPrefix=models/ride-duration/abc ModelSha256={PIN}" in result.stdout
    assert "Challenger" not in result.stdout  # no challenger: the template's defaults, none


def test_deploy_passes_the_capacity_knobs_with_the_template_defaults_unless_given():
    """make capacity prints these variables; a plain make deploy keeps the template's defaults."""
    defaults = load_sam_template()["Parameters"]
    knobs = {
        "STREAM_BATCH_SIZE": "BatchSize",
        "STREAM_BATCHING_WINDOW": "MaximumBatchingWindowInSeconds",
        "PARALLELIZATION_FACTOR": "ParallelizationFactor",
        "SCORER_MEMORY_SIZE": "MemorySize",
    }
    arguments = ["-n", "deploy", *OFFLINE, "MODEL_RUN_ID=abc", f"MODEL_SHA256={PIN}"]
    plain = run_make(*arguments, unset=knobs).stdout.split()
    assert {f"{name}={defaults[name]['Default']}" for name in knobs.values()} <= set(plain)
    given = run_make(*arguments, *(f"{knob}=7" for knob in knobs), unset=knobs).stdout.split()
    assert {f"{name}=7" for name in knobs.values()} <= set(given)


@pytest.mark.parametrize(
    ("challenger", "expected"),
    [
        (
            ("CHALLENGER_RUN_ID=def", f"CHALLENGER_SHA256={PIN}"),
            f"ChallengerPrefix=models/ride-duration/def ChallengerSha256={PIN}",
        ),
        (("CHALLENGER_RUN_ID=def",), "CHALLENGER_SHA256= must be the challenger's digest"),
        ((f"CHALLENGER_SHA256={PIN}",), "CHALLENGER_SHA256 is set but CHALLENGER_RUN_ID is not"),
    ],
)
def test_deploy_passes_a_pinned_challenger_or_stops_naming_what_is_missing(challenger, expected):
    passes = expected.startswith("ChallengerPrefix")
    dry_run = ["-n"] if passes else []  # a refusal stops in deploy-pin, before the SAM CLI or AWS
    result = make_deploy(*dry_run, "deploy", "MODEL_RUN_ID=abc", f"MODEL_SHA256={PIN}", *challenger)
    assert expected in " ".join((result.stdout + result.stderr).replace("\\\n", " ").split())
    assert (result.returncode == 0) == passes
