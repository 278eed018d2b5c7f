"""How a loaded model is called on a batch of rides: the same arithmetic as the pipeline's own `predict`, without
the per-call overheads that were most of a warm invocation's time.

Two overheads, both in scikit-learn's general-purpose code, not in the model:
- `DictVectorizer.transform` builds its sparse matrix in a Python loop over every key of every dict. Our
  rides have one known shape (one text feature, one number), so the same matrix (same columns, values,
  dtype, sorted indices) is built here from the fitted vocabulary with numpy.
- A forest's `predict` sends each tree through joblib, with scikit-learn's configuration and warning
  filters set up again per tree: about 0.3 ms per tree, 30 ms per invocation for the course's 100 trees,
  whatever the batch size. Here each tree's public `predict(X, check_input=False)` is summed in the same
  order into the same float64 array and divided the same way, which is what `ForestRegressor.predict` does.

Anything else (another pipeline shape, another estimator, a stand-in in the tests) is called through its own
`predict`. The fast path is taken only if it gives the pipeline's own predictions, as floats, on probe rides
when the model loads; the tests compare both on real rides.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ride_scorer.core.features import RideFeatures, ride_features

logger = logging.getLogger(__name__)

BatchPredict = Callable[[Sequence[RideFeatures]], list[float]]
TEXT_FEATURE, NUMBER_FEATURE = "PU_DO", "trip_distance"
# Known and unknown zone pairs, a zero and a long distance: the shapes the fast path must agree on.
PROBE_RIDES = [ride_features(236, 237, 1.5), ride_features(1, 1, 0.0), ride_features(99999, 7, 123.25)]


def batch_predictor(regressor: Any) -> BatchPredict:
    """The fastest call equal to `regressor.predict` on this model."""
    generic = _generic(regressor)
    fast = _vectorized_pipeline(regressor)
    if fast is None:
        return generic
    try:
        agrees = fast(PROBE_RIDES) == generic(PROBE_RIDES)
    except Exception as error:  # a model the fast path misreads must still be served, by its own predict
        logger.warning("scoring through the pipeline's own predict: the direct path failed: %s", error)
        return generic
    if not agrees:
        logger.warning("scoring through the pipeline's own predict: the direct path disagreed on probe rides")
        return generic
    return fast


def _generic(regressor: Any) -> BatchPredict:
    def predict(features: Sequence[RideFeatures]) -> list[float]:
        return np.asarray(regressor.predict(list(features)), dtype=np.float64).tolist()

    return predict


def _vectorized_pipeline(regressor: Any) -> BatchPredict | None:
    """`[DictVectorizer, estimator]` with a vocabulary of our two features, else None."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.pipeline import Pipeline

    if not isinstance(regressor, Pipeline) or len(regressor.steps) != 2:
        return None
    vectorizer, estimator = regressor.steps[0][1], regressor.steps[1][1]
    if type(vectorizer) is not DictVectorizer or not vectorizer.sparse:
        return None
    vocabulary: dict[str, int] = vectorizer.vocabulary_
    if NUMBER_FEATURE not in vocabulary or not all(
        name == NUMBER_FEATURE or name.startswith(TEXT_FEATURE + vectorizer.separator) for name in vocabulary
    ):
        return None
    matrix = _matrix_builder(vocabulary, vectorizer.separator, vectorizer.dtype)
    final: Callable[[Any], Any] = estimator.predict
    # Unpickling a forest imported its module; importing it for a linear model would cost the cold start.
    forests = sys.modules.get("sklearn.ensemble._forest")
    is_forest = forests is not None and type(estimator).predict is forests.ForestRegressor.predict
    if is_forest and estimator.n_outputs_ == 1:
        final = _forest_predict(estimator)

    def predict(features: Sequence[RideFeatures]) -> list[float]:
        return np.asarray(final(matrix(features)), dtype=np.float64).tolist()

    return predict


def _matrix_builder(vocabulary: dict[str, int], separator: str, dtype: Any) -> Callable[[Sequence[RideFeatures]], Any]:
    from scipy import sparse

    number_column = vocabulary[NUMBER_FEATURE]
    prefix = TEXT_FEATURE + separator
    width = len(vocabulary)
    # Keyed by the feature's value ("130_205" rather than "PU_DO=130_205"): one string less per ride.
    text_vocabulary = {name[len(prefix) :]: column for name, column in vocabulary.items() if name.startswith(prefix)}

    def matrix(features: Sequence[RideFeatures]) -> Any:
        if not features:
            raise ValueError("Sample sequence X is empty.")  # as DictVectorizer says it
        text_columns = np.array([text_vocabulary.get(ride["PU_DO"], -1) for ride in features], dtype=np.intc)
        numbers = np.array([ride["trip_distance"] for ride in features], dtype=dtype)
        known = text_columns >= 0
        indptr = np.zeros(len(features) + 1, dtype=np.intc)
        np.cumsum(known.astype(np.intc) + 1, out=indptr[1:])
        starts = indptr[:-1]
        indices = np.empty(indptr[-1], dtype=np.intc)
        values = np.empty(indptr[-1], dtype=dtype)
        # Each row holds the number's column and, for a known zone pair, the pair's column with 1: in
        # ascending column order, as DictVectorizer leaves its rows after sort_indices().
        text_first = known & (text_columns < number_column)
        number_slot = starts + text_first
        indices[number_slot], values[number_slot] = number_column, numbers
        text_slot = np.where(text_first, starts, starts + 1)[known]
        indices[text_slot], values[text_slot] = text_columns[known], 1
        return sparse.csr_array((values, indices, indptr), shape=(len(features), width), dtype=dtype)

    return matrix


def _forest_predict(forest: Any) -> Callable[[Any], Any]:
    trees = list(forest.estimators_)

    def predict(matrix: Any) -> Any:
        checked = forest._validate_X_predict(matrix)  # the forest's own input check: float32, finite, width
        total = np.zeros(checked.shape[0], dtype=np.float64)
        for tree in trees:
            total += tree.predict(checked, check_input=False)
        total /= len(trees)
        return total

    return predict
