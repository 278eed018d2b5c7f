"""How a trained pipeline is logged: one MLflow model that every consumer can use as it expects.

- The `sklearn` flavour, exactly as `mlflow.sklearn` writes it (the pipeline's pickle or skops file), for
  MLflow users.
- The scoring form (`scorer/`, training/scoring_form.py): the pipeline as arrays and JSON, checked to predict
  the same floats, which the Lambda, the batch job and the HTTP service load without scikit-learn or pickle
  (ride_scorer/core/model.py).
- The `python_function` flavour, for MLflow's own entry points (`mlflow.pyfunc.load_model`, `mlflow models
  predict|serve`, `spark_udf`): its `loader_module` is `ride_duration_pyfunc` (training/ride_duration_pyfunc.py,
  shipped in the model's `code/` folder), which takes the raw ride fields as a DataFrame.
- A signature on those raw fields and an input example of real rides, which MLflow checks through pyfunc
  when the model is logged.

`save_model` is the flavour function `mlflow.models.Model.log` calls (the way `mlflow.sklearn.log_model`
calls `mlflow.sklearn.save_model`), so logging, the logged-model record and registration stay MLflow's own.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow.sklearn
import pandas as pd
import sklearn
from mlflow import pyfunc
from mlflow.models import Model, infer_signature
from mlflow.models.model import ModelInfo

from training.check_set import write_check_set
from training.pipeline import SKOPS_TRUSTED_TYPES, ModelKind
from training.reference import write_reference
from training.ride_duration_pyfunc import RIDE_COLUMNS, RideDurationPyfunc
from training.scoring_form import write_scoring_form

LOADER_FILE = Path(__file__).with_name("ride_duration_pyfunc.py")
LOADER_MODULE = LOADER_FILE.stem
INPUT_EXAMPLE_ROWS = 5


def example_rides(trips: pd.DataFrame, rows: int = INPUT_EXAMPLE_ROWS) -> pd.DataFrame:
    """Real rides as a user sends them: integer location ids (as in the stream's JSON), distance in miles."""
    head = trips.head(rows)
    return pd.DataFrame(
        {
            "PULocationID": head["PULocationID"].astype("int64"),
            "DOLocationID": head["DOLocationID"].astype("int64"),
            "trip_distance": head["trip_distance"].astype("float64"),
        }
    ).reset_index(drop=True)[list(RIDE_COLUMNS)]


def log_model(
    pipeline: Any,
    example: pd.DataFrame,
    kind: ModelKind,
    serialization: str,
    name: str,
    registered_model_name: str | None,
    reference_trips: pd.DataFrame | None = None,
) -> ModelInfo:
    """Log `pipeline` in the active run (and register it under `registered_model_name` when given).
    `reference_trips` (the training rides) become the model's training reference (training/reference.py)."""
    with warnings.catch_warnings():
        # MLflow hints that integer columns cannot hold missing values: a ride without a location id is
        # not a ride (the scorer rejects it too), so the ids are integers, as in the stream's JSON.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column", category=UserWarning)
        signature = infer_signature(example, RideDurationPyfunc(pipeline).predict(example))
    with _without_bytecode():
        return Model.log(
            artifact_path=None,
            name=name,
            flavor=sys.modules[__name__],
            flavor_name=mlflow.sklearn.FLAVOR_NAME,
            registered_model_name=registered_model_name,
            sk_model=pipeline,
            reference_trips=reference_trips,
            signature=signature,
            input_example=example,
            # Pinned instead of inferred: inference re-imports the model in a subprocess, slow and no more exact.
            serialization_format=serialization,
            skops_trusted_types=(SKOPS_TRUSTED_TYPES[kind] or None) if serialization == "skops" else None,
            pip_requirements=[
                f"mlflow=={importlib.metadata.version('mlflow')}",
                f"scikit-learn=={sklearn.__version__}",
                _serializer_requirement(serialization),
            ],
        )


class _PinnedPickleNote(logging.Filter):
    """Drops mlflow.sklearn's warning that a pickle runs code when loaded. Every reader of these models
    unpickles only files whose SHA-256 matches the pin the deployment gives it (MODEL_SHA256, printed by
    publish), which is the caution the warning asks for; `--serialization skops` is there for the rest. The
    warning on every `make train` and `make run` only taught users to skip warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pickle or cloudpickle format requires exercising caution" not in record.getMessage()


def save_model(
    path: str, mlflow_model: Model, sk_model: Any, reference_trips: pd.DataFrame | None = None, **kwargs: Any
) -> None:
    """`mlflow.sklearn.save_model`, the python_function flavour pointed at the raw-ride loader, and the scoring
    form the scorer reads (refused, before MLflow logs anything, for a pipeline it cannot reproduce)."""
    note = _PinnedPickleNote()
    mlflow_logger = logging.getLogger("mlflow.sklearn")
    mlflow_logger.addFilter(note)
    try:
        mlflow.sklearn.save_model(sk_model, path, mlflow_model=mlflow_model, code_paths=[str(LOADER_FILE)], **kwargs)
    finally:
        mlflow_logger.removeFilter(note)
    python_function = mlflow_model.flavors[pyfunc.FLAVOR_NAME]
    python_function[pyfunc.MAIN] = LOADER_MODULE
    python_function.pop("predict_fn", None)  # mlflow.sklearn's own loader reads it; ours calls predict
    mlflow_model.save(os.path.join(path, "MLmodel"))
    write_scoring_form(sk_model, Path(path))
    if reference_trips is not None:
        write_reference(path, sk_model, reference_trips)
    write_check_set(Path(path))  # last: it scores with the model exactly as saved


def _serializer_requirement(serialization: str) -> str:
    name = "skops" if serialization == "skops" else "cloudpickle"
    return f"{name}=={importlib.metadata.version(name)}"


@contextmanager
def _without_bytecode() -> Iterator[None]:
    """MLflow checks the input example by loading the model through pyfunc, which imports the loader from the
    model's own `code/` folder: without this, a `__pycache__` would be logged with the model (and covered by
    its digest), for one Python version only."""
    before = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.dont_write_bytecode = before
