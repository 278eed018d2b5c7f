"""The model `make serve` and `make batch` use when MODEL_LOCATION is not set: the registered `@champion` of
the project's tracking store when there is one, else the bundled default (trained once, then reused).

    python -m tools.default_model --env      # MODEL_LOCATION=... MODEL_SHA256=... for the shell;
                                                         # which model, on stderr
    python -m tools.default_model            # the bundled default's directory (trained on first use)
    python -m tools.default_model --sha256   # its digest, the MODEL_SHA256 that pins it

The tracking store is the one `make train` registers in: MLFLOW_TRACKING_URI, else the project's
`mlflow.db` (training/tracking.py). A local SQLite store is read without importing MLflow (about 0.1 s
instead of 3 s). The champion is served from its artifacts in place, pinned by the digest of its files as
they are now.

The bundled default is trained by the project's own `training.train.train` on the bundled TLC months
(linear, 2021-01 / 2021-02) with a tracking store under .cache, so trying the service locally leaves the
team's MLflow store alone. Development only: this imports MLflow (the `train` extra), which the runtime
images do not carry.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from ride_scorer.core.integrity import directory_digest, write_digest
from training.registry_store import (
    CHAMPION,
    REGISTERED_MODEL,
    StoreLayoutError,
    aliased_version,
    sqlite_database,
    tracking_uri,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CACHE = PROJECT_ROOT / ".cache" / "default-model"
TRAIN_MONTH = PROJECT_ROOT / "data" / "green_tripdata_2021-01.parquet"
VALIDATE_MONTH = PROJECT_ROOT / "data" / "green_tripdata_2021-02.parquet"


@dataclass(frozen=True)
class ServingModel:
    """A model directory to serve, the digest that pins it, and one line saying which model it is."""

    location: Path
    sha256: str
    description: str

    def shell(self) -> str:
        return f"MODEL_LOCATION={shlex.quote(str(self.location))}\nMODEL_SHA256={self.sha256}"


def ensure_default_model(cache: Path = CACHE) -> Path:
    """Return a published (digest-carrying) model directory, training it if the cache has none."""
    model_dir = cache / "model"
    if (model_dir / "MLmodel").is_file():
        return model_dir
    from training.train import train  # MLflow is heavy and only needed the first time

    cache.mkdir(parents=True, exist_ok=True)
    result = train(
        str(TRAIN_MONTH),
        str(VALIDATE_MONTH),
        kind="linear",
        tracking_uri=f"sqlite:///{cache / 'mlflow.db'}",
        register=False,
    )
    staging = cache / "model.partial"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(result.model_dir, staging)
    write_digest(staging)
    staging.rename(model_dir)
    print(f"trained the default model: run {result.run_id}, validation RMSE {result.rmse:.4f}", file=sys.stderr)
    return model_dir


def default_model_sha256(cache: Path = CACHE) -> str:
    """The default model's digest, computed from its files: the scorer loads it only with this pin."""
    return directory_digest(ensure_default_model(cache))


def champion_model(store_uri: str | None = None) -> ServingModel | None:
    """The registered `ride-duration@champion` of the store, or None when it has none (or is a missing file).

    A local SQLite store is read with the standard library (training/registry_store.py): finding the
    champion costs milliseconds instead of MLflow's 2-4 s import. Any other store, or one that reader does
    not understand, is asked through MLflow."""
    store = tracking_uri(store_uri)
    database = sqlite_database(store)
    if database is not None:
        try:
            stored = aliased_version(database, REGISTERED_MODEL, CHAMPION)
        except StoreLayoutError:
            pass  # a layout this reader does not know: MLflow answers below
        else:
            if stored is None:
                return None
            if stored.model_dir is not None:
                return _pinned(stored.model_dir, stored.describe())
    from training.registry import champion  # imports MLflow: a remote store, or files MLflow must fetch

    found = champion(store)
    return None if found is None else _pinned(found.model_dir, found.describe())


def _pinned(model_dir: Path, description: str) -> ServingModel:
    """Served from its files in place, pinned by the digest of those files as they are now."""
    digest = directory_digest(model_dir)
    return ServingModel(model_dir, digest, f"{description}, sha256 {digest}")


def serving_model(store_uri: str | None = None, cache: Path = CACHE) -> ServingModel:
    """The champion when the store has one, else the bundled default."""
    champion = champion_model(store_uri)
    if champion is not None:
        return champion
    model_dir = ensure_default_model(cache)
    digest = directory_digest(model_dir)
    version = _run_id(model_dir)
    return ServingModel(model_dir, digest, f"bundled default (linear, 2021-01/2021-02), run {version}, sha256 {digest}")


def _run_id(model_dir: Path) -> str:
    from ride_scorer.core.model import read_version

    return read_version(model_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.default_model",
        description="The model make serve and make batch use without MODEL_LOCATION; without an option, the "
        "bundled default's directory (trained on first use).",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--env",
        action="store_true",
        help="MODEL_LOCATION= and MODEL_SHA256= of the registered @champion, else of the bundled default; "
        "which model, on stderr",
    )
    which.add_argument("--sha256", action="store_true", help="the bundled default's digest (its MODEL_SHA256)")
    args = parser.parse_args(argv)
    if args.env:
        try:
            model = serving_model()
        except Exception as error:  # an unreadable store or champion: one line, and make stops
            print(f"error: cannot choose the model to serve: {type(error).__name__}: {error}", file=sys.stderr)
            return 2
        print(f"model: {model.description}", file=sys.stderr)
        print(model.shell())
    elif args.sha256:
        print(default_model_sha256())
    else:
        print(ensure_default_model())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
