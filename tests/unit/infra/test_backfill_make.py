"""`make backfill-remote` and `make deploy-backfill` stop with one line naming what is missing before any AWS
call; with everything given, `make -n` shows the EMR Serverless run the docs describe (no AWS call is made)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.shared.make import run_make

PIN = "0123456789abcdef" * 4
REMOTE = {
    "BACKFILL_INPUT": "s3://rides/tlc/*.parquet",
    "BACKFILL_OUTPUT": "s3://rides/backfill/2024",
    "MODEL_LOCATION": "s3://models/models/ride-duration/run1",
    "MODEL_SHA256": PIN,
    "BACKFILL_ARTIFACTS_URI": "s3://artifacts/backfill/",
}
VARIABLES = {*REMOTE, "BACKFILL_INPUT_URI", "BACKFILL_OUTPUT_URI", "MODEL_BUCKET"}

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(*arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return run_make(*arguments, variables=variables, unset=VARIABLES)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BACKFILL_INPUT", "data/x.parquet", "BACKFILL_INPUT=data/x.parquet must be an s3:// file, folder or glob"),
        ("BACKFILL_OUTPUT", ".cache/out", "BACKFILL_OUTPUT=.cache/out must be an s3:// folder"),
        ("MODEL_LOCATION", "", "MODEL_LOCATION is not an s3:// model prefix"),
        ("MODEL_SHA256", "abc", "MODEL_SHA256 is not set or not 64 lowercase hexadecimal characters"),
        ("BACKFILL_ARTIFACTS_URI", "s3://artifacts", "BACKFILL_ARTIFACTS_URI must be the s3://bucket/prefix/"),
    ],
)
def test_backfill_remote_names_what_is_missing_in_one_line(name, value, message):
    result = make("backfill-remote", **{**REMOTE, name: value})

    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if not line.startswith("make:")]
    assert line.startswith(message)


def test_deploy_backfill_wants_three_prefixes():
    result = make("deploy-backfill", BACKFILL_INPUT_URI="s3://rides/tlc/", BACKFILL_OUTPUT_URI="s3://rides")

    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if not line.startswith("make:")]
    assert line == "BACKFILL_OUTPUT_URI must be s3://bucket/prefix/ (a prefix ending in /), got 's3://rides'"
