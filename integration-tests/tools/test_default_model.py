"""The model `make serve` and `make batch` use without MODEL_LOCATION: the registered @champion of the
tracking store when there is one, else the bundled default, trained once by training.train and reused."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from mlflow.tracking import MlflowClient

from ride_scorer.core.integrity import DIGEST_FILE, directory_digest, manifest_digest, parse_manifest
from ride_scorer.core.model import load_model
from tests.shared.make import run_make
from tests.shared.paths import DATA
from tools.default_model import champion_model, default_model_sha256, ensure_default_model, main
from training.registry import champion


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


def make_batch(tmp_path: Path, **environment: str) -> subprocess.CompletedProcess:
    """`make batch` as a user runs it (-o: the venv is what it is; a test never reinstalls it)."""
    rides = tmp_path / "rides.parquet"
    pq.write_table(pq.read_table(DATA / "green_tripdata_2023-02.parquet").slice(0, 100), rides)
    return run_make(
        "batch",
        variables={"BATCH_INPUT": str(rides), "BATCH_OUTPUT": str(tmp_path / "scored.parquet")},
        unset={"MODEL_LOCATION", "MODEL_SHA256"},
        environment=environment,
        timeout=600,
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_batch_scores_with_the_registered_champion_and_says_so(registered, tmp_path):
    champion = champion_model(registered.store)
    assert champion is not None

    done = make_batch(tmp_path, MLFLOW_TRACKING_URI=registered.store)

    assert done.returncode == 0, done.stderr
    run_id = load_model(champion.location).version
    expected = f"model: ride-duration version 1 (@champion), run {run_id}, sha256 {champion.sha256}"
    assert done.stderr.splitlines()[0] == expected
    scored = pq.read_table(tmp_path / "scored.parquet")
    assert scored.num_rows > 0
    assert set(scored.column("model_version").to_pylist()) == {run_id}


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_batch_with_model_location_says_which_model(trained_model_dir, tmp_path):
    digest = directory_digest(trained_model_dir)

    done = make_batch(tmp_path, MODEL_LOCATION=str(trained_model_dir), MODEL_SHA256=digest)

    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == f"model: MODEL_LOCATION={trained_model_dir}, sha256 {digest}"


def test_the_env_output_pins_the_champion_for_the_shell(registered, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registered.store)

    assert main(["--env"]) == 0

    output = capsys.readouterr()
    values = dict(shlex.split(line)[0].split("=", 1) for line in output.out.splitlines())
    assert set(values) == {"MODEL_LOCATION", "MODEL_SHA256"}
    model = load_model(Path(values["MODEL_LOCATION"]), expected_sha256=values["MODEL_SHA256"])
    assert (
        output.err
        == f"model: ride-duration version 1 (@champion), run {model.version}, sha256 {model.metadata.digest}\n"
    )


def test_a_store_without_a_champion_means_the_bundled_default(tmp_path):
    empty = f"sqlite:///{tmp_path / 'mlflow.db'}"
    MlflowClient(empty).search_experiments()  # creates the store's tables, no model

    assert champion_model(empty) is None


@pytest.mark.parametrize("has_store", [False, True], ids=["no store file", "a store with a champion"])
def test_finding_the_champion_of_a_local_store_does_not_import_mlflow(registered, tmp_path, has_store):
    """`make serve` and `make batch` paid 3 s for MLflow's import to read one alias of a SQLite file."""
    store = registered.store if has_store else f"sqlite:///{tmp_path}/missing.db"
    script = (
        "import sys\n"
        "from tools.default_model import champion_model\n"
        f"found = champion_model({store!r})\n"
        "print(found and (str(found.location), found.sha256, found.description))\n"
        "print('mlflow' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    found, imported = done.stdout.splitlines()
    assert imported == "False"
    if not has_store:
        assert found == "None"
        assert not (tmp_path / "missing.db").exists()
        return
    by_mlflow = champion(store)  # what MLflow's own client says the champion is
    assert by_mlflow is not None
    digest = directory_digest(by_mlflow.model_dir)
    assert found == str((str(by_mlflow.model_dir), digest, f"{by_mlflow.describe()}, sha256 {digest}"))


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_a_pin_without_its_model_stops_make_batch_instead_of_being_ignored(tmp_path):
    done = make_batch(tmp_path, MODEL_SHA256="ab" * 32)

    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        "MODEL_SHA256 is set but MODEL_LOCATION is not: give the model it pins, or neither for the champion or "
        "default model"
    )
    assert not (tmp_path / "scored.parquet").exists()
