"""The handler's metrics name the Lambda version and the model that emitted them (the dashboard's lines per
version during a rollout), and a pre-traffic check event counts no records."""

from __future__ import annotations

from lambda_function import app
from tests.shared.emf import emitted_metrics
from tests.shared.lambda_context import lambda_context
from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record, ride_event_bytes


def test_every_metric_carries_the_function_and_model_version(deploy_scorer, capsys):
    deployment = deploy_scorer()
    capsys.readouterr()
    event = kinesis_event([kinesis_record(KinesisRecordSpec(ride_event_bytes(1, 130, 205, 3.66), "1", "4960001", 1.0))])

    app.lambda_handler(event, lambda_context())

    # The batch's counts (powertools) and its model health (health_metrics.py, also published per service
    # alone, for the alarms).
    documents = emitted_metrics(capsys.readouterr().out)
    (counts,) = [document for document in documents if "RecordsScored" in document]
    (health,) = [
        document for document in documents if "OutOfRangeShare" in document or "ChampionScoringTime" in document
    ]
    for document in (counts, health):
        dimensions = document["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
        assert sorted(dimensions) == ["function_version", "model_version", "service"]
        # Outside Lambda there is no AWS_LAMBDA_FUNCTION_VERSION: the unpublished code's name stands in.
        assert (document["function_version"], document["model_version"]) == ("$LATEST", deployment.model.run_id)
    assert counts["RecordsScored"] == [1.0]
    assert health["_aws"]["CloudWatchMetrics"][0]["Dimensions"][1] == ["service"]


def test_a_check_event_counts_no_records(deploy_scorer, capsys):
    deploy_scorer()
    app.lambda_handler({"ride_scorer_check": {"Records": []}}, lambda_context())  # the cold start, model loaded
    capsys.readouterr()

    answer = app.lambda_handler({"ride_scorer_check": {"Records": []}}, lambda_context())

    assert answer["ride_scorer_check"]["records"] == 0
    assert emitted_metrics(capsys.readouterr().out) == []
