"""The PreTraffic hook's logic, in-process: the check event it sends, its verdict on the scorer's real answer
and on broken ones, and the AWS requests it builds.

The new version is the real `StreamScorer.check` on a trained model (the Lambda round trip through
`lambda_function.app` on moto's server is in integration-tests/infra/test_pre_traffic_hook.py). moto does not
implement CodeDeploy's PutLifecycleEventHookExecutionStatus, so the report is checked as a request: built
from CodeDeploy's event and valid for botocore's model of the API.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import botocore.session
import pandas as pd
import pytest
from botocore.validate import ParamValidator

from infra.hooks.pre_traffic import app as hook
from ride_scorer.core.model import load_model
from ride_scorer.stream.kinesis_event import KinesisEventRecords
from tests.shared.paths import DATA
from tests.unit.stream.test_stream_scorer import scorer

VERSION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:ride-scorer-scorer:7"
ENVIRON = {"SCORER_VERSION_ARN": VERSION_ARN, "EXPECTED_MODEL_NAME": "ride_duration_prediction_model"}
CODEDEPLOY_EVENT = {
    "DeploymentId": "d-ABCDEF123",
    "LifecycleEventHookExecutionId": "eyJlbmNyeXB0ZWREYXRhIjoiabc=",
}


@pytest.fixture(scope="module")
def model(trained_model_dir):
    return load_model(trained_model_dir)


@pytest.fixture
def new_version(model):
    """The new version as the hook reaches it: the request's payload in, the handler's JSON answer out."""
    checker, kinesis, sqs = scorer(model)
    invoked: list[dict[str, Any]] = []

    def invoke(request: dict[str, Any]) -> tuple[str | None, Any]:
        invoked.append(request)
        event = json.loads(request["Payload"])
        answer = {hook.CHECK_EVENT_KEY: checker.check(KinesisEventRecords(event[hook.CHECK_EVENT_KEY]))}
        return None, json.loads(json.dumps(answer))

    return invoke, invoked, kinesis, sqs


def real_answer(model) -> dict[str, Any]:
    checker, _, _ = scorer(model)
    event = hook.check_event()
    return json.loads(
        json.dumps({hook.CHECK_EVENT_KEY: checker.check(KinesisEventRecords(event[hook.CHECK_EVENT_KEY]))})
    )


def validate(service: str, operation: str, request: dict[str, Any]) -> None:
    shape = botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


def test_the_check_rides_are_real_tlc_rides():
    rides = pd.read_parquet(
        DATA / "green_tripdata_2023-01.parquet", columns=["PULocationID", "DOLocationID", "trip_distance"]
    )
    known = set(rides.itertuples(index=False, name=None))
    assert [(r["PULocationID"], r["DOLocationID"], r["trip_distance"]) in known for r in hook.RIDES] == [True] * 3


def test_the_check_event_is_kinesis_shaped_under_its_own_key():
    event = hook.check_event()
    assert list(event) == ["ride_scorer_check"]
    records = event["ride_scorer_check"]["Records"]
    assert len(records) == 5
    first = json.loads(base64.b64decode(records[0]["kinesis"]["data"]))
    assert first == {
        "ride": {"PULocationID": 166, "DOLocationID": 143, "trip_distance": 2.58},
        "ride_id": "pre-traffic-check-0",
    }
    assert {record["eventSource"] for record in records} == {"aws:kinesis"}


def test_a_sound_new_version_passes_and_nothing_is_written(new_version):
    invoke, invoked, kinesis, sqs = new_version
    reported: list[dict[str, str]] = []
    outcome = hook.run(CODEDEPLOY_EVENT, invoke, reported.append, ENVIRON)
    assert outcome["problems"] == []
    assert reported == [
        {
            "deploymentId": "d-ABCDEF123",
            "lifecycleEventHookExecutionId": CODEDEPLOY_EVENT["LifecycleEventHookExecutionId"],
            "status": "Succeeded",
        }
    ]
    assert [request["FunctionName"] for request in invoked] == [VERSION_ARN]
    assert (kinesis.written, sqs.sent) == ([], [])


def test_the_requests_are_valid_for_the_lambda_and_codedeploy_apis():
    validate("lambda", "Invoke", hook.invoke_request(VERSION_ARN))
    assert hook.invoke_request(VERSION_ARN)["InvocationType"] == "RequestResponse"
    for succeeded in (True, False):
        validate("codedeploy", "PutLifecycleEventHookExecutionStatus", hook.status_request(CODEDEPLOY_EVENT, succeeded))


def tamper(answer: dict[str, Any], change) -> dict[str, Any]:
    inner = answer[hook.CHECK_EVENT_KEY]
    predictions = [json.loads(text) for text in inner["predictions"]]
    letters = [json.loads(text) for text in inner["dead_letters"]]
    change(inner, predictions, letters)
    inner["predictions"] = [json.dumps(p) for p in predictions]
    inner["dead_letters"] = [json.dumps(letter) for letter in letters]
    return answer


def set_duration(value: float):
    def change(inner, predictions, letters):
        predictions[1]["prediction"]["ride_duration"] = value

    return change


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (set_duration(-2.5), "ride pre-traffic-check-1 predicted -2.5 minutes, outside (0, 1440]"),
        (set_duration(90000.0), "ride pre-traffic-check-1 predicted 90000.0 minutes, outside (0, 1440]"),
        (lambda inner, p, letters: p.pop(0), "ride pre-traffic-check-0 got no prediction"),
        (
            lambda inner, p, letters: p[2].update(model="another_model"),
            "ride pre-traffic-check-2 was scored by model 'another_model', expected 'ride_duration_prediction_model'",
        ),
        (
            lambda inner, p, letters: letters[0].update(reason_code="model_error"),
            "bad record 3 should be dead-lettered as invalid_schema, got model_error",
        ),
        (
            lambda inner, p, letters: letters.pop(),
            "bad record 4 should be dead-lettered as invalid_json, got no dead letter",
        ),
    ],
    ids=["negative", "too long", "missing", "other model", "wrong reason", "not dead-lettered"],
)
def test_a_broken_answer_fails_with_the_reason(model, change, problem):
    answer = tamper(real_answer(model), change)
    assert hook.verify(None, answer, "ride_duration_prediction_model") == [problem]


def test_a_version_that_raises_fails():
    payload = {"errorType": "ConfigError", "errorMessage": "MODEL_SHA256 is not set", "stackTrace": []}
    assert hook.verify("Unhandled", payload, "m") == [
        "the new version failed on the check event (Unhandled): ConfigError: MODEL_SHA256 is not set"
    ]


def test_an_image_without_the_check_path_fails():
    """An older handler reads the event as Kinesis records, finds none, and answers a batch response."""
    (problem,) = hook.verify(None, {"batchItemFailures": []}, "m")
    assert problem.startswith("the new version did not answer the check event")


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({**ENVIRON, "SCORER_VERSION_ARN": VERSION_ARN.rsplit(":", 1)[0] + ":live"}, "SCORER_VERSION_ARN="),
        ({"SCORER_VERSION_ARN": VERSION_ARN}, "EXPECTED_MODEL_NAME is not set"),
    ],
    ids=["alias, not a version", "no model name"],
)
def test_a_misconfigured_hook_reports_failed_naming_the_variable(environ, problem):
    reported: list[dict[str, str]] = []
    outcome = hook.run(CODEDEPLOY_EVENT, lambda request: pytest.fail("invoked"), reported.append, environ)
    assert [request["status"] for request in reported] == ["Failed"]
    (line,) = outcome["problems"]
    assert line.startswith("the check could not run: ConfigError: ") and problem in line


def test_an_invoke_that_fails_is_reported_failed_not_left_to_time_out():
    def unreachable(request):
        raise ConnectionError("could not connect to the endpoint URL")

    reported: list[dict[str, str]] = []
    outcome = hook.run(CODEDEPLOY_EVENT, unreachable, reported.append, ENVIRON)
    assert [request["status"] for request in reported] == ["Failed"]
    assert outcome["problems"] == ["the check could not run: ConnectionError: could not connect to the endpoint URL"]
