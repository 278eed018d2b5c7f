"""The model's shape: one sklearn pipeline from a list of feature dicts to minutes, the exact call the
scorer makes."""

from __future__ import annotations

from typing import Literal

from sklearn.ensemble import RandomForestRegressor
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline, make_pipeline

ModelKind = Literal["linear", "forest"]

# The course's forest: deep enough to learn zone pairs, leaves large enough not to memorise rides.
FOREST_PARAMS = {"max_depth": 20, "n_estimators": 100, "min_samples_leaf": 10, "random_state": 0}

# Types skops refuses by default that each shape needs, recorded in MLmodel so the scorer trusts exactly
# these and no more (the published digest pins MLmodel). The trees' node arrays are ours, trained here.
SKOPS_TRUSTED_TYPES: dict[str, list[str]] = {"linear": [], "forest": ["sklearn.tree._tree.Tree"]}


def build_pipeline(kind: ModelKind = "linear") -> Pipeline:
    if kind == "linear":
        return make_pipeline(DictVectorizer(), LinearRegression())
    if kind == "forest":
        return make_pipeline(DictVectorizer(), RandomForestRegressor(**FOREST_PARAMS))
    raise ValueError(f"unknown model kind {kind!r}: use 'linear' or 'forest'")
