"""Write the scoring form of a trained pipeline (`scorer/form.json`, `scorer/form.npz`), and prove it exact first.

The scorer reads only this form (ride_scorer/core/scoring_form.py), never the pickle. So a form is written
only after it gives the pipeline's own `predict`, as floats (`==`), on real rides and on the edge cases:
every zone pair the model knows, unseen pairs, a zero distance, float32's limits, and each tree's
thresholds with the float32 values next to them. A pipeline it cannot reproduce is refused with one line
naming what is supported.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeRegressor

from ride_scorer.core.features import RideFeatures, features_from_columns, ride_features
from ride_scorer.core.model import FLOAT32_MAX
from ride_scorer.core.model_files import FORM_FOLDER, FORM_METADATA
from ride_scorer.core.predictors import ModelInputError
from ride_scorer.core.scoring_form import LINEAR, SUPPORTED, TREES, read_form, write_form

TEXT_FEATURE, NUMBER_FEATURE = "PU_DO", "trip_distance"
LINEAR_MODELS = (LinearRegression, Ridge, Lasso, ElasticNet)
FORESTS = (RandomForestRegressor, ExtraTreesRegressor)
CHECK_RIDES_FILE = Path(__file__).resolve().parent.parent / "data" / "green_tripdata_2023-01.parquet"
CHECK_RIDES = 5_000
LEAF = -1  # scikit-learn's TREE_LEAF
NO_COLUMN = -2  # a distance node's or a leaf's split_column in the form


class UnsupportedModelError(ValueError):
    """The pipeline has no exact scoring form; the message is one line naming what is supported."""


def write_scoring_form(pipeline: Any, model_dir: Path) -> None:
    """Export, check against the pipeline's own predict, and only then write `scorer/` into `model_dir`."""
    metadata, arrays = export(pipeline)
    with tempfile.TemporaryDirectory(prefix="ride-scorer-form-") as work:
        write_form(Path(work), metadata, arrays)
        verify_scoring_form(pipeline, Path(work))
        shutil.copytree(Path(work) / FORM_FOLDER, model_dir / FORM_FOLDER)


def check_before_publishing(model_dir: Path) -> None:
    """Publish's check on its staged copy of a logged model: the form must reproduce the model's own pipeline
    exactly. A model logged before the form existed gets it here, so republishing it is enough."""
    import mlflow.sklearn

    pipeline = mlflow.sklearn.load_model(str(model_dir))
    if not (model_dir / FORM_METADATA).exists():
        write_scoring_form(pipeline, model_dir)  # checks the form before it writes it
    else:
        verify_scoring_form(pipeline, model_dir)


def verify_scoring_form(pipeline: Any, model_dir: Path) -> None:
    """Refuse (UnsupportedModelError) unless the form in `model_dir` predicts exactly what `pipeline` does."""
    form = read_form(model_dir)
    for ride in _refused_past_float32(pipeline):
        try:
            form.predict([ride])
        except ModelInputError:
            continue
        raise _unsupported(f"the scoring form scores {ride}, which the pipeline refuses")
    rides = check_rides(pipeline)
    expected = np.asarray(pipeline.predict(rides), dtype=np.float64).tolist()
    actual = form.predict(rides)
    differ = [index for index, (a, b) in enumerate(zip(actual, expected, strict=True)) if not _same_float(a, b)]
    if differ:
        first = differ[0]
        raise _unsupported(
            f"the scoring form differs from the pipeline's predict on {len(differ)} of {len(rides)} check rides "
            f"(first {rides[first]}: {actual[first]!r} != {expected[first]!r})"
        )


def export(pipeline: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The form's metadata and arrays for `pipeline`, or UnsupportedModelError."""
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        raise _unsupported(f"cannot score {type(pipeline).__name__} without scikit-learn")
    vectorizer, estimator = pipeline.steps[0][1], pipeline.steps[1][1]
    if type(vectorizer) is not DictVectorizer or not vectorizer.sparse:
        raise _unsupported("the first step is not a sparse DictVectorizer")
    metadata, arrays = _vocabulary(vectorizer)
    metadata["estimator"] = type(estimator).__name__
    if type(estimator) in LINEAR_MODELS and np.ndim(estimator.coef_) == 1 and np.ndim(estimator.intercept_) == 0:
        arrays["coef"] = np.asarray(estimator.coef_, dtype=np.float64)
        arrays["intercept"] = np.asarray(estimator.intercept_, dtype=np.float64)
        return {**metadata, "kind": LINEAR}, arrays
    if type(estimator) is DecisionTreeRegressor and estimator.n_outputs_ == 1:
        return _trees([estimator.tree_], False, metadata, arrays)
    if type(estimator) in FORESTS and estimator.n_outputs_ == 1:
        return _trees([tree.tree_ for tree in estimator.estimators_], True, metadata, arrays)
    raise _unsupported(f"cannot score {type(estimator).__name__} without scikit-learn")


def check_rides(pipeline: Any) -> list[RideFeatures]:
    """Real rides, every known zone pair, unseen pairs, zero and float32's largest distances, and for trees
    each distance threshold with the float32 values on both sides of it."""
    vectorizer, estimator = pipeline.steps[0][1], pipeline.steps[1][1]
    prefix = TEXT_FEATURE + vectorizer.separator
    pairs = [name[len(prefix) :] for name in vectorizer.feature_names_ if name.startswith(prefix)]
    rides = list(_real_rides())
    rides += [{"PU_DO": pair, "trip_distance": 1.5 + index % 7} for index, pair in enumerate(pairs)]
    edges = [0.0, -0.0, 1e-300, 5e-324, 1e-45, 1.0, 1e6, 3.4e38, FLOAT32_MAX, float(np.nextafter(FLOAT32_MAX, 0))]
    for pair in [*pairs[:3], "99999_99999", "0_0", "_"]:
        rides += [{"PU_DO": pair, "trip_distance": distance} for distance in edges]
    for threshold in _distance_thresholds(pipeline)[:20_000]:
        below = float(np.nextafter(np.float32(threshold), np.float32(-np.inf)))
        above = float(np.nextafter(np.float32(threshold), np.float32(np.inf)))
        for distance in (threshold, float(np.float32(threshold)), below, above):
            if 0 <= distance <= FLOAT32_MAX:
                rides.append({"PU_DO": pairs[0] if pairs else "1_1", "trip_distance": distance})
    if hasattr(estimator, "coef_"):
        rides += [ride_features(1, 2, 1e300), ride_features(236, 237, 1.7976931348623157e308)]
    return rides


def _vocabulary(vectorizer: DictVectorizer) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    vocabulary: dict[str, int] = vectorizer.vocabulary_
    prefix = TEXT_FEATURE + vectorizer.separator
    if NUMBER_FEATURE not in vocabulary or not all(
        name == NUMBER_FEATURE or name.startswith(prefix) for name in vocabulary
    ):
        raise _unsupported("the vectorizer's features are not PU_DO and trip_distance")
    if np.dtype(vectorizer.dtype) != np.float64:
        raise _unsupported(f"the vectorizer's dtype is {vectorizer.dtype}, not float64")
    text = sorted((name[len(prefix) :], column) for name, column in vocabulary.items() if name != NUMBER_FEATURE)
    arrays = {
        "text_values": np.array([value for value, _ in text], dtype=str),
        "text_columns": np.array([column for _, column in text], dtype=np.int64),
    }
    if arrays["text_values"].dtype.kind != "U":  # an empty vocabulary of pairs makes a float array
        arrays["text_values"] = arrays["text_values"].astype("<U1")
    return {"columns": len(vocabulary), "number_column": int(vocabulary[NUMBER_FEATURE])}, arrays


def _trees(
    trees: Sequence[Any], average: bool, metadata: dict[str, Any], arrays: dict[str, np.ndarray]
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """One node table for all trees, renumbered so that a node's right child is its left child + 1."""
    number_column = metadata["number_column"]
    roots, left, split_column, threshold, leaf_value = [], [], [], [], []
    depth = 0

    def new_node() -> int:
        left.append(0)
        split_column.append(NO_COLUMN)
        threshold.append(math.inf)
        leaf_value.append(0.0)
        return len(left) - 1

    for tree in trees:
        if tree.n_outputs != 1 or tree.value.shape[1:] != (1, 1):
            raise _unsupported("a tree has more than one output")
        root = new_node()
        roots.append(root)
        stack = [(0, root, 0)]  # (node in the tree, node in the form, depth)
        while stack:
            node, placed, level = stack.pop()
            depth = max(depth, level)
            child_left, child_right = int(tree.children_left[node]), int(tree.children_right[node])
            if child_left == LEAF:
                left[placed] = placed
                leaf_value[placed] = float(tree.value[node, 0, 0])
                continue
            column, cut = int(tree.feature[node]), float(tree.threshold[node])
            if column == number_column:
                threshold[placed] = cut
            elif 0 <= cut < 1:  # a one-hot column: 0 goes left, 1 goes right
                split_column[placed] = column
            else:
                raise _unsupported(f"a zone-pair split at {cut} is not between 0 and 1")
            first = new_node()
            left[placed] = first
            stack += [(child_left, first, level + 1), (child_right, new_node(), level + 1)]
    new_node()  # never reached: it makes every left[n] + 1 a node (its own left is the first root)
    arrays.update(
        roots=np.array(roots, dtype=np.int64),
        left=np.array(left, dtype=np.int64),
        split_column=np.array(split_column, dtype=np.int64),
        threshold=np.array(threshold, dtype=np.float64),
        leaf_value=np.array(leaf_value, dtype=np.float64),
    )
    return {**metadata, "kind": TREES, "depth": depth, "average": average}, arrays


def _distance_thresholds(pipeline: Any) -> list[float]:
    estimator = pipeline.steps[1][1]
    number_column = pipeline.steps[0][1].vocabulary_[NUMBER_FEATURE]
    trees = [estimator] if hasattr(estimator, "tree_") else list(getattr(estimator, "estimators_", []))
    cuts = {float(cut) for tree in trees for cut in tree.tree_.threshold[tree.tree_.feature == number_column]}
    return sorted(cuts)


def _refused_past_float32(pipeline: Any) -> list[RideFeatures]:
    """Rides the pipeline raises on (a tree's float32 cast); the form must refuse them too."""
    if not hasattr(pipeline.steps[1][1], "coef_"):
        return [ride_features(236, 237, 3.5e38), ride_features(1, 1, 1e300)]
    return []


@cache
def _real_rides() -> tuple[RideFeatures, ...]:
    if not CHECK_RIDES_FILE.exists():
        return ()
    table = pq.read_table(CHECK_RIDES_FILE, columns=["PULocationID", "DOLocationID", "trip_distance"])
    columns = table.slice(0, CHECK_RIDES).to_pydict()
    rides = features_from_columns(columns["PULocationID"], columns["DOLocationID"], columns["trip_distance"])
    return tuple(ride for ride in rides if math.isfinite(ride["trip_distance"]) and ride["trip_distance"] >= 0)


def _same_float(a: float, b: float) -> bool:
    """Equal as floats, the sign of zero included (NaN equal to NaN: the scorer refuses both the same way)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _unsupported(what: str) -> UnsupportedModelError:
    return UnsupportedModelError(f"{what}; supported: {SUPPORTED}")
