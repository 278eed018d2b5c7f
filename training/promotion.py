"""The promotion gate: before `make promote` moves `@champion`, the champion and the candidate are scored on
one held-out month, a month neither was trained or validated on, and compared side by side.

Each version's logged validation errors come from its own validation month, so they can disagree only
because the months do. On one held-out month the two answer the same rides: RMSE decides (the gate refuses
a candidate with a higher RMSE unless told `--yes`), and MAE by distance band shows where each is wrong.
Both models are loaded and scored by the scorer's own loader and predict, so the gate judges the numbers
the scorer would serve.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ride_scorer.core.integrity import directory_digest, file_digest
from training.evaluation import BandErrors, Evaluation, evaluate
from training.registry_store import PROJECT_ROOT, StoredVersion, data_month, sqlite_database, tracking_uri
from training.registry_view import BAND_LABELS, minutes, table

logger = logging.getLogger(__name__)
CACHE_FOLDER = Path(".cache") / "holdout-errors"


class PromotionError(RuntimeError):
    """The gate cannot compare the two models (the month is not held out, a model's files are missing)."""


@dataclass(frozen=True)
class HoldoutComparison:
    """The champion and the candidate on the same held-out rides."""

    path: str
    champion: StoredVersion
    candidate: StoredVersion
    champion_errors: Evaluation
    candidate_errors: Evaluation
    rides: int

    @property
    def candidate_is_worse(self) -> bool:
        return self.candidate_errors.rmse > self.champion_errors.rmse

    def verdict(self) -> str:
        """`version 2 is better than the champion (version 1) on 2023-02: RMSE 6.60 against 7.23`."""
        word = "worse" if self.candidate_is_worse else "not worse"
        return (
            f"version {self.candidate.version} is {word} than the champion (version {self.champion.version}) on "
            f"{data_month(self.path)}: RMSE {self.candidate_errors.rmse:.2f} against {self.champion_errors.rmse:.2f}"
        )

    def table(self) -> str:
        """RMSE, MAE and MAE by band (with its ride count): champion, candidate, and candidate minus champion."""
        header = [
            f"held out: {data_month(self.path)}",
            "rides",
            f"champion v{self.champion.version}",
            f"candidate v{self.candidate.version}",
            "difference",
        ]
        rows = [
            _row("RMSE", self.rides, self.champion_errors.rmse, self.candidate_errors.rmse),
            _row("MAE", self.rides, self.champion_errors.mae, self.candidate_errors.mae),
        ]
        for label, old, new in zip(BAND_LABELS, self.champion_errors.bands, self.candidate_errors.bands, strict=True):
            rows.append(_row(f"MAE {label}", old.rides, old.mae, new.mae))
        return table(header, rows)


def check_held_out(path: str, versions: tuple[StoredVersion, ...]) -> None:
    """Refuse a month that one of the models was trained or validated on: it would flatter that model."""
    month = data_month(path)
    for version in versions:
        for role in ("train", "validate"):
            if version.tags.get(f"{role}_month") == month:
                raise PromotionError(
                    f"{path} is not held out: version {version.version} was {role}d on {month}; "
                    "give a month neither model saw (--holdout, or HOLDOUT_DATA= for make promote)"
                )


def compare_on_holdout(
    path: str, champion: StoredVersion, candidate: StoredVersion, uri: str | None = None
) -> HoldoutComparison:
    """Score the held-out month's rides (the 1-60 minute rides training keeps) with both models.

    Each model's errors on a local month are kept under the model's digest and the month's file digest
    (`cache_folder`): the same files give the same numbers, and a second `make promote` (with --yes, say)
    then needs neither scikit-learn nor the month."""
    check_held_out(path, (champion, candidate))
    model_dirs = [_model_dir(version, uri) for version in (champion, candidate)]
    cache = cache_folder(tracking_uri(uri))
    keys = [_cache_key(path, directory_digest(model_dir)) for model_dir in model_dirs]
    found = [_cached(cache, key) for key in keys]
    if any(entry is None for entry in found):
        scored = _score(path, model_dirs)
        for key, entry in zip(keys, scored, strict=True):
            _keep(cache, key, entry)
        found = list(scored)
    (champion_errors, rides), (candidate_errors, _) = found  # type: ignore[misc]
    return HoldoutComparison(path, champion, candidate, champion_errors, candidate_errors, rides)


def _score(path: str, model_dirs: list[Path]) -> list[tuple[Evaluation, int]]:
    import numpy as np

    from ride_scorer.core.model import load_model  # scikit-learn, pandas: only when there is something to score
    from training.data import DISTANCE, TARGET, read_trips, trip_features

    trips = read_trips(path)
    logger.info("scoring both models on the %d rides of %s", len(trips), path)
    features, actual, distances = trip_features(trips), trips[TARGET].to_numpy(), trips[DISTANCE].to_numpy()
    scored = []
    for model_dir in model_dirs:
        model = load_model(model_dir, expected_sha256=directory_digest(model_dir))  # the files as they are now
        scored.append((evaluate(actual, np.asarray(model.predict(features)), distances), len(trips)))
    return scored


def cache_folder(store: str) -> Path:
    """`.cache/holdout-errors` beside a SQLite store's database (the project's own `.cache` for the project's
    store), else in the project: the numbers are kept with the registry they describe."""
    database = sqlite_database(store)
    return (database.parent if database is not None else PROJECT_ROOT) / CACHE_FOLDER


def _cache_key(path: str, model_digest: str) -> str | None:
    """None for a month in S3 (its bytes are not at hand to digest: it is scored every time) or one that cannot
    be read (reading it says why)."""
    if path.startswith("s3://"):
        return None
    try:
        return f"{model_digest}-{file_digest(Path(path), follow_symlinks=True)}"
    except OSError:
        return None


def _cached(cache: Path, key: str | None) -> tuple[Evaluation, int] | None:
    if key is None:
        return None
    try:
        document = json.loads((cache / f"{key}.json").read_text(encoding="utf-8"))
        bands = tuple(BandErrors(**band) for band in document["bands"])
        return Evaluation(document["rmse"], document["mae"], bands), int(document["rides"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not there, or not ours: score again


def _keep(cache: Path, key: str | None, entry: tuple[Evaluation, int]) -> None:
    if key is None:
        return
    evaluation, rides = entry
    cache.mkdir(parents=True, exist_ok=True)
    staging = cache / f"{key}.{os.getpid()}.partial"
    staging.write_text(json.dumps({**asdict(evaluation), "rides": rides}), encoding="utf-8")
    staging.replace(cache / f"{key}.json")


def _model_dir(version: StoredVersion, uri: str | None) -> Path:
    if version.model_dir is not None:
        return version.model_dir
    from training.registry import resolve  # a remote store: MLflow fetches the files

    return resolve(f"models:/{version.name}/{version.version}", uri).model_dir


def _row(label: str, rides: int, champion: float | None, candidate: float | None) -> list[str]:
    known = champion is not None and candidate is not None
    difference = f"{candidate - champion:+.2f}" if known else "-"  # type: ignore[operator]
    return [label, f"{rides:,}", minutes(champion), minutes(candidate), difference]
