"""The model's shape: one sklearn pipeline from a list of feature dicts to minutes, the exact call the
scorer makes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

ModelKind = Literal["linear", "forest"]

# The course's forest: deep enough to learn zone pairs, leaves large enough not to memorise rides.
FOREST_PARAMS = {"max_depth": 20, "n_estimators": 100, "min_samples_leaf": 10, "random_state": 0}

# The format models are logged in. cloudpickle rather than MLflow 3's default skops: loading skops
# imports every scikit-learn estimator, which cost the Lambda about 0.5 s of cold start (bench/cold_start.py
# put the runtime at 0.53 of the mlflow.pyfunc path with skops, over its 0.50 target). Unpickling runs
# code, so publishing records a SHA-256 that the scorer verifies before it reads a byte of the model.
# `--serialization skops` still trains a skops model, and the scorer loads both.
SERIALIZATION_FORMATS = ("cloudpickle", "skops")
DEFAULT_SERIALIZATION = "cloudpickle"

# Types skops refuses by default that each shape needs, recorded in MLmodel so the scorer trusts exactly
# these and no more (the published digest pins MLmodel). The trees' node arrays are ours, trained here.
SKOPS_TRUSTED_TYPES: dict[str, list[str]] = {"linear": [], "forest": ["sklearn.tree._tree.Tree"]}


def build_pipeline(kind: ModelKind = "linear") -> Pipeline:
    """scikit-learn is imported here: the commands that only read the registry (`make promote`, `make
    models`) import this module for its names and never build a model."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    if kind == "linear":
        return make_pipeline(DictVectorizer(), LinearRegression())
    if kind == "forest":
        return make_pipeline(DictVectorizer(), RandomForestRegressor(**FOREST_PARAMS))
    raise ValueError(f"unknown model kind {kind!r}: use 'linear' or 'forest'")
