"""`make deploy` and `make publish` as a user runs them: the real AWS CLI against moto's CloudFormation.

What is checked is the order a user sees: a missing variable or a missing infra stack stops the target with
one line before anything slow or remote happens, and the deploy reads each infra output once and deploys
the committed template with the infra stack's repository. The SAM CLI and Docker are out of reach here, so
`SAM` is pointed at a recorder that writes down the command it was given.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.shared.make import run_make
from tests.shared.paths import ROOT

PIN = "0123456789abcdef" * 4
REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/rs-images"

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("aws") is None, reason="needs make and the AWS CLI"
)


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    """A PATH folder whose `aws` records each call and then runs the real AWS CLI, and a `sam` recorder."""
    folder = tmp_path / "bin"
    folder.mkdir()
    real_aws = shutil.which("aws")
    for name, body in {
        "aws": f'printf "%s\\n" "$*" >> {tmp_path}/aws.calls\nexec {real_aws} "$@"\n',
        "sam": f'printf "%s\\n" "$*" >> {tmp_path}/sam.calls\n',
    }.items():
        script = folder / name
        script.write_text(f"#!/bin/sh\n{body}")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


def make(tools: Path, *arguments: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    path = f"{tools}{os.pathsep}{os.environ['PATH']}"
    return run_make(
        f"SAM={tools / 'sam'}", *arguments, unset={"MODEL_SHA256", "MODEL_RUN_ID"}, environment={"PATH": path}, cwd=cwd
    )


def calls(tools: Path, name: str) -> list[str]:
    log = tools.parent / f"{name}.calls"
    return log.read_text().splitlines() if log.exists() else []


def test_deploy_without_a_model_stops_before_any_aws_call(aws_env, tools):
    result = make(tools, "deploy", "INFRA_STACK=rs-none", f"MODEL_SHA256={PIN}")

    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "MODEL_RUN_ID is not set: the run id make publish-model printed"
    assert calls(tools, "aws") == []


def test_deploy_without_the_infra_stack_says_so_in_one_line(aws_env, tools):
    result = make(tools, "deploy", "INFRA_STACK=rs-none", "MODEL_RUN_ID=abc", f"MODEL_SHA256={PIN}")

    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "stack rs-none in us-east-1 has no ImageRepositoryUri output (no such stack, or no credentials): "
        "run make deploy-infra, or set INFRA_REPOSITORY_URI"
    )
    assert calls(tools, "sam") == []


def test_deploy_reads_each_infra_output_once_and_deploys_the_source_template(aws_env, tools, unique_prefix):
    stack = f"{unique_prefix}-infra"
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{unique_prefix}-q"}}},
        "Outputs": {
            "ImageRepositoryUri": {"Value": REPOSITORY},
            "ModelBucketName": {"Value": f"{unique_prefix}-models"},
        },
    }
    aws_env.client("cloudformation").create_stack(StackName=stack, TemplateBody=json.dumps(template))

    result = make(tools, "deploy", f"INFRA_STACK={stack}", "MODEL_RUN_ID=abc", f"MODEL_SHA256={PIN}", "IMAGE_TAG=t1")

    assert result.returncode == 0, result.stderr
    assert [call.split()[:2] for call in calls(tools, "aws")] == [["cloudformation", "describe-stacks"]] * 2
    (deployed,) = calls(tools, "sam")
    assert deployed.startswith("deploy --template-file template.yaml ")
    assert f"--image-repository {REPOSITORY} " in deployed
    assert f"ImageUri={REPOSITORY}:t1 ModelBucketName={unique_prefix}-models " in deployed
    assert (
        f"ModelPrefix=models/ride-duration/abc ModelSha256={PIN} DeploymentType=Canary10Percent5Minutes Tracing=Active "
        in deployed
    )
    assert "Challenger" not in deployed  # the capacity knobs follow; no challenger unless one is given


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The make files in a git checkout of their own, so a test can leave an edit uncommitted."""
    folder = tmp_path / "checkout"
    shutil.copytree(ROOT / "make", folder / "make")
    shutil.copy(ROOT / "Makefile", folder)
    (folder / "ride_scorer").mkdir()
    (folder / "ride_scorer" / "__init__.py").write_text("")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=folder, check=True)
    subprocess.run([*git, "add", "."], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-qm", "start"], cwd=folder, check=True)
    return folder


def test_publish_refuses_uncommitted_image_files_under_the_commit_tag(aws_env, tools, checkout):
    (checkout / "ride_scorer" / "__init__.py").write_text("EDITED = True\n")

    refused = make(tools, "publish", "INFRA_STACK=rs-none", cwd=checkout)

    assert refused.returncode == 2
    assert refused.stderr.splitlines()[0].startswith("uncommitted changes in the image's files (git status -- ")
    assert "ECR tags are immutable" in refused.stderr
    assert calls(tools, "aws") == []

    # An explicit tag is the user's choice: publish goes on, to the infra stack's outputs.
    tagged = make(tools, "publish", "INFRA_STACK=rs-none", "IMAGE_TAG=my-test-1", cwd=checkout)

    assert tagged.returncode == 2
    assert "has no ImageRepositoryUri output" in tagged.stderr
