"""CodeDeploy PreTraffic hook: score real-shaped rides with the NEW scorer version before traffic shifts.

CodeDeploy calls `handler` with a DeploymentId and a LifecycleEventHookExecutionId once the new version is
published and before the `live` alias sends it a single batch. The hook invokes that version (its ARN comes
from SCORER_VERSION_ARN, which the template sets to `ScorerFunction.Version`) with a check event: a few real
TLC rides and two bad records, Kinesis-shaped, under the key `ride_scorer_check`. The scorer scores them
exactly as it would a stream batch but writes nothing (`StreamScorer.check`): no prediction reaches the
output stream, no dead letter the queue. The hook then checks the answer (each ride one finite, plausible
prediction from the expected model; each bad record its reason code) and reports Succeeded or Failed to
CodeDeploy, which shifts traffic or rolls back. Any error, including one of the hook itself, is a Failed:
a deployment never waits an hour for a report that does not come.

Zip function code on the python3.12 runtime: it imports only the standard library and the runtime's boto3,
and nothing of ride_scorer (it ships in no image and the scorer image carries none of it).
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

CHECK_EVENT_KEY = "ride_scorer_check"  # lambda_function.app.CHECK_EVENT_KEY
# The first rides of data/green_tripdata_2023-01.parquet (NYC TLC green taxis), with their real durations
# of 11.0, 6.8 and 17.4 minutes.
RIDES: tuple[dict[str, Any], ...] = (
    {"PULocationID": 166, "DOLocationID": 143, "trip_distance": 2.58},
    {"PULocationID": 24, "DOLocationID": 43, "trip_distance": 1.81},
    {"PULocationID": 181, "DOLocationID": 45, "trip_distance": 3.8},
)
# Records the scorer must dead-letter, with the reason code it must give.
BAD_RECORDS: tuple[tuple[bytes, str], ...] = (
    (b'{"ride": {"PULocationID": 41, "DOLocationID": 238, "trip_distance": -1.3}, "ride_id": "pre-traffic-bad-1"}',
     "invalid_schema"),
    (b'{"ride": {"PULocationID": 41, "DOLocationID": 74', "invalid_json"),
)  # fmt: skip
# A day: no city ride takes longer, and a model that predicts more (or less than nothing) is broken.
LONGEST_PLAUSIBLE_MINUTES = 24 * 60.0
SHARD = "shardId-000000000000"
EVENT_SOURCE_ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/ride-scorer-pre-traffic-check"
_VERSION_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[a-zA-Z0-9_-]{1,64}:[0-9]+$")


class ConfigError(ValueError):
    """A missing or malformed environment variable; the message names it."""


@dataclass(frozen=True)
class HookSettings:
    scorer_version_arn: str
    expected_model_name: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HookSettings:
        env = os.environ if environ is None else environ
        arn = env.get("SCORER_VERSION_ARN", "")
        if not _VERSION_ARN.match(arn):
            raise ConfigError(
                f"SCORER_VERSION_ARN={arn!r} must be a published version's ARN, "
                "arn:aws:lambda:<region>:<account>:function:<name>:<version number>"
            )
        name = env.get("EXPECTED_MODEL_NAME", "")
        if not name:
            raise ConfigError("EXPECTED_MODEL_NAME is not set: the `model` field every prediction must carry")
        return cls(arn, name)


def sequence_number(position: int) -> str:
    return f"4960000000000000000000{position:04d}"


def ride_id(position: int) -> str:
    """Synthetic and recognisable, should a check ever be written anywhere."""
    return f"pre-traffic-check-{position}"


def check_records() -> list[tuple[bytes, str | None]]:
    """(data, expected reason code or None for a ride to score), in the order they are sent."""
    rides = [
        (json.dumps({"ride": ride, "ride_id": ride_id(position)}).encode(), None) for position, ride in enumerate(RIDES)
    ]
    return rides + [(data, code) for data, code in BAD_RECORDS]


def check_event() -> dict[str, Any]:
    """The check event: the records as Lambda's Kinesis event source delivers them, under CHECK_EVENT_KEY."""
    records = []
    for position, (data, _) in enumerate(check_records()):
        sequence = sequence_number(position)
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": str(position),
                    "sequenceNumber": sequence,
                    "data": base64.b64encode(data).decode("ascii"),
                    "approximateArrivalTimestamp": 1764000000.0 + position,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{SHARD}:{sequence}",
                "eventName": "aws:kinesis:record",
                "awsRegion": "us-east-1",
                "eventSourceARN": EVENT_SOURCE_ARN,
            }
        )
    return {CHECK_EVENT_KEY: {"Records": records}}


def verify(function_error: str | None, payload: Any, expected_model_name: str) -> list[str]:
    """What is wrong with the new version's answer to `check_event()`, one line each; none means it passed."""
    if function_error:
        detail = (
            payload if not isinstance(payload, dict) else f"{payload.get('errorType')}: {payload.get('errorMessage')}"
        )
        return [f"the new version failed on the check event ({function_error}): {detail}"]
    answer = payload.get(CHECK_EVENT_KEY) if isinstance(payload, dict) else None
    if not isinstance(answer, dict):
        return [f"the new version did not answer the check event (an image without the check path?): {payload!r:.300}"]
    problems: list[str] = []
    expected = check_records()
    if answer.get("records") != len(expected):
        problems.append(f"the new version read {answer.get('records')!r} records of {len(expected)}")
    version = answer.get("model_version")
    predictions = {}
    for text in answer.get("predictions", []):
        record = json.loads(text)
        predictions[record["source_sequence_number"]] = record
    letters = {}
    for text in answer.get("dead_letters", []):
        letter = json.loads(text)
        letters[letter["source"]["sequence_number"]] = letter
    for position, (_, code) in enumerate(expected):
        sequence = sequence_number(position)
        if code is None:
            problems += _ride_problems(position, predictions.pop(sequence, None), expected_model_name, version)
            if sequence in letters:
                problems.append(f"ride {ride_id(position)} was dead-lettered: {letters.pop(sequence)['reason']}")
        else:
            letter = letters.pop(sequence, None)
            if letter is None or letter["reason_code"] != code:
                found = "no dead letter" if letter is None else letter["reason_code"]
                problems.append(f"bad record {position} should be dead-lettered as {code}, got {found}")
            if predictions.pop(sequence, None) is not None:
                problems.append(f"bad record {position} was scored")
    problems += [f"unexpected prediction for record {sequence}" for sequence in predictions]
    problems += [f"unexpected dead letter for record {sequence}" for sequence in letters]
    return problems


def _ride_problems(position: int, record: dict[str, Any] | None, model_name: str, version: object) -> list[str]:
    name = ride_id(position)
    if record is None:
        return [f"ride {name} got no prediction"]
    problems = []
    if record.get("model") != model_name:
        problems.append(f"ride {name} was scored by model {record.get('model')!r}, expected {model_name!r}")
    if not version or record.get("version") != version:
        problems.append(f"ride {name} has model version {record.get('version')!r}, the scorer loaded {version!r}")
    prediction = record.get("prediction", {})
    duration = prediction.get("ride_duration")
    if prediction.get("ride_id") != name:
        problems.append(f"ride {name} came back as ride {prediction.get('ride_id')!r}")
    if not isinstance(duration, float) or not math.isfinite(duration) or not 0 < duration <= LONGEST_PLAUSIBLE_MINUTES:
        problems.append(f"ride {name} predicted {duration!r} minutes, outside (0, {LONGEST_PLAUSIBLE_MINUTES:g}]")
    return problems


def status_request(event: Mapping[str, Any], succeeded: bool) -> dict[str, str]:
    """The PutLifecycleEventHookExecutionStatus request that reports this hook's verdict."""
    return {
        "deploymentId": event["DeploymentId"],
        "lifecycleEventHookExecutionId": event["LifecycleEventHookExecutionId"],
        "status": "Succeeded" if succeeded else "Failed",
    }


def invoke_request(version_arn: str) -> dict[str, Any]:
    """The Lambda Invoke request that sends the check event to the new version, waiting for its answer."""
    return {
        "FunctionName": version_arn,
        "InvocationType": "RequestResponse",
        "Payload": json.dumps(check_event()).encode("utf-8"),
    }


# The seam to AWS: (Invoke request) -> (FunctionError or None, decoded payload), and (status request) -> None.
Invoke = Callable[[dict[str, Any]], tuple[str | None, Any]]
Report = Callable[[dict[str, str]], None]


def run(event: Mapping[str, Any], invoke: Invoke, report: Report, environ: Mapping[str, str] | None = None) -> dict:
    """Check the new version and report the verdict; returns what was reported, with the reasons."""
    try:
        settings = HookSettings.from_env(environ)
        function_error, payload = invoke(invoke_request(settings.scorer_version_arn))
        problems = verify(function_error, payload, settings.expected_model_name)
    except Exception as error:  # any failure to check is a failed check, reported rather than left to time out
        problems = [f"the check could not run: {type(error).__name__}: {error}"]
    request = status_request(event, succeeded=not problems)
    print(json.dumps({"message": "pre-traffic check", **request, "problems": problems}))
    report(request)
    return {**request, "problems": problems}


def aws_seam() -> tuple[Invoke, Report]:
    """The runtime's boto3 clients. The scorer can take a cold start (model download and load) plus a batch,
    up to its 60 s timeout, so the read timeout is longer than that; a retried check writes nothing either."""
    import boto3
    from botocore.config import Config

    config = Config(read_timeout=75, connect_timeout=10, retries={"mode": "standard", "max_attempts": 2})
    lambda_client: Any = boto3.client("lambda", config=config)
    codedeploy: Any = boto3.client("codedeploy")

    def invoke(request: dict[str, Any]) -> tuple[str | None, Any]:
        response = lambda_client.invoke(**request)
        return response.get("FunctionError"), json.loads(response["Payload"].read() or b"null")

    def report(request: dict[str, str]) -> None:
        codedeploy.put_lifecycle_event_hook_execution_status(**request)

    return invoke, report


def handler(event: dict[str, Any], context: object) -> dict:
    invoke, report = aws_seam()
    return run(event, invoke, report)
