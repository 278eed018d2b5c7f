"""The model's arithmetic in numpy: a batch of rides in, the pipeline's own predictions out, as the same floats.

The project's pipelines are `[DictVectorizer, estimator]` on two features: a zone pair (one-hot, text) and a
distance (a number). A row of the vectorizer's matrix holds at most two values, so the estimators reduce to:
- a linear model (`coef_`, `intercept_`): scikit-learn computes `X @ coef_ + intercept_` with SciPy's CSR
  product, which sums a row's terms from 0.0 in column order; here the same two terms are added in the same
  order, then the intercept;
- trees (DecisionTree, RandomForest, ExtraTrees regressors): the input is cast to float32 as scikit-learn's
  trees cast it, each ride goes left when its value is `<=` the node's float64 threshold, and a forest sums
  its trees' leaf values into a float64 array in tree order and divides by the number of trees, as
  `ForestRegressor.predict` does. All trees walk together, one level per step (`TreeEnsemble.predict`).

Training writes these arrays beside the MLflow model (`scorer/`, ride_scorer/core/scoring_form.py) and checks
them against the pipeline's own `predict` before anything is written; the scorer never unpickles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ride_scorer.core.features import RideFeatures

# Rows scored per walk of the trees: the (trees x rows) node arrays stay in the CPU's caches.
TREE_CHUNK_ROWS = 1024


class ModelInputError(ValueError):
    """A ride's values are ones the model cannot take (as scikit-learn's trees refuse a value past float32)."""


@dataclass(frozen=True)
class Vocabulary:
    """The vectorizer's columns: the zone pair's value -> its one-hot column, and the distance's column."""

    text_columns: dict[str, int]
    number_column: int

    def encode(self, features: Sequence[RideFeatures]) -> tuple[np.ndarray, np.ndarray]:
        """Each ride's zone-pair column (-1 for a pair the model never saw) and its distance as float64."""
        if not features:
            raise ModelInputError("Sample sequence X is empty.")  # as DictVectorizer says it
        lookup = self.text_columns.get
        columns = np.fromiter((lookup(ride["PU_DO"], -1) for ride in features), dtype=np.intp, count=len(features))
        distances = np.fromiter((ride["trip_distance"] for ride in features), dtype=np.float64, count=len(features))
        return columns, distances


@dataclass(frozen=True)
class LinearModel:
    """`DictVectorizer` + a linear model: per ride `((0.0 + first term) + second term) + intercept`, the terms in
    column order, as SciPy's CSR product and scikit-learn's `_decision_function` compute it."""

    vocabulary: Vocabulary
    coef: np.ndarray  # float64, one per column
    intercept: float

    def predict(self, features: Sequence[RideFeatures]) -> list[float]:
        columns, distances = self.vocabulary.encode(features)
        number_column = self.vocabulary.number_column
        known = columns >= 0
        with np.errstate(over="ignore"):  # a product past float64 is inf, refused as a prediction, as in scikit-learn
            number_terms = distances * self.coef[number_column]
        text_terms = np.where(known, self.coef[np.where(known, columns, 0)], 0.0)
        text_first = known & (columns < number_column)
        first = np.where(text_first, text_terms, number_terms)
        # An unknown pair's row has one term; adding 0.0 to (0.0 + term) changes no float.
        second = np.where(text_first, number_terms, text_terms)
        with np.errstate(over="ignore", invalid="ignore"):
            total = 0.0 + first
            total += second
            total += self.intercept
        return total.tolist()


@dataclass(frozen=True)
class TreeEnsemble:
    """Regression trees in one node table, renumbered so that a node's right child is its left child + 1.

    `split_column[n]` is the one-hot column a zone-pair node tests (a ride goes right when its pair is that
    column), or -2 for a distance node and a leaf; `threshold[n]` is a distance node's threshold, +inf
    elsewhere. A leaf is its own left child, so `depth` steps take every ride of every tree to its leaf:
    `node = left[node] + (pair == split_column[node] or distance > threshold[node])`.
    """

    vocabulary: Vocabulary
    roots: np.ndarray  # int64, each tree's root node
    left: np.ndarray  # int64
    split_column: np.ndarray  # int64
    threshold: np.ndarray  # float64
    leaf_value: np.ndarray  # float64
    depth: int
    average: bool  # a forest's mean; a single DecisionTree's value as it is
    _roots_column: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_roots_column", self.roots.reshape(-1, 1))

    def predict(self, features: Sequence[RideFeatures]) -> list[float]:
        columns, distances = self.vocabulary.encode(features)
        with np.errstate(over="ignore"):
            as_float32 = distances.astype(np.float32)
        if not np.isfinite(as_float32).all():
            raise ModelInputError("Input X contains infinity or a value too large for dtype('float32').")
        distances = as_float32.astype(np.float64)  # compared with float64 thresholds, as the trees' Cython does
        total = np.empty(len(features), dtype=np.float64)
        for start in range(0, len(features), TREE_CHUNK_ROWS):
            stop = start + TREE_CHUNK_ROWS
            total[start:stop] = self._predict_rows(columns[start:stop], distances[start:stop])
        return total.tolist()

    def _predict_rows(self, columns: np.ndarray, distances: np.ndarray) -> np.ndarray:
        left, split_column, threshold = self.left, self.split_column, self.threshold
        nodes = np.repeat(self._roots_column, len(columns), axis=1)
        for _ in range(self.depth):
            go_right = split_column[nodes] == columns
            go_right |= distances > threshold[nodes]
            nodes = left[nodes]
            nodes += go_right
        values = self.leaf_value[nodes]
        if not self.average:
            return values[0]
        total = np.zeros(len(columns), dtype=np.float64)
        for tree_values in values:  # tree by tree, as ForestRegressor.predict accumulates
            total += tree_values
        total /= len(values)
        return total
