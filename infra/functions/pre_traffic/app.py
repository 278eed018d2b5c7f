"""CodeDeploy PreTraffic hook: check the NEW scorer version against the exact answer before traffic shifts.

CodeDeploy calls `handler` with a DeploymentId and a LifecycleEventHookExecutionId once the new version is
published and before the `live` alias sends it a single batch. The hook reads the model's check set
(`scorer/check_set.json`, written by training/check_set.py when the model was saved: real TLC rides across
distance bands and every kind of bad record, each with the exact outcome this model gives it). It trusts the
file only through the pin: the published manifest (`model.sha256`) must have the digest MODEL_SHA256 names,
and the check set the SHA-256 the manifest lists. It invokes the new version (SCORER_VERSION_ARN, which the
template sets to `ScorerFunction.Version`) with those records, Kinesis-shaped, under `ride_scorer_check`:
the scorer scores them as it would a stream batch but writes nothing (`StreamScorer.check`).

The verdict is exact: every expected prediction once, from the expected model and version, with exactly the
expected float; every expected dead letter once, with its reason code; nothing else. So a doubled
prediction, a doubled dead letter or a duration of 1e-300 minutes fails, as a missing one does.

The hook always reports within its own timeout: every call has connect and read timeouts and a retry count
sized from the time the function has (`Budget`), and their worst case, summed, leaves time over. Any
error, including one of the hook itself, is a Failed: a deployment never waits an hour for a report.

Zip function code on the python3.12 runtime: it imports only the standard library and the runtime's boto3,
and nothing of ride_scorer (it ships in no image and the scorer image carries none of it).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

CHECK_EVENT_KEY = "ride_scorer_check"  # lambda_function.app.CHECK_EVENT_KEY
CHECK_SET_FILE = "scorer/check_set.json"
MANIFEST_FILE = "model.sha256"  # ride_scorer.core.integrity.DIGEST_FILE
# Both files are small (a check set is ~40 KiB); anything larger is not one and is not read whole.
MAX_FILE_BYTES = 1 << 20
SHARD = "shardId-000000000000"
EVENT_SOURCE_ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/ride-scorer-pre-traffic-check"
_VERSION_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[a-zA-Z0-9_-]{1,64}:[0-9]+")
_LOCATION = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/([!-~]+)")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_MANIFEST_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")


class ConfigError(ValueError):
    """A missing or malformed environment variable; the message names it."""


class CheckSetError(RuntimeError):
    """The check set cannot be trusted or read: not the pinned model's, or not a check set."""


@dataclass(frozen=True)
class HookSettings:
    scorer_version_arn: str
    expected_model_name: str
    bucket: str
    model_prefix: str
    model_sha256: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HookSettings:
        env = os.environ if environ is None else environ
        arn = env.get("SCORER_VERSION_ARN", "")
        if not _VERSION_ARN.fullmatch(arn):  # fullmatch: `$` would let a trailing newline through
            raise ConfigError(
                f"SCORER_VERSION_ARN={arn!r} must be a published version's ARN, "
                "arn:aws:lambda:<region>:<account>:function:<name>:<version number>"
            )
        name = env.get("EXPECTED_MODEL_NAME", "")
        if not name:
            raise ConfigError("EXPECTED_MODEL_NAME is not set: the `model` field every prediction must carry")
        location = _LOCATION.fullmatch(env.get("MODEL_LOCATION", ""))
        if location is None:
            raise ConfigError(f"MODEL_LOCATION={env.get('MODEL_LOCATION', '')!r} must be s3://<bucket>/<prefix>")
        digest = env.get("MODEL_SHA256", "")
        if not _DIGEST.fullmatch(digest):
            raise ConfigError(f"MODEL_SHA256={digest!r} must be the 64 lowercase hex digits publish printed")
        return cls(arn, name, location.group(1), location.group(2).strip("/"), digest)


# ---- the time budget -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallBudget:
    """One SDK call: its timeouts, how many attempts, and the pause between them (seconds)."""

    connect_timeout: float
    read_timeout: float
    attempts: int
    pause: float

    @property
    def worst_case(self) -> float:
        """Every attempt connecting and reading until its timeouts, with every pause between."""
        return self.attempts * (self.connect_timeout + self.read_timeout) + (self.attempts - 1) * self.pause


@dataclass(frozen=True)
class Budget:
    """The calls' limits as shares of the time the function has, so that their worst case, summed, leaves
    8% of it (10 s of the template's 120) to start, decide and log. The invoke gets most: the new version
    may cold-start and score within its own 60 s timeout; it is tried once (a second try could not fit)."""

    read_file: CallBudget  # each of the two S3 reads
    invoke: CallBudget
    report: CallBudget
    seconds: float

    @classmethod
    def within(cls, seconds: float) -> Budget:
        return cls(
            read_file=CallBudget(0.02 * seconds, 0.03 * seconds, attempts=2, pause=0.01 * seconds),
            invoke=CallBudget(0.02 * seconds, 0.55 * seconds, attempts=1, pause=0.0),
            report=CallBudget(0.02 * seconds, 0.04 * seconds, attempts=2, pause=0.01 * seconds),
            seconds=seconds,
        )

    @property
    def worst_case(self) -> float:
        return 2 * self.read_file.worst_case + self.invoke.worst_case + self.report.worst_case


# ---- the check set and the check event ---------------------------------------------------------------------


def manifest_digest(manifest: Mapping[str, str]) -> str:
    """What MODEL_SHA256 pins: ride_scorer.core.integrity.manifest_digest, which this zip cannot import."""
    outer = hashlib.sha256()
    for relative in sorted(manifest, key=lambda path: path.split("/")):
        outer.update(relative.encode("utf-8") + b"\0")
        outer.update(manifest[relative].encode("ascii") + b"\n")
    return outer.hexdigest()


def pinned_file_digest(manifest_text: str, pin: str, name: str) -> str:
    """The SHA-256 the manifest lists for `name`, once the manifest's digest is the pin."""
    manifest: dict[str, str] = {}
    for number, line in enumerate(manifest_text.splitlines(), start=1):
        match = _MANIFEST_LINE.fullmatch(line)
        if match is None or match.group(2) in manifest:
            raise CheckSetError(f"{MANIFEST_FILE} line {number} is not one '<sha256>  <path>' entry")
        manifest[match.group(2)] = match.group(1)
    if manifest_digest(manifest) != pin:
        raise CheckSetError(f"the published {MANIFEST_FILE} does not have the digest MODEL_SHA256 pins ({pin})")
    if name not in manifest:
        raise CheckSetError(f"the pinned model has no {name}: republish it with training that writes its check set")
    return manifest[name]


@dataclass(frozen=True)
class CheckSet:
    """Records as Kinesis `data` (base64 text, sent as is) and, position by position, what must come back:
    {"prediction": {"ride_id": ..., "ride_duration": ...}} or {"reason_code": ...}."""

    model_version: str
    data: tuple[str, ...]
    expected: tuple[dict[str, Any], ...]

    @classmethod
    def parse(cls, content: bytes, expected_sha256: str) -> CheckSet:
        if hashlib.sha256(content).hexdigest() != expected_sha256:
            raise CheckSetError(f"{CHECK_SET_FILE} is not the file the pinned manifest lists")
        document = json.loads(content)
        records = document["records"]
        if not records:
            raise CheckSetError(f"{CHECK_SET_FILE} has no records: a check of nothing would pass any version")
        for record in records:
            expected = record["expected"]
            if not isinstance(record["data"], str) or not (
                set(expected) == {"reason_code"} or set(expected) == {"prediction"}
            ):
                raise CheckSetError(f"{CHECK_SET_FILE} has a record that is not data with one expected outcome")
        return cls(
            str(document["model_version"]),
            tuple(record["data"] for record in records),
            tuple(record["expected"] for record in records),
        )


def sequence_number(position: int) -> str:
    return f"4960000000000000000000{position:04d}"


def check_event(data: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The records as Lambda's Kinesis event source delivers them (base64 `data` as given), under CHECK_EVENT_KEY."""
    records = []
    for position, text in enumerate(data):
        sequence = sequence_number(position)
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": str(position),
                    "sequenceNumber": sequence,
                    "data": text,
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


# ---- the verdict -------------------------------------------------------------------------------------------


def verify(function_error: str | None, payload: Any, check_set: CheckSet, expected_model_name: str) -> list[str]:
    """What is wrong with the new version's answer to the check set's records, one line each; none: it passed."""
    if function_error:
        detail = (
            payload if not isinstance(payload, dict) else f"{payload.get('errorType')}: {payload.get('errorMessage')}"
        )
        return [f"the new version failed on the check event ({function_error}): {detail!s:.500}"]
    answer = payload.get(CHECK_EVENT_KEY) if isinstance(payload, dict) else None
    if not isinstance(answer, dict):
        return [f"the new version did not answer the check event (an image without the check path?): {payload!r:.300}"]
    problems: list[str] = []
    if answer.get("records") != len(check_set.data):
        problems.append(f"the new version read {answer.get('records')!r} records of {len(check_set.data)}")
    if answer.get("model_version") != check_set.model_version:
        problems.append(
            f"the new version loaded model {answer.get('model_version')!r}, "
            f"the check set is model {check_set.model_version!r}'s"
        )
    positions: dict[Any, int] = {sequence_number(position): position for position in range(len(check_set.data))}
    found: Counter[tuple[int | None, str]] = Counter()
    for text in answer.get("predictions", []):
        record = json.loads(text)
        position = positions.get(record.get("source_sequence_number"))
        expected = None if position is None else check_set.expected[position].get("prediction")
        wanted = {
            "model": expected_model_name,
            "version": check_set.model_version,
            "prediction": expected,
            "source_sequence_number": record.get("source_sequence_number"),
        }
        if expected is None or not _same(record, wanted):
            problems.append(f"record {position} was answered with {text!s:.300}, expected {_expected(wanted)}")
        found[(position, "prediction")] += 1
    for text in answer.get("dead_letters", []):
        letter = json.loads(text)
        source = letter.get("source")
        position = positions.get(source.get("sequence_number") if isinstance(source, dict) else None)
        code = None if position is None else check_set.expected[position].get("reason_code")
        if code is None or letter.get("reason_code") != code:
            problems.append(f"record {position} was dead-lettered as {letter.get('reason_code')!r}, expected {code!r}")
        found[(position, "dead letter")] += 1
    for position, expected in enumerate(check_set.expected):
        kind = "prediction" if "prediction" in expected else "dead letter"
        if found[(position, kind)] != 1:
            problems.append(f"record {position} should have one {kind}, got {found[(position, kind)]}")
    return problems


def _same(actual: Any, expected: Any) -> bool:
    """Equal, and a float where a float is expected: 1 == 1.0 and True == 1 in Python, not on the stream."""
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(_same(actual[key], expected[key]) for key in expected)
        )
    if isinstance(expected, float):
        return type(actual) is float and math.isfinite(actual) and actual == expected
    return type(actual) is type(expected) and actual == expected


def _expected(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)


# ---- one run -----------------------------------------------------------------------------------------------


def status_request(event: Mapping[str, Any], succeeded: bool) -> dict[str, str]:
    """The PutLifecycleEventHookExecutionStatus request that reports this hook's verdict."""
    return {
        "deploymentId": event["DeploymentId"],
        "lifecycleEventHookExecutionId": event["LifecycleEventHookExecutionId"],
        "status": "Succeeded" if succeeded else "Failed",
    }


def invoke_request(version_arn: str, check_set: CheckSet) -> dict[str, Any]:
    """The Lambda Invoke request that sends the check event to the new version, waiting for its answer."""
    return {
        "FunctionName": version_arn,
        "InvocationType": "RequestResponse",
        "Payload": json.dumps(check_event(check_set.data)).encode("utf-8"),
    }


# The seam to AWS: (bucket, key) -> the object's bytes (at most MAX_FILE_BYTES), (Invoke request) ->
# (FunctionError or None, decoded payload), and (status request) -> None.
ReadFile = Callable[[str, str], bytes]
Invoke = Callable[[dict[str, Any]], tuple[str | None, Any]]
Report = Callable[[dict[str, str]], None]


def read_check_set(read_file: ReadFile, settings: HookSettings) -> CheckSet:
    manifest = read_file(settings.bucket, f"{settings.model_prefix}/{MANIFEST_FILE}")
    digest = pinned_file_digest(manifest.decode("utf-8"), settings.model_sha256, CHECK_SET_FILE)
    return CheckSet.parse(read_file(settings.bucket, f"{settings.model_prefix}/{CHECK_SET_FILE}"), digest)


def run(
    event: Mapping[str, Any],
    read_file: ReadFile,
    invoke: Invoke,
    report: Report,
    environ: Mapping[str, str] | None = None,
) -> dict:
    """Check the new version and report the verdict; returns what was reported, with the reasons."""
    try:
        settings = HookSettings.from_env(environ)
        check_set = read_check_set(read_file, settings)
        function_error, payload = invoke(invoke_request(settings.scorer_version_arn, check_set))
        problems = verify(function_error, payload, check_set, settings.expected_model_name)
    except Exception as error:  # any failure to check is a failed check, reported rather than left to time out
        problems = [f"the check could not run: {type(error).__name__}: {error}"]
    request = status_request(event, succeeded=not problems)
    print(json.dumps({"message": "pre-traffic check", **request, "problems": problems}))
    report(request)
    return {**request, "problems": problems}


def aws_seam(budget: Budget) -> tuple[ReadFile, Invoke, Report]:
    """The runtime's boto3 clients, each call within its share of the budget. botocore retries nothing (its
    backoff can wait on a server's retry-after header); the attempts are counted here, so the worst case is
    exactly `budget.worst_case`. Retrying is safe: reads and the check write nothing."""
    import boto3
    from botocore.config import Config

    def made(service: str, limits: CallBudget) -> Any:
        config = Config(
            connect_timeout=limits.connect_timeout,
            read_timeout=limits.read_timeout,
            retries={"mode": "standard", "total_max_attempts": 1},
        )
        return boto3.client(service, config=config)  # type: ignore[call-overload]

    s3, lambda_client, codedeploy = (
        made("s3", budget.read_file),
        made("lambda", budget.invoke),
        made("codedeploy", budget.report),
    )

    def read_file(bucket: str, key: str) -> bytes:
        def get() -> bytes:
            response = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{MAX_FILE_BYTES}")
            content: bytes = response["Body"].read()
            if len(content) > MAX_FILE_BYTES:
                raise CheckSetError(f"s3://{bucket}/{key} is larger than {MAX_FILE_BYTES} bytes")
            return content

        return attempt(get, budget.read_file)

    def invoke(request: dict[str, Any]) -> tuple[str | None, Any]:
        def call() -> tuple[str | None, Any]:
            response = lambda_client.invoke(**request)
            return response.get("FunctionError"), json.loads(response["Payload"].read() or b"null")

        return attempt(call, budget.invoke)

    def report(request: dict[str, str]) -> None:
        attempt(lambda: codedeploy.put_lifecycle_event_hook_execution_status(**request), budget.report)

    return read_file, invoke, report


def attempt(call: Callable[[], Any], limits: CallBudget, sleep: Callable[[float], None] = time.sleep) -> Any:
    """`call()`, tried `limits.attempts` times when it raises, pausing between; the last error is raised."""
    for number in range(1, limits.attempts + 1):
        try:
            return call()
        except CheckSetError:
            raise
        except Exception:
            if number == limits.attempts:
                raise
            sleep(limits.pause)
    raise AssertionError("unreachable")


def handler(event: dict[str, Any], context: Any) -> dict:
    budget = Budget.within(context.get_remaining_time_in_millis() / 1000)
    read_file, invoke, report = aws_seam(budget)
    return run(event, read_file, invoke, report)
