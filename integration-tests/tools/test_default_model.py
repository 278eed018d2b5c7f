"""The model `make serve` uses without MODEL_LOCATION: trained once by training.train, published, reused."""

from __future__ import annotations

from ride_scorer.core.integrity import DIGEST_FILE, directory_digest, manifest_digest, parse_manifest
from ride_scorer.core.model import load_model
from ride_scorer.tools.default_model import default_model_sha256, ensure_default_model


def test_default_model_is_trained_once_with_a_digest_and_loads(tmp_path):
    model_dir = ensure_default_model(tmp_path / "cache")
    digest = default_model_sha256(tmp_path / "cache")  # what `make serve` pins it with
    model = load_model(model_dir, expected_sha256=digest)
    assert model.metadata.digest == digest == directory_digest(model_dir)
    assert manifest_digest(parse_manifest((model_dir / DIGEST_FILE).read_text(encoding="utf-8"))) == digest
    assert model.predict([{"PU_DO": "130_205", "trip_distance": 3.66}])[0] > 0

    stamp = (model_dir / "MLmodel").stat().st_mtime_ns
    assert ensure_default_model(tmp_path / "cache") == model_dir
    assert (model_dir / "MLmodel").stat().st_mtime_ns == stamp
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["mlartifacts", "mlflow.db", "model"]
