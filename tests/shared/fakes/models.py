"""In-memory stand-ins for a trained model: regressors with the `predict(list of feature dicts)` call shape of
the project's scikit-learn pipelines, whose answers are known exactly, and the `RideDurationModel` around them.

Every regressor predicts `base + per_mile * trip_distance` minutes unless told otherwise, and records the
feature lists it was called with, so a test can check both the value each ride gets and what reached the
model. `write_mlflow_model` writes a real pipeline that predicts the same minutes, with its scoring form.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from ride_scorer.core.features import RideFeatures
from ride_scorer.core.model import FLOAT32_MAX, ModelMetadata, Regressor, RideDurationModel

FAKE_VERSION = "fake-run-0001"
POISON_PU_DO = "666_666"
INFINITE_PU_DO = "777_777"
# A finite, valid trip_distance no float32 model can take.
PAST_FLOAT32_DISTANCE = 1e39
BASE_MINUTES = 3.0
MINUTES_PER_MILE = 2.0


def expected_minutes(trip_distance: float) -> float:
    """What every fake predicts for a ride it scores."""
    return BASE_MINUTES + MINUTES_PER_MILE * trip_distance


class LinearRegressor:
    """Takes any finite distance, like scikit-learn's LinearRegression."""

    def __init__(self) -> None:
        self.calls: list[list[RideFeatures]] = []

    def predict(self, features: Sequence[RideFeatures]) -> list[float]:
        self.calls.append(list(features))
        return [self.minutes(feature) for feature in features]

    def minutes(self, feature: RideFeatures) -> float:
        return expected_minutes(feature["trip_distance"])

    @property
    def seen_pu_do(self) -> list[str]:
        return [feature["PU_DO"] for call in self.calls for feature in call]

    @property
    def seen_distances(self) -> list[float]:
        return [feature["trip_distance"] for call in self.calls for feature in call]


class Float32Regressor(LinearRegressor):
    """Casts to float32 like scikit-learn's trees: a distance that overflows float32 raises for the whole call."""

    def predict(self, features: Sequence[RideFeatures]) -> list[float]:
        self.calls.append(list(features))
        if any(feature["trip_distance"] > FLOAT32_MAX for feature in features):
            raise ValueError("Input X contains infinity or a value too large for dtype('float32').")
        return [self.minutes(feature) for feature in features]


class PoisonRegressor(LinearRegressor):
    """Raises `error` for the whole call when any ride in it has a PU_DO in `poison`."""

    def __init__(
        self,
        poison: Sequence[str] = (POISON_PU_DO,),
        error: type[BaseException] = ValueError,
        message: str = "unknown zone pair",
    ) -> None:
        super().__init__()
        self.poison = frozenset(poison)
        self.error = error
        self.message = message

    def predict(self, features: Sequence[RideFeatures]) -> list[float]:
        self.calls.append(list(features))
        bad = [feature["PU_DO"] for feature in features if feature["PU_DO"] in self.poison]
        if bad:
            raise self.error(f"{self.message}: {bad[0]}")
        return [self.minutes(feature) for feature in features]


class NonFiniteRegressor(LinearRegressor):
    """Predicts a fixed non-finite value (inf, -inf, nan) for the rides whose PU_DO is in `values`."""

    def __init__(self, values: dict[str, float]) -> None:
        super().__init__()
        self.values = dict(values)

    def minutes(self, feature: RideFeatures) -> float:
        return self.values.get(feature["PU_DO"], expected_minutes(feature["trip_distance"]))


class PickyRegressor(PoisonRegressor):
    """Everything a model can refuse, one ride kind each: raises ValueError on a `POISON_PU_DO` ride, predicts
    inf on an `INFINITE_PU_DO` ride, and (behind `fake_model(..., max_trip_distance=FLOAT32_MAX)`) must never
    see a distance past float32, which it would refuse like a tree."""

    def predict(self, features: Sequence[RideFeatures]) -> list[float]:
        if any(feature["trip_distance"] > FLOAT32_MAX for feature in features):
            raise AssertionError("a distance past the model's limit reached predict")
        return super().predict(features)

    def minutes(self, feature: RideFeatures) -> float:
        return math.inf if feature["PU_DO"] == INFINITE_PU_DO else expected_minutes(feature["trip_distance"])


class ConstantRegressor:
    """Returns `answer` for every call, whatever it is given: for models that cannot score a reference ride."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def predict(self, features: Sequence[RideFeatures]) -> Any:
        return self.answer


class RaisingRegressor:
    """Raises `error(message)` on every call."""

    def __init__(self, error: type[BaseException], message: str = "broken model") -> None:
        self.error = error
        self.message = message

    def predict(self, features: Sequence[RideFeatures]) -> Any:
        raise self.error(self.message)


def fake_model(
    regressor: Regressor, max_trip_distance: float = math.inf, version: str = FAKE_VERSION
) -> RideDurationModel:
    """A loaded model around `regressor`, as `load_model` would return it, without any file."""
    return RideDurationModel(regressor, ModelMetadata(version=version, digest=None), 0.0, max_trip_distance)


def linear_pipeline() -> Any:
    """A real `[DictVectorizer, LinearRegression]` pipeline that predicts exactly `expected_minutes`."""
    import numpy as np
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    rides = [{"PU_DO": "130_205", "trip_distance": 1.0}, {"PU_DO": "74_75", "trip_distance": 2.0}]
    pipeline = make_pipeline(DictVectorizer(), LinearRegression()).fit(rides, [5.0, 7.0])
    columns = pipeline[0].vocabulary_
    pipeline[-1].coef_ = np.zeros(len(columns))
    pipeline[-1].coef_[columns["trip_distance"]] = MINUTES_PER_MILE
    pipeline[-1].intercept_ = BASE_MINUTES
    return pipeline


def write_mlflow_model(directory: Path, run_id: str = FAKE_VERSION) -> Path:
    """A minimal MLflow sklearn-flavour model directory of `linear_pipeline()` with the scoring form training
    writes beside it: `MLmodel` with the run id and the flavour, the pickled pipeline and `scorer/`."""
    import sklearn

    from training.scoring_form import write_scoring_form

    regressor = linear_pipeline()
    directory.mkdir(parents=True, exist_ok=True)
    mlmodel = {
        "run_id": run_id,
        "flavors": {
            "sklearn": {
                "pickled_model": "model.pkl",
                "serialization_format": "cloudpickle",
                "sklearn_version": sklearn.__version__,
            }
        },
    }
    (directory / "MLmodel").write_text(yaml.safe_dump(mlmodel), encoding="utf-8")
    with (directory / "model.pkl").open("wb") as handle:
        pickle.dump(regressor, handle)
    write_scoring_form(regressor, directory)
    return directory


def ride_document(ride_id: int | str, pu: int | str, do: int | str, trip_distance: float) -> dict[str, Any]:
    """One ride as a stream event carries it (and the HTTP body and a batch row become)."""
    return {"ride": {"PULocationID": pu, "DOLocationID": do, "trip_distance": trip_distance}, "ride_id": ride_id}


def rewrite_form_arrays(path: Path, **changes: Callable[[Any], Any]) -> None:
    """Rewrite a scoring form's arrays file (`form.npz`) with each named array replaced by `change(array)`:
    a damaged or hand-made form."""
    import numpy as np

    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    for name, change in changes.items():
        arrays[name] = change(arrays[name])
    with path.open("wb") as handle:
        np.savez(handle, **arrays)
