"""The rollout check set training stores with every model (`scorer/check_set.json`): real TLC rides across
distance bands and each kind of bad record, with the exact outcome the model gives each, covered by the pin.

Models come from the session's `registered` store (conftest.py), logged through training's own save_model.
"""

import base64
import json

import mlflow.sklearn
import pandas as pd
import pytest

from ride_scorer.core.features import ride_features
from ride_scorer.core.integrity import directory_manifest
from tests.shared.paths import DATA
from tools.local.ride_source import poison_records
from training.check_set import DISTANCE_BANDS, NOT_BASE64


@pytest.mark.parametrize("kind", ["linear", "forest"])
def test_the_check_set_holds_real_rides_every_poison_and_the_models_own_floats(registered, kind):
    model_dir = getattr(registered, kind).model_dir
    assert "scorer/check_set.json" in directory_manifest(model_dir)  # what publish's manifest, and so the pin, covers
    check_set = json.loads((model_dir / "scorer" / "check_set.json").read_text())
    assert check_set["model_version"] == getattr(registered, kind).run_id
    records = [(record["data"], record["expected"]) for record in check_set["records"]]

    rides = [(json.loads(base64.b64decode(data))["ride"], expected) for data, expected in records[:6]]
    month = pd.read_parquet(
        DATA / "green_tripdata_2023-01.parquet", columns=["PULocationID", "DOLocationID", "trip_distance"]
    )
    known = set(month.itertuples(index=False, name=None))
    assert all((r["PULocationID"], r["DOLocationID"], r["trip_distance"]) in known for r, _ in rides)
    assert [any(low <= r["trip_distance"] < high for r, _ in rides) for low, high in DISTANCE_BANDS] == [True] * 6
    pipeline = mlflow.sklearn.load_model(str(model_dir))
    features = [ride_features(r["PULocationID"], r["DOLocationID"], r["trip_distance"]) for r, _ in rides]
    assert [expected["prediction"]["ride_duration"] for _, expected in rides] == pipeline.predict(features).tolist()

    far = records[6][1]  # 1e300 miles: trees (float32) refuse it, a linear model predicts what it predicts
    if kind == "forest":
        assert far == {"reason_code": "input_out_of_range"}
    else:
        assert far["prediction"]["ride_duration"] == pipeline.predict([ride_features(74, 75, 1e300)])[0]
    poisons = poison_records(6)
    assert [expected for _, expected in records[7:]] == [
        *({"reason_code": poison.expected_code.value} for poison in poisons),
        {"reason_code": "invalid_base64"},
    ]
    assert [data for data, _ in records[7:]] == [
        *(base64.b64encode(poison.data).decode() for poison in poisons),
        NOT_BASE64,
    ]
