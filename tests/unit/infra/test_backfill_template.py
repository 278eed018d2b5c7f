"""infra/templates/backfill.yaml (EMR Serverless application, job role, logs) and Dockerfile.backfill (the venv archive)
(linted in test_lint.py): the promises docs/backfill.md makes: the role reads only the inputs, the model and the
artifacts, writes only under the output prefix and its own log group, and only this application's jobs can
take it; the application stops when idle and is capped; the venv carries the backfill's code, not PySpark."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from infra.image_contents import instructions
from tests.shared.paths import ROOT

TEMPLATE = ROOT / "infra" / "templates" / "backfill.yaml"
DOCKERFILE = ROOT / "Dockerfile.backfill"
ARN = "arn:${AWS::Partition}"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def statements(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (policy,) = template["Resources"]["JobRole"]["Properties"]["Policies"]
    return {statement["Sid"]: statement for statement in policy["PolicyDocument"]["Statement"]}


def test_the_application_is_spark_on_emr_7_capped_and_stops_when_idle(template):
    application = template["Resources"]["Application"]["Properties"]
    assert application["Type"] == "SPARK" and application["Architecture"] == "X86_64"
    assert template["Parameters"]["ReleaseLabel"]["Default"].startswith("emr-7.")
    assert application["AutoStopConfiguration"] == {"Enabled": True, "IdleTimeoutMinutes": 15}
    assert set(application["MaximumCapacity"]) == {"Cpu", "Memory"}
    logging = application["MonitoringConfiguration"]["CloudWatchLoggingConfiguration"]
    assert logging["LogGroupName"] == {"Ref": "LogGroup"}
    assert template["Resources"]["LogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_only_this_applications_jobs_can_take_the_role(template):
    (trust,) = template["Resources"]["JobRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "emr-serverless.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source = trust["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert source.endswith(":/applications/${Application}")


def test_the_role_reads_inputs_model_and_artifacts_and_writes_only_under_the_output_prefix(statements):
    assert statements["ReadInputsModelAndArtifacts"]["Action"] == "s3:GetObject"
    assert [resource["Fn::Sub"] for resource in statements["ReadInputsModelAndArtifacts"]["Resource"]] == [
        f"{ARN}:s3:::${{InputBucket}}/${{InputPrefix}}*",
        f"{ARN}:s3:::${{ModelBucket}}/${{ModelPrefix}}*",
        f"{ARN}:s3:::${{ArtifactsBucket}}/${{ArtifactsPrefix}}*",
    ]
    writes = statements["WriteOutputs"]
    assert writes["Resource"] == {"Fn::Sub": f"{ARN}:s3:::${{OutputBucket}}/${{OutputPrefix}}*"}
    assert set(writes["Action"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}
    for listing in ("ListInputs", "ListModel", "ListOutputs"):
        assert "s3:prefix" in statements[listing]["Condition"]["StringLike"]
    everything = [
        action
        for statement in statements.values()
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    ]
    assert not [action for action in everything if "*" in action]
    assert not [sid for sid, statement in statements.items() if statement["Resource"] == "*"]
    logs = statements["OwnLogs"]["Resource"]["Fn::Sub"]
    assert logs.endswith(":log-group:${LogGroup}:*")


def test_the_venv_archive_is_built_on_amazon_linux_for_x86_64_with_the_backfill_and_without_pyspark():
    steps = instructions(DOCKERFILE)
    froms = [argument for keyword, argument in steps if keyword == "FROM"]
    assert froms[0] == "--platform=linux/amd64 amazonlinux:2023 AS build"
    sources = [
        source
        for keyword, argument in steps
        if keyword == "COPY" and not argument.startswith("--from")
        for source in argument.split()[:-1]
    ]
    assert sources == [
        "pyproject.toml",
        "README.md",
        "ride_scorer/__init__.py",
        *(f"ride_scorer/{package}/" for package in ("core", "adapters", "columnar", "backfill")),
    ]
    run = " ".join(argument for keyword, argument in steps if keyword == "RUN")
    assert "venv-pack -o /output/pyspark_venv.tar.gz" in run
    assert "pyspark" not in run.replace("pyspark_venv", "")
    ignore = (ROOT / "Dockerfile.backfill.dockerignore").read_text(encoding="utf-8").splitlines()
    assert "*" in ignore and "!ride_scorer/backfill/" in ignore and "!tools/" not in ignore
