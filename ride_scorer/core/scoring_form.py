"""The scoring form: the model as plain arrays and JSON, in the published model's `scorer/` folder.

Training writes it beside MLflow's flavours (training/scoring_form.py) and the model's digest covers it, so
the scorer needs neither scikit-learn nor a pickle: `form.json` says what the model is, `form.npz` holds
its arrays, read with `allow_pickle=False` (an object array cannot load). Nothing in it is trusted beyond
what the digest pins: every array's dtype and shape and every index are checked before a ride is scored.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ride_scorer.core.model_files import FORM_ARRAYS, FORM_FOLDER, FORM_METADATA
from ride_scorer.core.predictors import LinearModel, TreeEnsemble, Vocabulary

FORMAT = "ride-scorer-scoring-form"
FORMAT_VERSION = 1
LINEAR, TREES = "linear", "trees"
# One line naming what can be scored without scikit-learn (publish and training refuse anything else with it).
SUPPORTED = (
    "a Pipeline of DictVectorizer (sparse, features PU_DO and trip_distance) and one single-output "
    "LinearRegression, Ridge, Lasso or ElasticNet (coef_/intercept_), or DecisionTreeRegressor, "
    "RandomForestRegressor or ExtraTreesRegressor"
)
# Deeper than any tree trained here by far; bounds the walk of a form that claims more.
MAX_DEPTH = 512

ScoringModel = LinearModel | TreeEnsemble


class ScoringFormError(ValueError):
    """The form's files are missing or not a form this scorer reads; the message names the file."""


def write_form(directory: Path, metadata: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Write `scorer/form.json` and `scorer/form.npz` under the model `directory`."""
    folder = directory / FORM_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, **metadata}
    (directory / FORM_METADATA).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    with (directory / FORM_ARRAYS).open("wb") as handle:
        np.savez(handle, allow_pickle=False, **arrays)


def read_form(directory: Path) -> ScoringModel:
    """The model in `directory`'s scoring form, checked to be one this scorer can walk safely."""
    metadata_path, arrays_path = directory / FORM_METADATA, directory / FORM_ARRAYS
    try:
        document = json.loads(metadata_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ScoringFormError(f"cannot read {metadata_path}: {error}") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ScoringFormError(f"{metadata_path} is not a {FORMAT} document")
    if document.get("format_version") != FORMAT_VERSION:
        raise ScoringFormError(
            f"{metadata_path} has format_version {document.get('format_version')!r}; this scorer reads "
            f"{FORMAT_VERSION}: republish the model with this version's training"
        )
    try:
        with np.load(arrays_path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ScoringFormError(f"cannot read {arrays_path}: {error}") from error
    try:
        return _build(document, arrays)
    except (KeyError, TypeError, ValueError) as error:
        raise ScoringFormError(f"{arrays_path} is not a valid {document.get('kind')!r} form: {error}") from error


def _build(document: dict[str, Any], arrays: dict[str, np.ndarray]) -> ScoringModel:
    width = _integer(document["columns"], "columns")
    vocabulary = _vocabulary(arrays, _integer(document["number_column"], "number_column"), width)
    kind = document["kind"]
    if kind == LINEAR:
        coef = _array(arrays, "coef", np.float64, (width,))
        intercept = _array(arrays, "intercept", np.float64, ())
        return LinearModel(vocabulary, coef, float(intercept))
    if kind == TREES:
        left = _array(arrays, "left", np.int64, None)
        nodes = len(left)
        roots = _array(arrays, "roots", np.int64, None)
        split_column = _array(arrays, "split_column", np.int64, (nodes,))
        threshold = _array(arrays, "threshold", np.float64, (nodes,))
        leaf_value = _array(arrays, "leaf_value", np.float64, (nodes,))
        # left[n] + 1 must be a node too, and a split column a column or -2 (no column): no index leaves the arrays.
        if nodes == 0 or len(roots) == 0 or not _within(roots, nodes) or not _within(left, nodes - 1):
            raise ValueError("a root or child is not a node")
        if not (((split_column >= 0) & (split_column < width)) | (split_column == -2)).all():
            raise ValueError("a split names no column")
        if np.isnan(threshold).any():
            raise ValueError("a threshold is NaN")
        depth = _integer(document["depth"], "depth")
        if depth > MAX_DEPTH:
            raise ValueError(f"depth {depth} is over {MAX_DEPTH}")
        average = document["average"]
        if not isinstance(average, bool):
            raise TypeError("average is not true or false")
        return TreeEnsemble(vocabulary, roots, left, split_column, threshold, leaf_value, depth, average)
    raise ValueError(f"unknown kind {kind!r}")


def _vocabulary(arrays: dict[str, np.ndarray], number_column: int, width: int) -> Vocabulary:
    values = arrays["text_values"]
    if values.dtype.kind != "U" or values.ndim != 1:
        raise TypeError("text_values is not a 1-D array of text")
    columns = _array(arrays, "text_columns", np.int64, values.shape)
    if not _within(columns, width) or not 0 <= number_column < width:
        raise ValueError("a column is out of range")
    return Vocabulary(dict(zip(values.tolist(), columns.tolist(), strict=True)), number_column)


def _array(arrays: dict[str, np.ndarray], name: str, dtype: type, shape: tuple[int, ...] | None) -> np.ndarray:
    array = arrays[name]
    if array.dtype != dtype or (shape is None and array.ndim != 1) or (shape is not None and array.shape != shape):
        raise TypeError(f"{name} is {array.dtype}{list(array.shape)}, not {np.dtype(dtype)}{list(shape or ['n'])}")
    return array


def _within(indices: np.ndarray, size: int) -> bool:
    return bool(((indices >= 0) & (indices < size)).all())


def _integer(value: Any, name: str) -> int:
    if type(value) is not int or value < 0:
        raise TypeError(f"{name} is not a non-negative integer")
    return value
