"""Training against the known figure, and what lands in the MLflow tracking store and registry.

Each test uses its own SQLite tracking store under tmp_path, so the project's mlflow.db is never touched.
"""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from mlflow.tracking import MlflowClient

from ride_scorer.core.model import load_model
from tests.shared.paths import DATA, ROOT
from training import tracking
from training.data import TARGET, read_trips, trip_features
from training.pipeline import build_pipeline
from training.train import train

TRAIN_MONTH = str(DATA / "green_tripdata_2021-01.parquet")
VALIDATE_MONTH = str(DATA / "green_tripdata_2021-02.parquet")


def store_in(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def head_of(month: str, rows: int, tmp_path: Path) -> str:
    path = tmp_path / f"{month}-head-{rows}.parquet"
    pq.write_table(pq.read_table(DATA / f"green_tripdata_{month}.parquet").slice(0, rows), path)
    return str(path)


@pytest.mark.slow
def test_default_linear_model_reproduces_the_known_rmse_and_is_tracked(tmp_path):
    result = train(TRAIN_MONTH, VALIDATE_MONTH, tracking_uri=store_in(tmp_path))

    assert result.rmse == pytest.approx(7.7587, abs=0.01)
    client = MlflowClient(store_in(tmp_path))
    run = client.get_run(result.run_id)
    assert run.data.metrics["rmse"] == pytest.approx(result.rmse)
    assert run.data.params["model"] == "linear"
    assert (run.data.params["train_rows"], run.data.params["validate_rows"]) == ("73908", "61921")
    (version,) = client.search_model_versions("name='ride-duration'")
    assert (str(version.version), version.run_id) == ("1", result.run_id)
    assert result.registered_version == "1"
    assert result.aliases == ("champion",)
    assert client.get_model_version("ride-duration", "1").tags["rmse"] == f"{result.rmse:.4f}"
    # Artifacts beside the temporary store, not in the project's mlartifacts.
    assert result.model_dir.is_relative_to(tmp_path / "mlartifacts")

    mlmodel = yaml.safe_load((result.model_dir / "MLmodel").read_text())
    assert mlmodel["run_id"] == result.run_id
    assert [field["name"] for field in yaml.safe_load(mlmodel["signature"]["inputs"])] == [
        "PULocationID",
        "DOLocationID",
        "trip_distance",
    ]
    assert (result.model_dir / "input_example.json").is_file()

    # The scorer's loader, without MLflow, predicts what the training pipeline predicts.
    validation = read_trips(VALIDATE_MONTH).head(500)
    features = trip_features(validation)
    train_trips = read_trips(TRAIN_MONTH)
    training_pipeline = build_pipeline("linear").fit(trip_features(train_trips), train_trips[TARGET])
    scorer_model = load_model(result.model_dir)
    assert scorer_model.version == result.run_id
    np.testing.assert_allclose(scorer_model.predict(features), training_pipeline.predict(features), rtol=1e-9)


def test_forest_training_says_how_far_it_got_and_logs_the_courses_hyper_parameters(tmp_path):
    """Forest training printed nothing for 85 s; its trees are grown in steps that change no prediction."""
    train_path, validate_path = head_of("2021-01", 2_000, tmp_path), head_of("2021-02", 500, tmp_path)
    command = [sys.executable, "-m", "training", "train", "--train", train_path, "--validate", validate_path]
    done = subprocess.run(
        [*command, "--model", "forest", "--no-register", "--tracking-uri", store_in(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    progress = re.findall(r"^INFO training\.train: forest: (\d+) of 100 trees in \d+ s$", done.stderr, re.MULTILINE)
    assert progress == [str(trees) for trees in range(10, 101, 10)]
    assert "INFO training.train: fitting the forest on 2000 rides: 100 trees" in done.stderr.splitlines()
    printed = dict(line.split("=", 1) for line in done.stdout.splitlines())
    params = MlflowClient(store_in(tmp_path)).get_run(printed["RUN_ID"]).data.params
    assert {key: params[key] for key in ("model", "max_depth", "n_estimators", "min_samples_leaf", "random_state")} == {
        "model": "forest",
        "max_depth": "20",
        "n_estimators": "100",
        "min_samples_leaf": "10",
        "random_state": "0",
    }
    assert "REGISTERED_MODEL" not in printed
    store = store_in(tmp_path)  # the registry too: MLflow's default registry is whichever store was set last
    assert MlflowClient(store, registry_uri=store).search_registered_models() == []
    train_trips, rides = read_trips(train_path), trip_features(read_trips(validate_path))
    in_one_fit = build_pipeline("forest").fit(trip_features(train_trips), train_trips[TARGET].to_numpy())
    assert load_model(Path(printed["MODEL_DIR"])).predict(rides) == in_one_fit.predict(rides).tolist()


def test_unknown_model_kind_is_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="unknown model kind 'boosted'"):
        train(TRAIN_MONTH, VALIDATE_MONTH, kind="boosted", tracking_uri=store_in(tmp_path))
    assert not (tmp_path / "mlflow.db").exists()


def test_tracking_defaults_to_the_projects_sqlite_file_unless_mlflow_tracking_uri_is_set(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    project = ROOT
    assert tracking.tracking_uri() == f"sqlite:///{project / 'mlflow.db'}"
    assert tracking.artifact_root(tracking.tracking_uri()) == (project / "mlartifacts").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking.tracking_uri() == "http://127.0.0.1:5000"
    assert tracking.artifact_root("http://127.0.0.1:5000") is None
    assert tracking.tracking_uri("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
