"""The PreTraffic hook with its real AWS calls: the check set read from the published model on moto's S3,
the check through the real handler, and the hook's verdict within its own timeout when Invoke and
CodeDeploy stall.

Lambda's Invoke is replaced by calling the handler in-process with the same JSON payload (moto runs Lambda
code only in Docker); CodeDeploy's report is recorded as a request (moto does not implement
PutLifecycleEventHookExecutionStatus; tests/unit/infra/functions/test_pre_traffic.py validates it against
botocore's model of the API).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

from infra.functions.pre_traffic import app as hook
from lambda_function import app
from tests.shared.lambda_context import lambda_context
from tools.readers import read_dead_letters, read_stream
from training.publish import publish_model

VERSION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:ride-scorer-scorer:3"
EVENT = {"DeploymentId": "d-XYZ987654", "LifecycleEventHookExecutionId": "execution-1"}
# What the stalled run gives the hook (its Lambda context's remaining time); the template gives it 120 s.
STALLED_RUN_SECONDS = 8.0


def invoke_in_process(request: dict[str, Any]) -> tuple[str | None, Any]:
    """Lambda's RequestResponse invoke: the payload's JSON in, the handler's JSON out, an error as Lambda
    reports it."""
    try:
        answer = app.lambda_handler(json.loads(request["Payload"]), lambda_context())
    except Exception as error:
        return "Unhandled", {"errorType": type(error).__name__, "errorMessage": str(error)}
    return None, json.loads(json.dumps(answer))


@pytest.fixture
def deployed(deploy_scorer, checked_model_dir, aws_env, monkeypatch):
    """The scorer deployed with a model published by training's publish step, check set included."""
    resources = deploy_scorer().resources
    published = publish_model(checked_model_dir, resources.model_bucket, s3_client=aws_env.client("s3"))
    monkeypatch.setenv("MODEL_LOCATION", published.model_location)
    monkeypatch.setenv("MODEL_SHA256", published.sha256)
    monkeypatch.setenv("SCORER_VERSION_ARN", VERSION_ARN)
    monkeypatch.setenv("EXPECTED_MODEL_NAME", "ride_duration_prediction_model")
    app.reset()
    return resources


def test_the_hook_passes_a_sound_version_and_nothing_reaches_the_stream_or_queue(deployed, aws_env):
    read_file, _, _ = hook.aws_seam(hook.Budget.within(120))
    reported: list[dict[str, str]] = []

    outcome = hook.run(EVENT, read_file, invoke_in_process, reported.append)

    assert outcome["problems"] == []
    assert reported == [{**{"deploymentId": "d-XYZ987654", "lifecycleEventHookExecutionId": "execution-1"},
                         "status": "Succeeded"}]  # fmt: skip
    assert read_stream(aws_env.client("kinesis"), deployed.predictions_stream) == []
    assert read_dead_letters(aws_env.client("sqs"), deployed.dead_letter_queue_url) == []


def test_the_hook_fails_a_version_whose_model_cannot_load(deployed, monkeypatch):
    read_file, _, _ = hook.aws_seam(hook.Budget.within(120))
    reported: list[dict[str, str]] = []
    hook_environment = dict(os.environ)  # the hook reads the model that was published...
    monkeypatch.setenv("MODEL_LOCATION", f"s3://{deployed.model_bucket}/models/absent")  # ...the version cannot
    app.reset()

    outcome = hook.run(EVENT, read_file, invoke_in_process, reported.append, hook_environment)

    assert [request["status"] for request in reported] == ["Failed"]
    (problem,) = outcome["problems"]
    assert problem.startswith("the new version failed on the check event (Unhandled): ") and "no MLmodel" in problem


def test_with_invoke_and_codedeploy_stalled_the_hook_decides_within_its_timeout(
    deployed, stalled_endpoint, monkeypatch, capsys
):
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", stalled_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEDEPLOY", stalled_endpoint)
    started = time.monotonic()

    with pytest.raises(Exception, match="Read timeout"):  # the report itself could not be delivered
        hook.handler(EVENT, lambda_context(STALLED_RUN_SECONDS))

    elapsed = time.monotonic() - started
    (verdict,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert verdict["status"] == "Failed"
    (problem,) = verdict["problems"]
    assert problem.startswith("the check could not run: ReadTimeoutError: Read timeout on endpoint URL")
    worst, production = hook.Budget.within(STALLED_RUN_SECONDS).worst_case, hook.Budget.within(120).worst_case
    with capsys.disabled():
        print(
            f"\npre-traffic hook, Invoke and CodeDeploy stalled: decided and gave up reporting after {elapsed:.1f} s"
            f" (worst case {worst:.1f} s) of a {STALLED_RUN_SECONDS:.0f} s function timeout;"
            f" deployed: worst case {production:.1f} s of its 120 s timeout"
        )
    assert elapsed < STALLED_RUN_SECONDS
