"""What the stream's shadow challenger measured on live traffic, for `make promote` to show beside the
held-out month.

With a challenger configured, the stream scores every batch with both models and writes EMF metrics
(namespace RideScorer, or POWERTOOLS_METRICS_NAMESPACE): ShadowMeanAbsDifference, ShadowP95AbsDifference,
ShadowDisagreementShare, ChallengerRejections, ChallengerFailures and each model's scoring time. CloudWatch
turns EMF log lines into metrics; an emulator may keep them as log lines only, so when CloudWatch has none,
the Lambda log groups' EMF lines are read.

This is a look, never a requirement: no AWS settings, no credentials, an endpoint that does not answer, or no
such metrics all give "none" and a reason, within a few seconds.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The scorer's setting for its metrics' namespace (template.yaml), read here too so both name the same one.
NAMESPACE_SETTING, DEFAULT_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE", "RideScorer"
WINDOW_HOURS = 24
# Names the stream emits for the shadow comparison; any other metric of the namespace naming the shadow or the
# challenger is shown too, so a renamed or added metric is not silently missed.
SHADOW_METRICS = (
    "ShadowMeanAbsDifference",
    "ShadowP95AbsDifference",
    "ShadowDisagreementShare",
    "ChallengerRejections",
    "ChallengerFailures",
    "ChampionScoringTime",
    "ChallengerScoringTime",
)
MAX_METRICS, MAX_LOG_GROUPS, MAX_LOG_PAGES = 50, 20, 5
_AWS_SETTINGS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_CLOUDWATCH",
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


@dataclass(frozen=True)
class ShadowMetric:
    """One metric over the window, all batches of one dimension set together."""

    name: str
    dimensions: str
    samples: int
    average: float
    maximum: float
    total: float


@dataclass(frozen=True)
class ShadowReport:
    metrics: tuple[ShadowMetric, ...]
    source: str  # where they were read, or why there are none

    def lines(self) -> list[str]:
        if not self.metrics:
            return [f"shadow metrics: none ({self.source})"]
        lines = [f"shadow metrics ({self.source}, last {WINDOW_HOURS} h):"]
        for metric in self.metrics:
            lines.append(
                f"  {metric.name} [{metric.dimensions or 'no dimensions'}]: {metric.samples} batches, average "
                f"{metric.average:.4g}, maximum {metric.maximum:.4g}, sum {metric.total:.4g}"
            )
        return lines


def is_shadow_metric(name: str) -> bool:
    return name in SHADOW_METRICS or "shadow" in name.lower() or "challenger" in name.lower()


def read_shadow_metrics(namespace: str | None = None, hours: int = WINDOW_HOURS) -> ShadowReport:
    """CloudWatch's metrics when there are any, else the EMF lines of the Lambda log groups, else none.

    The namespace is the argument, else POWERTOOLS_METRICS_NAMESPACE, else RideScorer."""
    namespace = namespace or os.environ.get(NAMESPACE_SETTING, "").strip() or DEFAULT_NAMESPACE
    if not any(os.environ.get(name) for name in _AWS_SETTINGS) and not (Path.home() / ".aws").is_dir():
        return ShadowReport((), "no AWS endpoint or credentials configured")
    # A tool must not wait on (or send to) the EC2 instance metadata endpoint when no credentials are set.
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 1})
    session = botocore.session.get_session()
    # A minute ahead: a batch's points carry its own clock's time, and the end of the window is exclusive.
    end = time.time() + 60
    start = end - hours * 3600
    try:
        cloudwatch = session.create_client("cloudwatch", config=config)
        found = tuple(_from_metrics(cloudwatch, namespace, start, end))
        if found:
            return ShadowReport(found, f"CloudWatch namespace {namespace}")
        logs = session.create_client("logs", config=config)
        found = tuple(_from_logs(logs, namespace, start, end))
        if found:
            return ShadowReport(found, f"EMF lines in the /aws/lambda/ log groups, namespace {namespace}")
    except (BotoCoreError, ClientError) as error:
        return ShadowReport((), f"cannot read CloudWatch: {type(error).__name__}: {error}")
    return ShadowReport((), f"no shadow metrics in namespace {namespace} in the last {hours} h")


def _from_metrics(cloudwatch: Any, namespace: str, start: float, end: float) -> Iterator[ShadowMetric]:
    listed: list[dict[str, Any]] = []
    for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace):
        listed.extend(metric for metric in page.get("Metrics", []) if is_shadow_metric(metric["MetricName"]))
        if len(listed) >= MAX_METRICS:
            break
    for metric in sorted(listed[:MAX_METRICS], key=lambda metric: (metric["MetricName"], _dimensions(metric))):
        points = cloudwatch.get_metric_statistics(
            Namespace=namespace,
            MetricName=metric["MetricName"],
            Dimensions=metric.get("Dimensions", []),
            StartTime=start,
            EndTime=end,
            Period=int(end - start) // 60 * 60 or 60,
            Statistics=["SampleCount", "Average", "Maximum", "Sum"],
        )["Datapoints"]
        samples = sum(point["SampleCount"] for point in points)
        if samples:
            yield ShadowMetric(
                metric["MetricName"],
                _dimensions(metric),
                int(samples),
                sum(point["Sum"] for point in points) / samples,
                max(point["Maximum"] for point in points),
                sum(point["Sum"] for point in points),
            )


def _from_logs(logs: Any, namespace: str, start: float, end: float) -> Iterator[ShadowMetric]:
    values: dict[tuple[str, str], list[float]] = {}
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/", limit=MAX_LOG_GROUPS).get("logGroups", [])
    for group in groups:
        for document in _emf_documents(logs, group["logGroupName"], start, end):
            for name, dimensions in _shadow_metrics_of(document, namespace):
                value = document.get(name)
                for number in value if isinstance(value, list) else [value]:
                    if isinstance(number, int | float):
                        values.setdefault((name, dimensions), []).append(float(number))
    for (name, dimensions), numbers in sorted(values.items()):
        yield ShadowMetric(name, dimensions, len(numbers), sum(numbers) / len(numbers), max(numbers), sum(numbers))


def _emf_documents(logs: Any, group: str, start: float, end: float) -> Iterator[dict[str, Any]]:
    arguments = {"logGroupName": group, "startTime": int(start * 1000), "endTime": int(end * 1000)}
    for _ in range(MAX_LOG_PAGES):
        page = logs.filter_log_events(**arguments)
        for event in page.get("events", []):
            message = event.get("message", "").strip()
            if message.startswith("{") and '"_aws"' in message:
                try:
                    document = json.loads(message)
                except ValueError:
                    continue
                if isinstance(document, dict):
                    yield document
        if not page.get("nextToken"):
            return
        arguments["nextToken"] = page["nextToken"]


def _shadow_metrics_of(document: dict[str, Any], namespace: str) -> Iterable[tuple[str, str]]:
    directives = (document.get("_aws") or {}).get("CloudWatchMetrics") or []
    for directive in directives if isinstance(directives, list) else []:
        if not isinstance(directive, dict) or directive.get("Namespace") != namespace:
            continue
        names = sorted({name for dimension_set in directive.get("Dimensions") or [] for name in dimension_set})
        dimensions = ", ".join(f"{name}={document.get(name)}" for name in names)
        for metric in directive.get("Metrics") or []:
            if isinstance(metric, dict) and is_shadow_metric(str(metric.get("Name", ""))):
                yield str(metric["Name"]), dimensions


def _dimensions(metric: dict[str, Any]) -> str:
    dimensions = sorted(metric.get("Dimensions", []), key=lambda item: str(item["Name"]))
    return ", ".join(f"{item['Name']}={item['Value']}" for item in dimensions)
