"""Load an MLflow sklearn-flavour model without MLflow, and score lists of feature dicts.

The MLflow model format is the contract (the `MLmodel` file, the sklearn flavour's pickle, the run id);
MLflow itself is not in the runtime because it would more than double the image and the cold start.
Lifecycle as in MLServer's runtimes: `load()` once per container, then `predict()` per batch.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import math
import pickle
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from ride_scorer.core.features import RideFeatures, ride_features
from ride_scorer.core.integrity import (
    Manifest,
    ModelIntegrityError,
    UnsafeNameError,
    manifest_digest,
    safe_relative_path,
    verify_directory,
)
from ride_scorer.core.reference import TrainingReference, read_reference

if TYPE_CHECKING:  # numpy is imported with the model, overlapping the download, not with this module
    from ride_scorer.core.predictors import BatchPredict

logger = logging.getLogger(__name__)

# What a model raises when a ride's values are ones it cannot take; anything else (MemoryError, a bug) is
# not about the ride. The load-time range probe and scoring's bisection both go by this.
MODEL_INPUT_ERRORS = (ValueError, TypeError, ArithmeticError)
FLOAT32_MAX = 3.4028234663852886e38
PAST_FLOAT32 = 3.5e38
# An ordinary ride (1.5 miles between two Manhattan zones) every model must be able to score.
REFERENCE_RIDE = ride_features(236, 237, 1.5)


class ModelLoadError(RuntimeError):
    """The model cannot be loaded: the invocation fails so Lambda's retry settings apply."""


class Regressor(Protocol):
    def predict(self, features: Sequence[RideFeatures]) -> Any: ...


@dataclass(frozen=True)
class ModelMetadata:
    version: str
    sklearn_version: str | None
    serialization_format: str
    pickled_model: str
    digest: str | None
    skops_trusted_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class RideDurationModel:
    """A loaded model: what it is (version) and how to score."""

    regressor: Regressor
    metadata: ModelMetadata
    load_seconds: float
    # The largest trip_distance the model accepts: FLOAT32_MAX for models that cast to float32 (scikit-learn's
    # trees), else unbounded. Found at load by `accepted_input_limit`; scoring refuses rides beyond it.
    max_trip_distance: float = math.inf
    # How a batch is scored: `batch_predictor`'s direct path when it equals the pipeline's own predict.
    batch_predict: BatchPredict | None = field(default=None, repr=False)
    # What training saw (scorer/reference.json, covered by the digest): the drift and domain signals' baseline.
    reference: TrainingReference | None = field(default=None, repr=False)

    @property
    def version(self) -> str:
        return self.metadata.version

    def predict(self, features: Sequence[RideFeatures]) -> list[float]:
        """One vectorized call for the whole batch; never call it per record."""
        if not features:
            return []
        if self.batch_predict is not None:
            return self.batch_predict(features)
        return [float(value) for value in self.regressor.predict(list(features))]


def read_metadata(directory: Path) -> ModelMetadata:
    mlmodel_path = directory / "MLmodel"
    try:
        document = yaml.safe_load(mlmodel_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ModelLoadError(f"cannot read {mlmodel_path}: {error}") from error
    if not isinstance(document, dict):
        raise ModelLoadError(f"{mlmodel_path} is not an MLmodel document")
    flavour = (document.get("flavors") or {}).get("sklearn")
    if not isinstance(flavour, dict) or "pickled_model" not in flavour:
        raise ModelLoadError(f"{mlmodel_path} has no sklearn flavour; ride-scorer serves sklearn models")
    version = document.get("run_id") or document.get("model_uuid")
    if not version:
        raise ModelLoadError(f"{mlmodel_path} records neither run_id nor model_uuid: the model has no version")
    if not document.get("run_id"):
        logger.warning("model has no run_id (saved outside an MLflow run); using model_uuid %s as version", version)
    return ModelMetadata(
        version=str(version),
        sklearn_version=flavour.get("sklearn_version"),
        serialization_format=str(flavour.get("serialization_format", "cloudpickle")),
        pickled_model=str(flavour["pickled_model"]),
        digest=None,
        skops_trusted_types=tuple(flavour.get("skops_trusted_types") or ()),
    )


def load_model(directory: Path, expected_sha256: str | None = None) -> RideDurationModel:
    """Verify, then unpickle: with `expected_sha256` (the deployment's MODEL_SHA256), a model whose files
    do not have that digest is refused before any byte is unpickled.

    `expected_sha256=None` loads the model unverified, with a warning. Only a caller that made the model
    itself or whose user opted out (ALLOW_UNPINNED_MODEL) passes None: the settings of every mode refuse a
    missing MODEL_SHA256 otherwise. A digest file in the folder is never taken as the pin.
    """
    started = time.perf_counter()
    manifest = verify_directory(directory, expected_sha256)
    digest = manifest_digest(manifest)
    if expected_sha256 is None:
        logger.warning(
            "loading the model at %s without a pinned digest (MODEL_SHA256): its files were not verified; "
            "their digest is %s",
            directory,
            digest,
        )
    _require_listed("MLmodel", manifest, directory)
    metadata = read_metadata(directory)
    _require_listed(metadata.pickled_model, manifest, directory)
    installed = importlib.metadata.version("scikit-learn")
    if metadata.sklearn_version and metadata.sklearn_version != installed:
        logger.warning(
            "model was trained with scikit-learn %s, this runtime has %s: predictions may differ",
            metadata.sklearn_version,
            installed,
        )
    regressor = _deserialize(directory / metadata.pickled_model, metadata)
    if not callable(getattr(regressor, "predict", None)):
        raise ModelLoadError(f"{directory / metadata.pickled_model} holds a {type(regressor).__name__}, not a model")
    _check_scores_a_ride(regressor, directory)
    # The digest recorded (logged by the Lambda, served by /health) is a verified one, or None.
    metadata = ModelMetadata(**{**metadata.__dict__, "digest": None if expected_sha256 is None else digest})
    limit = accepted_input_limit(regressor)
    from ride_scorer.core.predictors import batch_predictor

    reference = read_reference(directory)
    return RideDurationModel(
        regressor, metadata, time.perf_counter() - started, limit, batch_predictor(regressor), reference
    )


def _require_listed(name: str, manifest: Manifest, directory: Path) -> None:
    """The files that get loaded must be regular files inside the folder that the digest covered: MLmodel
    names the pickle, and a name like `../x` or `/tmp/x` would load bytes the digest never saw."""
    try:
        safe_relative_path(name)
    except UnsafeNameError as error:
        raise ModelIntegrityError(f"model at {directory} names the file {name!r}: {error}") from None
    if name not in manifest:
        raise ModelLoadError(f"model at {directory} has no file {name!r}")


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
    """Import scikit-learn, most of a cold start's CPU time (~1 s); callers overlap it with the download.
    Kept out of this module's imports so the handler module itself imports fast."""
    importlib.import_module("sklearn.pipeline")


def _deserialize(path: Path, metadata: ModelMetadata) -> Any:
    """skops (MLflow 3's default) loads only trusted types; pickle formats run code, hence the digest."""
    try:
        if metadata.serialization_format == "skops":
            import skops.io

            return skops.io.load(path, trusted=list(metadata.skops_trusted_types) or None)
        loaders = {"cloudpickle": pickle.load, "pickle": pickle.load}  # cloudpickle's output is a pickle
        if metadata.serialization_format not in loaders:
            raise ModelLoadError(f"{path}: serialization format {metadata.serialization_format!r} is not supported")
        with path.open("rb") as handle:
            return loaders[metadata.serialization_format](handle)
    except ModelLoadError:
        raise
    except Exception as error:  # a corrupt file can raise almost anything
        raise ModelLoadError(f"cannot load {path}: {type(error).__name__}: {error}") from error
