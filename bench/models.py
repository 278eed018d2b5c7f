"""The model every bench script scores with: trained on real TLC rides and saved by training's own
`save_model`, so the folder is what `make train` logs (MLflow's flavours, the scoring form, the check set).

Importing it changes nothing in the process (no environment, no handler import): the cold-start bench's
children must start as a deployment would.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train_model(kind: str, rows: int | None, directory: Path) -> Path:
    """`kind` trained on the first `rows` rides of 2021-01 (None: all of them), saved in `directory`."""
    import pandas as pd
    from mlflow.models import Model

    from ride_scorer.core.features import features_from_columns
    from training.logged_model import save_model
    from training.pipeline import DEFAULT_SERIALIZATION, build_pipeline

    frame = pd.read_parquet(ROOT / "data" / "green_tripdata_2021-01.parquet")
    frame = frame if rows is None else frame.head(rows)
    features = features_from_columns(frame.PULocationID, frame.DOLocationID, frame.trip_distance)
    pipeline = build_pipeline(kind).fit(features, frame.duration)
    save_model(str(directory), Model(run_id=f"bench-{kind}"), pipeline, serialization_format=DEFAULT_SERIALIZATION)
    return directory
