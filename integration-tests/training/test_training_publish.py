"""Train on a real slice, publish to S3 (moto's server on 127.0.0.1), load it back the way the Lambda does.

The Lambda reads MODEL_LOCATION and MODEL_SHA256 (the pin publishing prints, which the template requires) with
`ScorerSettings.from_env()` and loads through `wiring.load_model_from`; these tests do exactly that, with a
tracking store under tmp_path.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from mlflow.tracking import MlflowClient

from ride_scorer.adapters.aws_clients import client
from ride_scorer.adapters.model_store import load_model_from
from ride_scorer.core.integrity import DIGEST_FILE, ModelIntegrityError, directory_digest
from ride_scorer.core.settings import ConfigError
from ride_scorer.stream.settings import ScorerSettings
from tests.shared.paths import DATA, ROOT
from tools.local.loopback import free_port
from training.cli import main
from training.data import TARGET, read_trips, trip_features
from training.pipeline import build_pipeline
from training.publish import PublishError, publish_model
from training.train import TrainResult, train

TRAIN_ROWS, VALIDATE_ROWS = 3_000, 1_000


@pytest.fixture(scope="module")
def slices(tmp_path_factory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("tlc")
    paths = []
    for month, rows in (("2021-01", TRAIN_ROWS), ("2021-02", VALIDATE_ROWS)):
        path = folder / f"green_tripdata_{month}-head.parquet"
        pq.write_table(pq.read_table(DATA / f"green_tripdata_{month}.parquet").slice(0, rows), path)
        paths.append(str(path))
    return paths[0], paths[1]


@pytest.fixture(scope="module")
def tracking_store(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture(scope="module")
def trained(slices, tracking_store) -> TrainResult:
    return train(*slices, tracking_uri=tracking_store)


def lambda_settings(monkeypatch, model_location: str, sha256: str | None = None) -> ScorerSettings:
    """The Lambda's own environment, with only the model settings varying."""
    monkeypatch.setenv("MODEL_LOCATION", model_location)
    monkeypatch.setenv("PREDICTIONS_STREAM_NAME", "ride-predictions")
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", "http://127.0.0.1/000000000000/ride-dlq")
    if sha256:
        monkeypatch.setenv("MODEL_SHA256", sha256)
    else:
        monkeypatch.delenv("MODEL_SHA256", raising=False)
    return ScorerSettings.from_env()


def training_pipeline_predictions(slices: tuple[str, str]) -> tuple[list, np.ndarray]:
    """The same pipeline fitted on the same rides: what training predicted, independent of any file."""
    train_trips, validate_trips = read_trips(slices[0]), read_trips(slices[1])
    pipeline = build_pipeline("linear").fit(trip_features(train_trips), train_trips[TARGET])
    features = trip_features(validate_trips)
    return features, pipeline.predict(features)


def test_published_model_loads_through_model_location_with_training_predictions(
    aws_env, unique_prefix, trained, slices, monkeypatch, tmp_path
):
    client("s3").create_bucket(Bucket=unique_prefix)

    published = publish_model(trained.model_dir, unique_prefix)

    assert published.model_location == f"s3://{unique_prefix}/models/ride-duration/{trained.run_id}"
    stored = client("s3").list_objects_v2(Bucket=unique_prefix)["Contents"]
    key_prefix = f"models/ride-duration/{trained.run_id}/"
    assert {item["Key"].removeprefix(key_prefix) for item in stored} == {
        path.relative_to(trained.model_dir).as_posix() for path in trained.model_dir.rglob("*") if path.is_file()
    } | {DIGEST_FILE}
    assert f"{key_prefix}code/ride_duration_pyfunc.py" in {item["Key"] for item in stored}
    assert published.sha256 == directory_digest(trained.model_dir)
    settings = lambda_settings(monkeypatch, published.model_location, published.sha256)
    model = load_model_from(settings, client("s3"), download_root=tmp_path / "downloads")
    assert model.version == trained.run_id
    assert model.metadata.digest == published.sha256
    features, expected = training_pipeline_predictions(slices)
    np.testing.assert_allclose(model.predict(features), expected, rtol=1e-9)


def test_tampered_published_object_is_refused(aws_env, unique_prefix, trained, monkeypatch, tmp_path):
    client("s3").create_bucket(Bucket=unique_prefix)
    published = publish_model(trained.model_dir, unique_prefix, prefix="prod")
    key = f"prod/{trained.run_id}/MLmodel"
    client("s3").put_object(Bucket=unique_prefix, Key=key, Body=b"run_id: someone-else\nflavors: {}\n")

    with pytest.raises(ConfigError, match=r"^MODEL_SHA256 is not set"):  # the digest in the bucket is no pin
        lambda_settings(monkeypatch, published.model_location)
    settings = lambda_settings(monkeypatch, published.model_location, published.sha256)
    with pytest.raises(ModelIntegrityError, match=r"MODEL_SHA256 is .*: MLmodel\)"):
        load_model_from(settings, client("s3"), download_root=tmp_path / "pinned")


def test_republishing_a_run_removes_files_an_earlier_publish_left(aws_env, unique_prefix, trained):
    s3 = client("s3")
    s3.create_bucket(Bucket=unique_prefix)
    s3.put_object(Bucket=unique_prefix, Key=f"models/ride-duration/{trained.run_id}/old-model.pkl", Body=b"old")
    s3.put_object(Bucket=unique_prefix, Key="models/ride-duration/other-run/MLmodel", Body=b"untouched")

    published = publish_model(trained.model_dir, unique_prefix)

    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=unique_prefix)["Contents"])
    assert keys == sorted([*published.keys, "models/ride-duration/other-run/MLmodel"])


def test_publishing_to_a_missing_bucket_names_it(aws_env, unique_prefix, trained):
    with pytest.raises(PublishError, match=f"s3://{unique_prefix}-missing/models/ride-duration/{trained.run_id}/"):
        publish_model(trained.model_dir, f"{unique_prefix}-missing")


@pytest.mark.parametrize(
    ("environment", "problem"),
    [
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:{port}", "AWS_MAX_ATTEMPTS": "1"}, "cannot reach S3 at http://127.0.0.1:"),
        ({"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
          "AWS_CONFIG_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"},
         "no AWS credentials to reach S3 at "),
    ],
    ids=["nothing listening", "no credentials"],
)  # fmt: skip
def test_cli_publish_without_an_endpoint_or_credentials_is_one_line(
    aws_env, trained, tracking_store, monkeypatch, capsys, environment, problem
):
    for name, value in environment.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value.format(port=free_port()))

    status = main(["publish", "--run-id", trained.run_id, "--bucket", "b", "--tracking-uri", tracking_store])

    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert status == 2 and line.startswith(f"error: cannot upload s3://b/models/ride-duration/{trained.run_id}/")
    assert f": {problem}" in line and "INFO botocore" not in err, err


def run_cli(*args: str, tracking_store: str) -> dict[str, str]:
    """The CLI as a user runs it; its KEY=VALUE stdout lines as a dict."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_store}
    done = subprocess.run(
        [sys.executable, "-m", "training", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in done.stdout.splitlines())


def test_cli_train_publish_then_publish_by_run_id(aws_env, unique_prefix, slices, tmp_path, monkeypatch):
    client("s3").create_bucket(Bucket=unique_prefix)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"

    trained = run_cli(
        "train", "--train", slices[0], "--validate", slices[1], "--publish", "--bucket", unique_prefix,
        tracking_store=store,
    )  # fmt: skip
    run_id = trained["RUN_ID"]
    assert trained["MODEL_LOCATION"] == f"s3://{unique_prefix}/models/ride-duration/{run_id}"
    assert (trained["REGISTERED_MODEL"], trained["MODEL_ALIASES"]) == ("ride-duration/1", "champion")
    assert 0 < float(trained["RMSE"]) < 60
    assert Path(trained["MODEL_DIR"]).is_relative_to(tmp_path / "mlartifacts")

    again = run_cli(
        "publish", "--run-id", run_id, "--bucket", unique_prefix, "--prefix", "canary", tracking_store=store
    )
    assert again == {
        "RUN_ID": run_id,
        "MODEL_DIR": trained["MODEL_DIR"],
        "REGISTERED_MODEL": "ride-duration/1",
        "MODEL_LOCATION": f"s3://{unique_prefix}/canary/{run_id}",
        "MODEL_SHA256": trained["MODEL_SHA256"],
    }
    settings = lambda_settings(monkeypatch, again["MODEL_LOCATION"], again["MODEL_SHA256"])
    assert load_model_from(settings, client("s3"), download_root=tmp_path / "downloads").version == run_id
    # The registry records the last publication of the version.
    version = MlflowClient(store, registry_uri=store).get_model_version("ride-duration", "1")
    assert (version.tags["published_location"], version.tags["published_sha256"]) == (
        again["MODEL_LOCATION"],
        again["MODEL_SHA256"],
    )


@pytest.mark.parametrize(
    ("reference", "where"),
    [
        ("models:/ride-duration@champion", ["--bucket", "{bucket}"]),
        # One location, however spelled (columnar.locations): Hadoop's scheme, repeated and trailing slashes.
        ("models:/ride-duration/1", ["--location", "s3a://{bucket}//models/ride-duration/"]),
    ],
)
def test_cli_publishes_a_registered_version_and_tags_it(
    aws_env, unique_prefix, trained, tracking_store, reference, where, monkeypatch, tmp_path
):
    client("s3").create_bucket(Bucket=unique_prefix)
    where = [part.format(bucket=unique_prefix) for part in where]

    published = run_cli("publish", "--model", reference, *where, tracking_store=tracking_store)

    assert published["RUN_ID"] == trained.run_id
    assert published["REGISTERED_MODEL"] == "ride-duration/1"
    assert published["MODEL_LOCATION"] == f"s3://{unique_prefix}/models/ride-duration/{trained.run_id}"
    version = MlflowClient(tracking_store, registry_uri=tracking_store).get_model_version("ride-duration", "1")
    assert version.tags["published_location"] == published["MODEL_LOCATION"]
    assert version.tags["published_sha256"] == published["MODEL_SHA256"]
    settings = lambda_settings(monkeypatch, published["MODEL_LOCATION"], published["MODEL_SHA256"])
    assert load_model_from(settings, client("s3"), download_root=tmp_path / "downloads").version == trained.run_id


@pytest.mark.parametrize(
    ("where", "error"),
    [
        (["--location", "models"], "cannot publish to 'models': models are published to S3; give s3://bucket/prefix"),
        (["--location", "file:///tmp/models"], "cannot publish to 'file:///tmp/models': models are published to S3"),
        (["--location", "s3://b/models/../x"], "'s3://b/models/../x': S3 keys have no '.' or '..' folders"),
        (["--location", "gs://b/models"], "'gs://b/models': gs:// is not supported"),
        (["--location", "s3:///models"], "'s3:///models' names no bucket"),
        (["--bucket", "b/models"], "'b/models' is not a bucket name; give a bucket, or the whole s3://bucket/prefix"),
        (["--bucket", "b", "--prefix", "a/../b"], "'s3://b/a/../b': S3 keys have no '.' or '..' folders"),
        (["--location", "s3://b/m", "--prefix", "p"], "--prefix goes with --bucket; with --location, the prefix is"),
    ],
)
def test_cli_publish_refuses_an_unusable_location_before_any_work(tmp_path, monkeypatch, capsys, where, error):
    """Refused before the run is looked up (it does not exist) and before S3 is called (nothing listens)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")

    assert main(["publish", "--run-id", "0" * 32, *where]) == 2

    output = capsys.readouterr()
    assert output.err.startswith(f"error: {error}") and output.err.count("\n") == 1, output.err
    assert output.out == "" and not (tmp_path / "mlflow.db").exists()


def test_cli_publish_of_an_unknown_alias_says_so(aws_env, unique_prefix, trained, tracking_store, capsys):
    assert main(["publish", "--model", "models:/ride-duration@nobody", "--bucket", unique_prefix,
                 "--tracking-uri", tracking_store]) == 2  # fmt: skip

    output = capsys.readouterr()
    assert output.err.startswith(f"error: models:/ride-duration@nobody is not in the registry of {tracking_store}")
    assert output.out == ""


def test_cli_publish_of_an_unknown_run_says_so(aws_env, unique_prefix, tmp_path, monkeypatch, capsys):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)

    assert main(["publish", "--run-id", "0" * 32, "--bucket", unique_prefix]) == 2

    output = capsys.readouterr()
    assert f"error: run '{'0' * 32}' is not in the tracking store {store}" in output.err
    assert output.out == ""


def test_cli_train_without_publish_prints_the_local_models_pin(slices, tmp_path, capsys):
    """An unpublished model is a valid MODEL_LOCATION for a local scorer, which needs its pin too."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert main(["train", "--train", slices[0], "--validate", slices[1], "--no-register", "--tracking-uri", store]) == 0

    printed = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert printed["MODEL_LOCATION"] == printed["MODEL_DIR"]
    assert printed["MODEL_SHA256"] == directory_digest(Path(printed["MODEL_DIR"]))
