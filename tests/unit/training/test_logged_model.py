"""The logged model works in every MLflow entry point on raw ride fields, gives the scorer's floats, and the
lean loader (no MLflow) still reads its sklearn flavour, fast path included.

Models come from the session's `registered` store (the root conftest.py): linear is version 1, forest version 2.
"""

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from mlflow.models import Model

from ride_scorer.core.integrity import directory_digest
from ride_scorer.core.model import load_model
from ride_scorer.core.scoring import Prediction, score_documents
from tests.shared.paths import DATA, ROOT
from training.data import read_trips
from training.logged_model import save_model
from training.pipeline import build_pipeline
from training.ride_duration_pyfunc import RIDE_COLUMNS

RIDES = 3_000


@pytest.fixture(scope="module")
def real_rides() -> pd.DataFrame:
    """Rides of a month no model was trained on, as a raw TLC file holds them (int32 ids)."""
    return pq.read_table(DATA / "green_tripdata_2023-02.parquet", columns=list(RIDE_COLUMNS)).to_pandas().head(RIDES)


def scorer_floats(model_dir: Path, rides: pd.DataFrame) -> list[float]:
    """What the Lambda, batch job and HTTP service predict: the lean loader, pinned, and the core's scoring."""
    model = load_model(model_dir, expected_sha256=directory_digest(model_dir))
    documents = [{"ride": ride, "ride_id": index} for index, ride in enumerate(rides.to_dict("records"))]
    outcomes = score_documents(model, documents)
    assert all(type(outcome) is Prediction for outcome in outcomes)
    return [outcome.ride_duration for outcome in outcomes]


def test_mlmodel_keeps_the_sklearn_flavour_and_points_pyfunc_at_the_raw_ride_loader(registered):
    model_dir = registered.linear.model_dir
    mlmodel = yaml.safe_load((model_dir / "MLmodel").read_text())

    assert mlmodel["flavors"]["sklearn"]["pickled_model"] == "model.pkl"
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "cloudpickle"
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "ride_duration_pyfunc"
    assert mlmodel["flavors"]["python_function"]["code"] == "code"
    shipped = model_dir / "code" / "ride_duration_pyfunc.py"
    assert shipped.read_bytes() == (ROOT / "training" / "ride_duration_pyfunc.py").read_bytes()
    assert not list(model_dir.rglob("__pycache__"))
    inputs = json.loads(mlmodel["signature"]["inputs"])
    assert [(field["name"], field["type"]) for field in inputs] == [
        ("PULocationID", "long"),
        ("DOLocationID", "long"),
        ("trip_distance", "double"),
    ]
    example = json.loads((model_dir / "input_example.json").read_text())
    first_rides = read_trips(registered.validate_path).head(5)
    assert example["columns"] == list(RIDE_COLUMNS)
    assert example["data"] == [
        [int(ride.PULocationID), int(ride.DOLocationID), ride.trip_distance] for ride in first_rides.itertuples()
    ]


def test_the_scorer_reads_its_scoring_form_beside_the_flavours(registered):
    for result, form in ((registered.linear, "LinearModel"), (registered.forest, "TreeEnsemble")):
        model = load_model(result.model_dir, expected_sha256=directory_digest(result.model_dir))
        assert model.version == result.run_id
        assert model.metadata.kind == form


@pytest.mark.parametrize("kind", ["linear", "forest"])
def test_pyfunc_on_raw_rides_gives_the_scorers_floats(registered, real_rides, kind):
    result = getattr(registered, kind)
    mlflow.set_tracking_uri(registered.store)

    predictions = mlflow.pyfunc.load_model(f"runs:/{result.run_id}/model").predict(real_rides)

    assert predictions.tolist() == scorer_floats(result.model_dir, real_rides)


def test_registry_references_load_through_pyfunc(registered, real_rides):
    mlflow.set_tracking_uri(registered.store)
    mlflow.set_registry_uri(registered.store)
    rides = real_rides.head(200)

    champion = mlflow.pyfunc.load_model("models:/ride-duration@champion").predict(rides)
    version_2 = mlflow.pyfunc.load_model("models:/ride-duration/2").predict(rides)

    assert champion.tolist() == scorer_floats(registered.linear.model_dir, rides)
    assert version_2.tolist() == scorer_floats(registered.forest.model_dir, rides)


def test_pyfunc_loads_where_the_project_is_not_importable(registered, real_rides, tmp_path):
    """The loader ships in the model: with `training` and `ride_scorer` unimportable, pyfunc still scores."""
    rides = real_rides.head(50)
    script = (
        "import sys, json\n"
        "for name in ('training', 'ride_scorer', 'tests'):\n"
        "    sys.modules[name] = None  # any import of the project now fails\n"
        "import mlflow.pyfunc, pandas as pd\n"
        "model = mlflow.pyfunc.load_model(sys.argv[1])\n"
        "print(json.dumps(model.predict(pd.read_parquet(sys.argv[2])).tolist()))\n"
    )
    rides_file = tmp_path / "rides.parquet"  # JSON would round the distances
    rides.to_parquet(rides_file)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(registered.linear.model_dir), str(rides_file)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == scorer_floats(registered.linear.model_dir, rides)


def test_mlflow_models_predict_cli_scores_raw_rides(registered, real_rides, tmp_path):
    rides = real_rides.head(20)
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"dataframe_records": rides.to_dict("records")}))
    output = tmp_path / "predictions.json"
    started = time.monotonic()
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "models",
            "predict",
            "--model-uri",
            str(registered.linear.model_dir),
            "--input-path",
            str(request),
            "--content-type",
            "json",
            "--output-path",
            str(output),
            "--env-manager",
            "local",
        ],
        cwd=tmp_path,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(f"mlflow models predict took {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, done.stderr
    assert json.loads(output.read_text()) == {"predictions": scorer_floats(registered.linear.model_dir, rides)}


def test_pyfunc_refuses_a_ride_the_scorer_rejects(registered):
    model = mlflow.pyfunc.load_model(str(registered.linear.model_dir))
    rides = pd.DataFrame({"PULocationID": [130, 130], "DOLocationID": [205, 205], "trip_distance": [3.66, -1.0]})

    with pytest.raises(
        ValueError,
        match=r"^1 of 2 rows cannot be scored, so none was: "
        r"row 1: trip_distance must be a finite number >= 0, got -1\.0$",
    ):
        model.predict(rides)


def test_saving_a_pickled_model_leaves_out_mlflows_pickle_warning(tmp_path, caplog):
    """The digest pin is the caution that warning asks for; a user of `make train` sees no warning to ignore."""
    pipeline = build_pipeline("linear").fit(
        [{"PU_DO": "1_2", "trip_distance": 1.0}, {"PU_DO": "3_4", "trip_distance": 4.0}], [5.0, 12.0]
    )

    with caplog.at_level(logging.WARNING, logger="mlflow"):
        save_model(str(tmp_path / "model"), Model(), pipeline, serialization_format="cloudpickle")

    assert (tmp_path / "model" / "MLmodel").exists()
    assert [record.getMessage() for record in caplog.records if "pickle" in record.getMessage()] == []
    assert logging.getLogger("mlflow.sklearn").filters == []
