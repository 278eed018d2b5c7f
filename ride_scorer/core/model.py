"""Load a published model without MLflow, scikit-learn or pickle, and score lists of feature dicts.

A published model is MLflow's model directory (the `MLmodel` file with the run id, MLflow's own flavours)
plus the scoring form training writes beside them (`scorer/`: arrays and JSON, ride_scorer/core/scoring_form.py),
all pinned by one digest. The scorer reads `MLmodel` for the version and the form to score; it never reads
the sklearn flavour's pickle, so no byte from S3 becomes code, and the images carry no scikit-learn.
Lifecycle as in MLServer's runtimes: `load()` once per container, then `predict()` per batch.
"""

from __future__ import annotations

import importlib
import logging
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ride_scorer.core.features import RideFeatures, ride_features
from ride_scorer.core.integrity import (
    manifest_digest,
    verify_directory,
)
from ride_scorer.core.model_files import FORM_ARRAYS, FORM_METADATA, MLMODEL
from ride_scorer.core.reference import TrainingReference, read_reference

logger = logging.getLogger(__name__)

# What a model raises when a ride's values are ones it cannot take; anything else (MemoryError, a bug) is
# not about the ride. The load-time range probe and scoring's bisection both go by this.
MODEL_INPUT_ERRORS = (ValueError, TypeError, ArithmeticError)
FLOAT32_MAX = 3.4028234663852886e38
PAST_FLOAT32 = 3.5e38
# An ordinary ride (1.5 miles between two Manhattan zones) every model must be able to score.
REFERENCE_RIDE = ride_features(236, 237, 1.5)
REPUBLISH = (
    "it was published before ride-scorer scored without scikit-learn: republish it with this version "
    "(python -m training publish) and pin the digest that prints"
)


class ModelLoadError(RuntimeError):
    """The model cannot be loaded: the invocation fails so Lambda's retry settings apply."""


class Regressor(Protocol):
    def predict(self, features: Sequence[RideFeatures]) -> Any: ...


@dataclass(frozen=True)
class ModelMetadata:
    version: str
    digest: str | None
    # What scores: the scoring form's class ("LinearModel" or "TreeEnsemble").
    kind: str = ""


@dataclass(frozen=True)
class RideDurationModel:
    """A loaded model: what it is (version) and how to score."""

    regressor: Regressor
    metadata: ModelMetadata
    load_seconds: float
    # The largest trip_distance the model accepts: FLOAT32_MAX for models that cast to float32 (scikit-learn's
    # trees), else unbounded. Found at load by `accepted_input_limit`; scoring refuses rides beyond it.
    max_trip_distance: float = math.inf
    # What training saw (scorer/reference.json, covered by the digest): the drift and domain signals' baseline.
    reference: TrainingReference | None = field(default=None, repr=False)

    @property
    def version(self) -> str:
        return self.metadata.version

    def predict(self, features: Sequence[RideFeatures]) -> list[float]:
        """One vectorized call for the whole batch; never call it per record."""
        if not features:
            return []
        return [float(value) for value in self.regressor.predict(features)]


def read_version(directory: Path) -> str:
    """The model's version: the MLflow run id in `MLmodel` (its model_uuid when saved outside a run)."""
    import yaml  # imported with numpy, overlapping the download (import_model_libraries), not with the handler

    mlmodel_path = directory / MLMODEL
    try:
        document = yaml.safe_load(mlmodel_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ModelLoadError(f"cannot read {mlmodel_path}: {error}") from error
    if not isinstance(document, dict):
        raise ModelLoadError(f"{mlmodel_path} is not an MLmodel document")
    version = document.get("run_id") or document.get("model_uuid")
    if not version:
        raise ModelLoadError(f"{mlmodel_path} records neither run_id nor model_uuid: the model has no version")
    if not document.get("run_id"):
        logger.warning("model has no run_id (saved outside an MLflow run); using model_uuid %s as version", version)
    return str(version)


def load_model(directory: Path, expected_sha256: str | None = None) -> RideDurationModel:
    """Verify, then read the scoring form: with `expected_sha256` (the deployment's MODEL_SHA256), a model
    whose files do not have that digest is refused before any of them is read.

    `expected_sha256=None` loads the model unverified, with a warning. Only a caller that made the model
    itself or whose user opted out (ALLOW_UNPINNED_MODEL) passes None: the settings of every mode refuse a
    missing MODEL_SHA256 otherwise. A digest file in the folder is never taken as the pin.
    """
    started = time.perf_counter()
    manifest = verify_directory(directory, expected_sha256)
    if expected_sha256 is None:
        logger.warning(
            "loading the model at %s without a pinned digest (MODEL_SHA256): its files were not verified; "
            "their digest is %s",
            directory,
            manifest_digest(manifest),
        )
    if MLMODEL not in manifest:
        raise ModelLoadError(f"model at {directory} has no file {MLMODEL!r}")
    version = read_version(directory)
    from ride_scorer.core.scoring_form import ScoringFormError, read_form

    for name in (FORM_METADATA, FORM_ARRAYS):
        if name not in manifest:
            raise ModelLoadError(f"model at {directory} has no scoring form ({name}): {REPUBLISH}")
    try:
        form = read_form(directory)
    except ScoringFormError as error:
        raise ModelLoadError(str(error)) from error
    _check_scores_a_ride(form, directory)
    # The digest recorded (logged by the Lambda, served by /health) is the verified pin, or None.
    metadata = ModelMetadata(version, expected_sha256, type(form).__name__)
    reference = read_reference(directory)
    return RideDurationModel(form, metadata, time.perf_counter() - started, accepted_input_limit(form), reference)


def _check_scores_a_ride(regressor: Regressor, directory: Path) -> None:
    """A model that cannot score an ordinary ride is refused at load. Scoring isolates a ride on which the
    model raises and rejects it alone; this check is what lets it tell such a ride from a broken model,
    which would otherwise reject every ride instead of failing the invocation."""
    try:
        values = regressor.predict([REFERENCE_RIDE])
        if len(values) != 1:
            raise ValueError(f"it returned {len(values)} values for one ride")
        if not math.isfinite(float(values[0])):
            raise ValueError(f"it predicted {float(values[0])} minutes")
    except Exception as error:  # a broken model can raise almost anything
        raise ModelLoadError(
            f"model at {directory} cannot score a reference ride {REFERENCE_RIDE}: {type(error).__name__}: {error}"
        ) from error


def accepted_input_limit(regressor: Regressor) -> float:
    """Probe once whether the model takes a distance just past float32's range: scikit-learn's tree models
    cast to float32 and raise on it, linear ones take any finite float. Scoring then refuses such rides up
    front, with a clear reason, instead of finding them one predict at a time."""
    try:
        with warnings.catch_warnings():  # the float32 cast warns before it raises: expected here, not news
            warnings.simplefilter("ignore", RuntimeWarning)
            regressor.predict([{**REFERENCE_RIDE, "trip_distance": PAST_FLOAT32}])
    except MODEL_INPUT_ERRORS:
        return FLOAT32_MAX
    return math.inf


def import_model_libraries() -> None:
    """Import numpy, the scoring form and the YAML parser of `MLmodel` (most of what is left of a cold start's
    imports); callers overlap it with the download. Kept out of this module's imports so the handler module
    itself imports fast."""
    importlib.import_module("ride_scorer.core.scoring_form")
    importlib.import_module("yaml")
