"""Model health on moto's real server: the shadow challenger changes nothing the stream writes and its
metrics are the two models' own predictions compared; drift and domain signals count exactly the rides
that are out of the training domain."""

from __future__ import annotations

import json

import mlflow.sklearn
import numpy as np
import pytest

from lambda_function import app
from ride_scorer.core.model import load_model
from tests.shared.emf import emitted_metrics
from tests.shared.lambda_context import lambda_context
from tests.shared.paths import DATA
from tests.shared.trips import first_rides
from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record, ride_event_bytes
from tools.readers import read_dead_letters, read_stream
from training.data import read_trips
from training.publish import publish_model

RIDES = 300
# A distance the linear champion scores and the forest challenger refuses (past float32): its own rejection.
PAST_FLOAT32 = 1e39


@pytest.fixture
def trained_model_dir(referenced_model_dir):
    """The champion deploy_scorer publishes: the linear test model with its training reference."""
    return referenced_model_dir


def event_of(rides: list[tuple[int, int, float]], bad: int = 0) -> dict:
    """One record per ride, then `bad` records that are not rides."""
    payloads = [ride_event_bytes(i, pu, do, distance) for i, (pu, do, distance) in enumerate(rides)]
    payloads += [b"{not json"] * bad
    return kinesis_event(
        kinesis_record(KinesisRecordSpec(data, str(i), f"4960{i:020d}", 1764000000.0))
        for i, data in enumerate(payloads)
    )


def health_metrics(output: str) -> dict:
    (document,) = [document for document in emitted_metrics(output) if "OutOfRangeShare" in document]
    return document


def written(aws_env, deployment, seen: int) -> tuple[list[tuple[str, bytes]], list[dict]]:
    """The predictions written since the first `seen`, and the dead letters (removed from the queue)."""
    records = read_stream(aws_env.client("kinesis"), deployment.resources.predictions_stream)[seen:]
    letters = read_dead_letters(aws_env.client("sqs"), deployment.resources.dead_letter_queue_url, delete=True)
    return [(record.partition_key, record.data) for record in records], sorted(letters, key=json.dumps)


def test_the_shadow_challenger_writes_nothing_and_its_metrics_are_the_two_models_compared(
    deploy_scorer, aws_env, test_models, trained_model_dir, monkeypatch, capsys
):
    deployment = deploy_scorer()
    frame = first_rides(RIDES)
    rides = [(int(r.PULocationID), int(r.DOLocationID), float(r.trip_distance)) for r in frame.itertuples()]
    rides[7] = (rides[7][0], rides[7][1], PAST_FLOAT32)
    event = event_of(rides, bad=3)

    assert app.lambda_handler(event, lambda_context()) == {"batchItemFailures": []}
    champion_only = written(aws_env, deployment, 0)
    assert len(champion_only[0]) == RIDES and len(champion_only[1]) == 3

    forest = test_models("forest")
    challenger = publish_model(
        forest, deployment.resources.model_bucket, prefix="challengers", s3_client=aws_env.client("s3")
    )
    monkeypatch.setenv("CHALLENGER_MODEL_LOCATION", challenger.model_location)
    monkeypatch.setenv("CHALLENGER_MODEL_SHA256", challenger.sha256)
    app.reset()
    capsys.readouterr()
    assert app.lambda_handler(event, lambda_context()) == {"batchItemFailures": []}
    metrics = health_metrics(capsys.readouterr().out)
    assert written(aws_env, deployment, RIDES) == champion_only

    # The two models' own scikit-learn pipelines, as MLflow loads them.
    features = [{"PU_DO": f"{pu}_{do}", "trip_distance": distance} for pu, do, distance in rides]
    ours = mlflow.sklearn.load_model(str(trained_model_dir)).predict(features)
    compared = [i for i in range(RIDES) if i != 7]
    theirs = mlflow.sklearn.load_model(str(forest)).predict([features[i] for i in compared])
    differences = np.abs(theirs - ours[compared])
    assert metrics["ShadowMeanAbsDifference"] == pytest.approx(differences.mean(), rel=1e-12)
    assert metrics["ShadowP95AbsDifference"] == pytest.approx(np.quantile(differences, 0.95), rel=1e-12)
    assert metrics["ShadowDisagreementShare"] == (differences > 1).sum() / len(compared)
    assert metrics["ChallengerRejections"] == 1
    assert metrics["ChallengerFailures"] == 0
    assert metrics["challenger_version"] == load_model(forest).version
    assert metrics["ChampionScoringTime"] > 0 and metrics["ChallengerScoringTime"] > 0

    # A challenger that cannot be loaded (its pin is not its digest) leaves the batch as it was, and says so.
    monkeypatch.setenv("CHALLENGER_MODEL_SHA256", "0" * 64)
    app.reset()
    assert app.lambda_handler(event, lambda_context()) == {"batchItemFailures": []}
    metrics = health_metrics(capsys.readouterr().out)
    assert written(aws_env, deployment, 2 * RIDES) == champion_only
    assert metrics["ChallengerFailures"] == 1
    assert "ShadowMeanAbsDifference" not in metrics


def test_the_shares_of_unseen_pairs_out_of_range_distances_and_rejections_are_exact(
    deploy_scorer, trained_model_dir, capsys
):
    deploy_scorer()
    reference = load_model(trained_model_dir).reference
    assert reference is not None
    trips = read_trips(DATA / "green_tripdata_2021-01.parquet").head(40)
    seen = [(int(t.PULocationID), int(t.DOLocationID), float(t.trip_distance)) for t in trips.itertuples()]
    unseen = [(90000 + i, 90001, 2.0) for i in range(5)]  # zone ids no taxi zone has
    beyond = [(pu, do, reference.max_trip_distance + 1.0 + i) for i, (pu, do, _) in enumerate(seen[:3])]
    both = [(90000, 90002, reference.max_trip_distance * 2)]
    rides = seen + unseen + beyond + both  # 49 rides, and 4 records that are not
    app.lambda_handler(event_of(rides, bad=4), lambda_context())

    metrics = health_metrics(capsys.readouterr().out)
    assert metrics["UnseenPairShare"] == 6 / 49
    assert metrics["OutOfRangeShare"] == 4 / 49
    assert metrics["RejectionShare.invalid_json"] == 4 / 53
    assert metrics["RejectionShare.invalid_schema"] == 0
    histogram = metrics["PredictedMinutes"]
    assert sum(histogram["Counts"]) == histogram["Count"] == 49
    assert histogram["Sum"] == pytest.approx(
        sum(v * c for v, c in zip(histogram["Values"], histogram["Counts"], strict=True))
    )
