"""The training reference (`scorer/reference.json`): what the model saw in training, written into the model
folder when the model is logged, so the published model's digest covers it.

The scorer reads part of it per batch (ride_scorer/core/reference.py: the distance range, the zone pairs the
vectorizer knows, the training predictions' quantiles); `make drift-report` (training/drift_report.py) reads
the rest: each feature's distribution and the predictions', to compare a scored month with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ride_scorer.core.model_files import REFERENCE_FILE
from ride_scorer.core.reference import QUANTILE_POINTS, REFERENCE_FORMAT
from training.data import DISTANCE, DROPOFF, PICKUP, trip_features

# The numeric distributions for the drift report: 1,001 quantiles (every 0.1%) stand in for the rides.
SAMPLE_QUANTILES = 1001
PAIR_PREFIX = "PU_DO="


def numeric_summary(values: np.ndarray) -> dict[str, Any]:
    values = np.asarray(values, dtype=np.float64)
    return {
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "quantiles": np.quantile(values, np.linspace(0, 1, QUANTILE_POINTS)).tolist(),
        "sample": np.quantile(values, np.linspace(0, 1, SAMPLE_QUANTILES)).tolist(),
    }


def categorical_summary(values: pd.Series) -> dict[str, Any]:
    counts = values.astype(str).value_counts()
    return {"counts": {str(name): int(count) for name, count in sorted(counts.items())}}


def seen_pairs(pipeline: Any, trips: pd.DataFrame) -> list[str]:
    """The pairs in the vectorizer's vocabulary (what the model can tell apart), else those of the rides."""
    vectorizer = pipeline.steps[0][1] if hasattr(pipeline, "steps") else None
    vocabulary = getattr(vectorizer, "vocabulary_", None)
    if isinstance(vocabulary, dict):
        return sorted(name[len(PAIR_PREFIX) :] for name in vocabulary if name.startswith(PAIR_PREFIX))
    return sorted({feature["PU_DO"] for feature in trip_features(trips)})


def build_reference(pipeline: Any, trips: pd.DataFrame) -> dict[str, Any]:
    """The reference document of `pipeline` trained on `trips` (training/data.py's frame)."""
    predictions = np.asarray(pipeline.predict(trip_features(trips)), dtype=np.float64)
    distance = numeric_summary(trips[DISTANCE].to_numpy())
    return {
        "format": REFERENCE_FORMAT,
        "rows": len(trips),
        "trip_distance": {"min": distance["min"], "max": distance["max"]},
        "seen_pairs": seen_pairs(pipeline, trips),
        "prediction": numeric_summary(predictions),
        "features": {
            PICKUP: categorical_summary(trips[PICKUP]),
            DROPOFF: categorical_summary(trips[DROPOFF]),
            DISTANCE: distance,
        },
    }


def write_reference(model_directory: str | Path, pipeline: Any, trips: pd.DataFrame) -> Path:
    path = Path(model_directory) / REFERENCE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_reference(pipeline, trips), sort_keys=True), encoding="utf-8")
    return path
