"""`make promote` shows what the stream's shadow challenger measured, from CloudWatch's metrics or, where an
emulator kept them as log lines only, from the EMF lines of the Lambda log groups (moto's server here)."""

from __future__ import annotations

import json
import time

import pytest

from tests.shared.make import run_make
from tests.shared.trips import month_slice

DIMENSIONS = [{"Name": "service", "Value": "ride-scorer"}]
# Two batches of the shadow comparison and one signal that is not about the challenger (not shown).
BATCHES = [{"ShadowMeanAbsDifference": 0.5, "UnseenPairShare": 0.1}, {"ShadowMeanAbsDifference": 1.5}]


def put_metrics(aws_env, namespace: str) -> None:
    cloudwatch = aws_env.client("cloudwatch")
    for batch in BATCHES:
        data = [{"MetricName": name, "Dimensions": DIMENSIONS, "Value": value} for name, value in batch.items()]
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)


def put_emf_lines(aws_env, namespace: str) -> None:
    """The lines Powertools' metrics write to the function's log, as an emulator keeps them."""
    logs, group = aws_env.client("logs"), f"/aws/lambda/{namespace}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="batch")
    now = int(time.time() * 1000)
    events = []
    for offset, batch in enumerate(BATCHES):
        directive = {"Namespace": namespace, "Dimensions": [["service"]], "Metrics": [{"Name": n} for n in batch]}
        document = {"_aws": {"Timestamp": now, "CloudWatchMetrics": [directive]}, "service": "ride-scorer", **batch}
        events.append({"timestamp": now + offset, "message": json.dumps(document)})
    events.insert(1, {"timestamp": now, "message": "START RequestId: 1 Version: $LATEST"})
    logs.put_log_events(logGroupName=group, logStreamName="batch", logEvents=events)


@pytest.mark.parametrize(
    ("put", "source"),
    [
        (put_metrics, "CloudWatch namespace {namespace}"),
        (put_emf_lines, "EMF lines in the /aws/lambda/ log groups, namespace {namespace}"),
    ],
    ids=["CloudWatch metrics", "emulator log lines"],
)
def test_make_promote_shows_the_shadow_metrics(store_copy, aws_env, unique_prefix, tmp_path, monkeypatch, put, source):
    namespace = f"RideScorer-{unique_prefix}"
    put(aws_env, namespace)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", namespace)

    done = run_make(
        "promote",
        variables={"HOLDOUT_DATA": month_slice(tmp_path, "2023-02", 500), "YES": "1"},
        environment={"MLFLOW_TRACKING_URI": store_copy},
        timeout=300,
    )

    assert done.returncode == 0, done.stderr
    report = done.stderr.splitlines()
    start = report.index(f"shadow metrics ({source.format(namespace=namespace)}, last 24 h):")
    assert report[start + 1 : start + 3] == [
        "  ShadowMeanAbsDifference [service=ride-scorer]: 2 batches, average 1, maximum 1.5, sum 2",
        "",
    ]
