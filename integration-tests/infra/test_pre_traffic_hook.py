"""The PreTraffic hook against the real handler on moto's server: the check goes through
`lambda_function.app.lambda_handler` with the model published to S3 and the real output stream and
dead-letter queue configured, passes, and leaves both empty.

Lambda's Invoke is replaced by calling the handler in-process with the same JSON payload (moto runs Lambda
code only in Docker); CodeDeploy's report is recorded as a request (moto does not implement
PutLifecycleEventHookExecutionStatus; tests/unit/infra/hooks/test_pre_traffic.py validates it against
botocore's model of the API).
"""

from __future__ import annotations

import json
from typing import Any

from infra.hooks.pre_traffic import app as hook
from lambda_function import app
from ride_scorer.tools.readers import read_dead_letters, read_stream
from tests.shared.lambda_context import lambda_context

VERSION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:ride-scorer-scorer:3"
EVENT = {"DeploymentId": "d-XYZ987654", "LifecycleEventHookExecutionId": "execution-1"}


def invoke_in_process(request: dict[str, Any]) -> tuple[str | None, Any]:
    """Lambda's RequestResponse invoke: the payload's JSON in, the handler's JSON out, an error as Lambda
    reports it."""
    try:
        answer = app.lambda_handler(json.loads(request["Payload"]), lambda_context())
    except Exception as error:
        return "Unhandled", {"errorType": type(error).__name__, "errorMessage": str(error)}
    return None, json.loads(json.dumps(answer))


def test_the_hook_passes_a_sound_version_and_nothing_reaches_the_stream_or_queue(deploy_scorer, aws_env):
    deployed = deploy_scorer().resources
    reported: list[dict[str, str]] = []
    environ = {"SCORER_VERSION_ARN": VERSION_ARN, "EXPECTED_MODEL_NAME": "ride_duration_prediction_model"}

    outcome = hook.run(EVENT, invoke_in_process, reported.append, environ)

    assert outcome["problems"] == []
    assert reported == [{**{"deploymentId": "d-XYZ987654", "lifecycleEventHookExecutionId": "execution-1"},
                         "status": "Succeeded"}]  # fmt: skip
    assert read_stream(aws_env.client("kinesis"), deployed.predictions_stream) == []
    assert read_dead_letters(aws_env.client("sqs"), deployed.dead_letter_queue_url) == []


def test_the_hook_fails_a_version_whose_model_cannot_load(deploy_scorer, monkeypatch):
    deployed = deploy_scorer().resources
    monkeypatch.setenv("MODEL_LOCATION", f"s3://{deployed.model_bucket}/models/absent")
    app.reset()
    reported: list[dict[str, str]] = []
    environ = {"SCORER_VERSION_ARN": VERSION_ARN, "EXPECTED_MODEL_NAME": "ride_duration_prediction_model"}

    outcome = hook.run(EVENT, invoke_in_process, reported.append, environ)

    assert [request["status"] for request in reported] == ["Failed"]
    (problem,) = outcome["problems"]
    assert problem.startswith("the new version failed on the check event (Unhandled): ") and "no MLmodel" in problem
