"""`make deploy-batch` and `make batch-remote` stop with one line naming what is missing before any AWS call,
and with everything given, deploy-batch passes the stack what the user gave (`-n` prints the command instead
of running it, so no AWS call is made)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.shared.make import first_line, run_make

PIN = "0123456789abcdef" * 4
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ride-scorer-service:abc123"
COMPLETE = {
    "SERVICE_IMAGE_URI": IMAGE,
    "MODEL_RUN_ID": "run1",
    "MODEL_SHA256": PIN,
    "BATCH_INPUT_URI": "s3://rides-in/incoming/",
    "BATCH_OUTPUT_URI": "s3://rides-out/scored",
    "BATCH_VPC_ID": "vpc-0123",
    "BATCH_SUBNETS": "subnet-a,subnet-b",
}
VARIABLES = {*COMPLETE, "BATCH_REMOTE_INPUT", "BATCH_REMOTE_OUTPUT", "BATCH_RESCORE", "MODEL_BUCKET"}

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(*arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return run_make(*arguments, variables=variables, unset=VARIABLES)


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ("SERVICE_IMAGE_URI", "SERVICE_IMAGE_URI is not set: the batch/HTTP image make publish-service printed"),
        ("MODEL_RUN_ID", "MODEL_RUN_ID is not set"),
        ("MODEL_SHA256", "MODEL_SHA256 is not set"),
        ("BATCH_INPUT_URI", "BATCH_INPUT_URI is not set"),
        ("BATCH_OUTPUT_URI", "BATCH_OUTPUT_URI is not set"),
        ("BATCH_VPC_ID", "BATCH_VPC_ID is not set"),
        ("BATCH_SUBNETS", "BATCH_SUBNETS is not set"),
    ],
)
def test_deploy_batch_without_a_variable_stops_with_one_line_naming_it(missing, expected):
    result = make("deploy-batch", **{name: value for name, value in COMPLETE.items() if name != missing})
    assert result.returncode == 2
    assert first_line(result).startswith(expected)
    assert result.stdout == ""  # nothing ran after the check: no stack lookup, no deploy


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("MODEL_SHA256", "3f0c", "MODEL_SHA256=3f0c must be 64 lowercase hexadecimal characters"),
        ("BATCH_INPUT_URI", "s3://rides-in", "BATCH_INPUT_URI=s3://rides-in must be s3://bucket/prefix/"),
        ("BATCH_OUTPUT_URI", "rides-out/scored", "BATCH_OUTPUT_URI=rides-out/scored must be s3://bucket/prefix/"),
    ],
)
def test_deploy_batch_with_a_malformed_variable_stops_naming_it(variable, value, expected):
    result = make("deploy-batch", **{**COMPLETE, variable: value})
    assert result.returncode == 2
    assert first_line(result).startswith(expected)


def test_deploy_batch_passes_the_stack_what_was_given():
    result = make("-n", "deploy-batch", **COMPLETE, MODEL_BUCKET="models-bucket")
    assert result.returncode == 0, result.stderr
    command = " ".join(result.stdout.replace("\\\n", " ").split())
    assert "aws cloudformation deploy --region us-east-1 --stack-name ride-scorer-batch" in command
    assert "--template-file infra/templates/batch.yaml --capabilities CAPABILITY_IAM" in command
    for parameter in (
        f"ServiceImageUri={IMAGE}",
        "ModelPrefix=models/ride-duration/run1",
        f"ModelSha256={PIN}",
        "InputBucketName=rides-in InputPrefix=incoming",
        "OutputBucketName=rides-out OutputPrefix=scored",
        "VpcId=vpc-0123 SubnetIds=subnet-a,subnet-b",
        "'ScheduleExpression=cron(0 3 * * ? *)'",
        "ScheduleState=ENABLED",
    ):
        assert parameter in command


def test_deploy_batch_takes_another_schedule():
    result = make("-n", "deploy-batch", **COMPLETE, BATCH_SCHEDULE="rate(6 hours)", BATCH_SCHEDULE_STATE="DISABLED")
    command = " ".join(result.stdout.replace("\\\n", " ").split())
    assert "'ScheduleExpression=rate(6 hours)' ScheduleState=DISABLED" in command


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"BATCH_REMOTE_INPUT": "s3://rides-in/incoming/a.parquet"}, "BATCH_REMOTE_OUTPUT is not set"),
        ({"BATCH_REMOTE_OUTPUT": "s3://rides-out/scored/a.parquet"}, "BATCH_REMOTE_INPUT is not set"),
        (
            {"BATCH_REMOTE_INPUT": "rides-in/a.parquet", "BATCH_REMOTE_OUTPUT": "s3://rides-out/scored/a.parquet"},
            "BATCH_REMOTE_INPUT=rides-in/a.parquet must be s3://bucket/key",
        ),
        (
            {
                "BATCH_REMOTE_INPUT": "s3://rides-in/incoming/a.parquet",
                "BATCH_REMOTE_OUTPUT": "s3://rides-out/scored/a.parquet",
                "BATCH_RESCORE": "1",
            },
            "BATCH_RESCORE is for the stack's prefixes",
        ),
    ],
)
def test_batch_remote_with_half_a_file_job_stops_with_one_line(variables, expected):
    result = make("batch-remote", **variables)
    assert result.returncode == 2
    assert first_line(result).startswith(expected)
    assert result.stdout == ""
