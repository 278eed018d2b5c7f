"""The model `make serve` and `make batch` use when MODEL_LOCATION is not set: trained once, then reused.

    python -m ride_scorer.tools.default_model            # prints the model directory, training it on first use
    python -m ride_scorer.tools.default_model --sha256   # prints its digest, the MODEL_SHA256 that pins it

It is trained by the project's own `training.train.train` on the bundled TLC months (linear, 2021-01 /
2021-02) with a tracking store under .cache, so trying the service locally leaves the team's MLflow store
alone. Development only: this imports MLflow (the `train` extra), which the runtime images do not carry.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from ride_scorer.core.integrity import directory_digest, write_digest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CACHE = PROJECT_ROOT / ".cache" / "default-model"
TRAIN_MONTH = PROJECT_ROOT / "data" / "green_tripdata_2021-01.parquet"
VALIDATE_MONTH = PROJECT_ROOT / "data" / "green_tripdata_2021-02.parquet"


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


if __name__ == "__main__":
    print(default_model_sha256() if sys.argv[1:] == ["--sha256"] else ensure_default_model())
