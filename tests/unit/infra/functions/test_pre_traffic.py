"""The PreTraffic hook's logic, in-process: it trusts the model's check set only through the pin, sends its
records, and passes the scorer's real answer while failing every broken one, to the exact float and count.

The new version is the real `StreamScorer.check` on a trained model with its check set; the model's files are
read from a folder staged as publish stages it (the Lambda and S3 round trip on moto's server is in
integration-tests/infra/test_pre_traffic_hook.py). moto does not implement CodeDeploy's
PutLifecycleEventHookExecutionStatus, so the report is checked as a request: valid for botocore's model of the API.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.validate import ParamValidator

from infra.functions.pre_traffic import app as hook
from ride_scorer.core.integrity import write_digest
from ride_scorer.core.model import load_model
from ride_scorer.stream.kinesis_event import KinesisEventRecords
from tests.shared.paths import ROOT
from tests.shared.stream_scorer import scorer

VERSION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:ride-scorer-scorer:7"
CODEDEPLOY_EVENT = {
    "DeploymentId": "d-ABCDEF123",
    "LifecycleEventHookExecutionId": "eyJlbmNyeXB0ZWREYXRhIjoiabc=",
}


@pytest.fixture(scope="module")
def published(checked_model_dir, tmp_path_factory) -> tuple[Path, str]:
    """The model's folder with its manifest, as publish uploads it, and the pin publish printed."""
    folder = Path(shutil.copytree(checked_model_dir, tmp_path_factory.mktemp("bucket") / "models" / "run"))
    return folder, write_digest(folder)


@pytest.fixture
def environ(published) -> dict[str, str]:
    return {
        "SCORER_VERSION_ARN": VERSION_ARN,
        "EXPECTED_MODEL_NAME": "ride_duration_prediction_model",
        "MODEL_LOCATION": "s3://models-bucket/models/run",
        "MODEL_SHA256": published[1],
    }


@pytest.fixture
def read_file(published):
    folder, _ = published

    def read(bucket: str, key: str) -> bytes:
        assert (bucket, key.split("/")[:2]) == ("models-bucket", ["models", "run"])
        return (folder / key.removeprefix("models/run/")).read_bytes()

    return read


@pytest.fixture(scope="module")
def check_set(published) -> hook.CheckSet:
    folder, pin = published
    read = lambda bucket, key: (folder / key.split("/", 2)[2]).read_bytes()  # noqa: E731
    settings = hook.HookSettings(VERSION_ARN, "ride_duration_prediction_model", "b", "models/run", pin)
    return hook.read_check_set(read, settings)


@pytest.fixture(scope="module")
def model(checked_model_dir):
    return load_model(checked_model_dir)


def answer_of(model, request: dict[str, Any]) -> dict[str, Any]:
    """The new version as the hook reaches it: the request's payload in, the handler's JSON answer out."""
    checker, kinesis, sqs = scorer(model)
    event = json.loads(request["Payload"])
    answer = {hook.CHECK_EVENT_KEY: checker.check(KinesisEventRecords(event[hook.CHECK_EVENT_KEY]))}
    assert (kinesis.written, sqs.sent) == ([], [])  # the check writes nothing
    return json.loads(json.dumps(answer))


def validate(service: str, operation: str, request: dict[str, Any]) -> None:
    shape = botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


def test_a_sound_new_version_passes_with_valid_requests(model, environ, read_file):
    invoked: list[dict[str, Any]] = []
    reported: list[dict[str, str]] = []

    def invoke(request):
        invoked.append(request)
        return None, answer_of(model, request)

    outcome = hook.run(CODEDEPLOY_EVENT, read_file, invoke, reported.append, environ)

    assert outcome["problems"] == []
    assert reported == [
        {
            "deploymentId": "d-ABCDEF123",
            "lifecycleEventHookExecutionId": "eyJlbmNyeXB0ZWREYXRhIjoiabc=",
            "status": "Succeeded",
        }
    ]
    assert [request["FunctionName"] for request in invoked] == [VERSION_ARN]
    validate("lambda", "Invoke", invoked[0])
    validate("codedeploy", "PutLifecycleEventHookExecutionStatus", reported[0])
    validate("codedeploy", "PutLifecycleEventHookExecutionStatus", hook.status_request(CODEDEPLOY_EVENT, False))


def tampered(model, check_set, change) -> dict[str, Any]:
    answer = answer_of(model, hook.invoke_request(VERSION_ARN, check_set))
    inner = answer[hook.CHECK_EVENT_KEY]
    predictions = [json.loads(text) for text in inner["predictions"]]
    letters = [json.loads(text) for text in inner["dead_letters"]]
    change(predictions, letters)
    inner["predictions"] = [json.dumps(p) for p in predictions]
    inner["dead_letters"] = [json.dumps(letter) for letter in letters]
    return answer


def every_duration(value):
    def change(predictions, letters):
        for prediction in predictions:
            prediction["prediction"]["ride_duration"] = value

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda p, letters: p.extend(p), ["should have one prediction, got 2"] * 7),
        (lambda p, letters: letters.extend(letters), ["should have one dead letter, got 2"] * 7),
        (every_duration(1e-300), ["was answered with"] * 7),
        (lambda p, letters: p[1]["prediction"].update(ride_duration=p[1]["prediction"]["ride_duration"] + 1e-9),
         ["record 1 was answered with"]),
        (lambda p, letters: p.pop(0), ["record 0 should have one prediction, got 0"]),
        (lambda p, letters: p[2].update(model="another_model"), ["record 2 was answered with"]),
        (lambda p, letters: letters[0].update(reason_code="model_error"),
         ["record 7 was dead-lettered as 'model_error', expected 'invalid_json'"]),
        (lambda p, letters: letters.pop(), ["record 13 should have one dead letter, got 0"]),
    ],
    ids=["doubled predictions", "doubled dead letters", "1e-300 minutes", "off by 1e-9", "missing", "other model",
         "wrong reason", "not dead-lettered"],
)  # fmt: skip
def test_a_broken_answer_fails_with_the_reason(model, check_set, change, expected):
    problems = hook.verify(None, tampered(model, check_set, change), check_set, "ride_duration_prediction_model")
    assert len(problems) == len(expected)
    assert all(text in problem for text, problem in zip(expected, problems, strict=True)), problems


def test_a_version_that_raises_or_has_no_check_path_fails(check_set):
    payload = {"errorType": "ConfigError", "errorMessage": "MODEL_SHA256 is not set", "stackTrace": []}
    assert hook.verify("Unhandled", payload, check_set, "m") == [
        "the new version failed on the check event (Unhandled): ConfigError: MODEL_SHA256 is not set"
    ]
    (problem,) = hook.verify(None, {"batchItemFailures": []}, check_set, "m")  # an image older than the check
    assert problem.startswith("the new version did not answer the check event")


def with_file(published, tmp_path, name: str, content: bytes) -> hook.ReadFile:
    folder = Path(shutil.copytree(published[0], tmp_path / "copy"))
    (folder / name).write_bytes(content)
    return lambda bucket, key: (folder / key.removeprefix("models/run/")).read_bytes()


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("scorer/check_set.json", b'{"model_version": "x", "records": []}',
         "CheckSetError: scorer/check_set.json is not the file the pinned manifest lists"),
        ("model.sha256", b"0" * 64 + b"  MLmodel\n",
         "CheckSetError: the published model.sha256 does not have the digest MODEL_SHA256 pins"),
    ],
    ids=["check set replaced", "manifest replaced"],
)  # fmt: skip
def test_a_check_set_the_pin_does_not_cover_fails_before_invoking(published, environ, tmp_path, name, content, problem):
    reported: list[dict[str, str]] = []
    outcome = hook.run(
        CODEDEPLOY_EVENT, with_file(published, tmp_path, name, content), lambda r: pytest.fail("invoked"),
        reported.append, environ,
    )  # fmt: skip
    assert [request["status"] for request in reported] == ["Failed"]
    (line,) = outcome["problems"]
    assert line.startswith(f"the check could not run: {problem}")


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("SCORER_VERSION_ARN", VERSION_ARN.rsplit(":", 1)[0] + ":live", "SCORER_VERSION_ARN="),
        ("SCORER_VERSION_ARN", VERSION_ARN + "\n", "SCORER_VERSION_ARN="),
        ("EXPECTED_MODEL_NAME", "", "EXPECTED_MODEL_NAME is not set"),
        ("MODEL_LOCATION", "models/run", "MODEL_LOCATION='models/run' must be s3://"),
        ("MODEL_SHA256", "", "MODEL_SHA256='' must be"),
    ],
    ids=["alias, not a version", "trailing newline", "no model name", "no bucket", "no pin"],
)
def test_a_misconfigured_hook_reports_failed_naming_the_variable(environ, read_file, variable, value, problem):
    reported: list[dict[str, str]] = []
    outcome = hook.run(CODEDEPLOY_EVENT, read_file, lambda r: pytest.fail("invoked"), reported.append,
                       {**environ, variable: value})  # fmt: skip
    assert [request["status"] for request in reported] == ["Failed"]
    (line,) = outcome["problems"]
    assert line.startswith("the check could not run: ConfigError: ") and problem in line


def test_an_invoke_that_fails_is_reported_failed_not_left_to_time_out(environ, read_file):
    def unreachable(request):
        raise ConnectionError("could not connect to the endpoint URL")

    reported: list[dict[str, str]] = []
    outcome = hook.run(CODEDEPLOY_EVENT, read_file, unreachable, reported.append, environ)
    assert [request["status"] for request in reported] == ["Failed"]
    assert outcome["problems"] == ["the check could not run: ConnectionError: could not connect to the endpoint URL"]


def test_every_call_fits_the_functions_timeout_with_room_to_report():
    """The sum of every call's worst case (each attempt waiting out its connect and read timeouts, and the
    pauses between) against the template's Timeout; the stalled-endpoint run is in the integration test."""
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=yaml.BaseLoader)
    timeout = float(template["Resources"]["PreTrafficHook"]["Properties"]["Timeout"])
    budget = hook.Budget.within(timeout)
    print(f"pre-traffic hook: worst case {budget.worst_case:.1f} s of its {timeout:.0f} s function timeout")
    assert budget.worst_case <= 0.95 * timeout
    assert budget.invoke.read_timeout > 60  # the new version's own timeout: a cold start plus a batch
    waits: list[float] = []
    calls = iter([ConnectionError("1"), ConnectionError("2")])

    def failing():
        raise next(calls)

    with pytest.raises(ConnectionError, match="2"):
        hook.attempt(failing, budget.report, sleep=waits.append)
    assert waits == [budget.report.pause]  # attempts are counted: two tries, one pause
