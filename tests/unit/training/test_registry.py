"""What each registered version records, the alias policy, `make models`, `make promote`'s gate, and naming
a model as MLflow does.

The session's `registered` store holds version 1 (linear, @champion) and version 2 (forest, @challenger);
tests that change aliases work on a copy of its database.
"""

import re

import mlflow.sklearn
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from tests.shared.make import first_line, run_make
from tests.shared.trips import month_slice
from training import registry
from training.data import DISTANCE, TARGET, read_trips, trip_features
from training.evaluation import DISTANCE_BANDS, band_label, evaluate
from training.registry import REGISTERED_MODEL_DESCRIPTION, promote, resolve
from training.tracking import TrackingError

BANDS = [band_label(low, high) for low, high in DISTANCE_BANDS]
# Variables a developer may have exported that would point the commands at another store or at AWS.
OUTSIDE = ("MLFLOW_TRACKING_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDWATCH", "AWS_ACCESS_KEY_ID", "AWS_PROFILE")


def aliases(client: MlflowClient) -> dict[str, str]:
    return {alias: str(version) for alias, version in client.get_registered_model("ride-duration").aliases.items()}


def test_each_version_is_described_tagged_and_given_an_alias(registered):
    client = MlflowClient(registered.store, registry_uri=registered.store)
    linear, forest = client.get_model_version("ride-duration", "1"), client.get_model_version("ride-duration", "2")

    assert client.get_registered_model("ride-duration").description == REGISTERED_MODEL_DESCRIPTION
    assert (linear.aliases, forest.aliases) == (["champion"], ["challenger"])
    assert linear.tags == {
        "model_kind": "linear",
        "train_month": "2021-01",
        "validate_month": "2021-02",
        "train_path": registered.train_path,
        "validate_path": registered.validate_path,
        "train_rows": "3000",
        "validate_rows": "1000",
        "rmse": f"{registered.linear.rmse:.4f}",
        "mae": f"{registered.linear.mae:.4f}",
        "serialization": "cloudpickle",
    }
    assert forest.tags["model_kind"] == "forest"
    assert linear.description == (
        "linear model (DictVectorizer + LinearRegression) trained on 2021-01 (3,000 rides), validated on 2021-02 "
        f"(1,000 rides): RMSE {registered.linear.rmse:.4f} min, MAE {registered.linear.mae:.4f} min. "
        f"Run {registered.linear.run_id}."
    )
    assert (registered.linear.aliases, registered.forest.aliases) == (("champion",), ("challenger",))


def test_a_run_id_a_version_and_an_alias_name_the_same_models(registered):
    by_run = resolve(registered.linear.run_id, registered.store)
    by_alias = resolve("models:/ride-duration@champion", registered.store)
    by_version = resolve("models:/ride-duration/2", registered.store)

    assert by_run == by_alias
    assert (by_run.version, by_run.model_dir, by_run.aliases) == ("1", registered.linear.model_dir, ("champion",))
    assert by_alias.describe() == f"ride-duration version 1 (@champion), run {registered.linear.run_id}"
    assert (by_version.run_id, by_version.model_dir) == (registered.forest.run_id, registered.forest.model_dir)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("models:/ride-duration@nobody", r"^models:/ride-duration@nobody is not in the registry of sqlite:///"),
        ("models:/ride-duration/9", r"^models:/ride-duration/9 is not in the registry of sqlite:///"),
        ("s3://bucket/model", r"^'s3://bucket/model' is not a run id, models:/<name>/<version> or models:/<name>@"),
        ("0" * 32, r"^run '0{32}' is not in the tracking store"),
    ],
)
def test_an_unknown_model_is_named_in_the_error(registered, reference, message):
    with pytest.raises(TrackingError, match=message):
        resolve(reference, registered.store)


def test_promote_moves_the_champion_to_the_challenger_and_back(store_copy):
    promotion = promote(uri=store_copy)

    assert (promotion.version, promotion.previous) == ("2", "1")
    client = MlflowClient(store_copy, registry_uri=store_copy)
    assert aliases(client) == {"champion": "2"}
    assert registry.champion(store_copy).version == "2"

    assert promote("1", uri=store_copy).previous == "2"  # rolling back is promoting the previous champion
    assert aliases(client) == {"champion": "1"}


def cells(line: str) -> list[str]:
    """A table row's cells: columns are two or more spaces apart."""
    return re.split(r" {2,}", line.strip())


def make_in(store: str, target: str, tmp_path, **variables: str):
    """`make <target>` over `store`, with no AWS settings and a HOME without ~/.aws."""
    return run_make(
        target, variables=variables, unset=OUTSIDE, environment={"MLFLOW_TRACKING_URI": store, "HOME": str(tmp_path)}
    )


def test_make_models_lists_versions_and_aliases_with_their_errors_side_by_side(registered, tmp_path):
    done = make_in(registered.store, "models", tmp_path)

    assert done.returncode == 0, done.stderr
    title, header, *rows = done.stdout.splitlines()
    assert (
        title == f"ride-duration in {registered.store}: validation errors in minutes, each on its own validation month"
    )
    assert cells(header) == [
        "version",
        "aliases",
        "kind",
        "trained",
        "validated",
        "RMSE",
        "MAE",
        *(f"MAE {b}" for b in BANDS),
    ]
    client = MlflowClient(registered.store, registry_uri=registered.store)  # what MLflow itself records

    def row(version: str) -> list[str]:
        found = client.get_model_version("ride-duration", version)
        metrics = client.get_run(found.run_id).data.metrics
        names = ["rmse", "mae", *(f"mae_by_distance/{band}" for band in BANDS)]
        months = [found.tags["model_kind"], found.tags["train_month"], found.tags["validate_month"]]
        return [
            version,
            *(f"@{alias}" for alias in found.aliases),
            *months,
            *(f"{metrics[name]:.2f}" for name in names),
        ]

    assert [cells(line) for line in rows] == [row("2"), row("1")]

    empty = f"sqlite:///{tmp_path / 'none.db'}"
    done = make_in(empty, "models", tmp_path)
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == f"no versions of ride-duration in {empty}: make train registers one\n"
    assert not (tmp_path / "none.db").exists()


def holdout_errors(registered, path: str) -> dict:
    """Each version's errors on the held-out rides, from the models' own predict (MLflow's sklearn flavour)."""
    trips = read_trips(path)
    errors = {}
    for version, result in (("1", registered.linear), ("2", registered.forest)):
        predicted = mlflow.sklearn.load_model(str(result.model_dir)).predict(trip_features(trips))
        errors[version] = evaluate(trips[TARGET].to_numpy(), np.asarray(predicted), trips[DISTANCE].to_numpy())
    return errors


def test_make_promote_compares_on_a_held_out_month_and_needs_yes_for_a_worse_model(registered, store_copy, tmp_path):
    holdout = month_slice(tmp_path, "2023-02", 2_000)
    errors = holdout_errors(registered, holdout)
    worse = "2" if errors["2"].rmse > errors["1"].rmse else "1"
    rides = len(read_trips(holdout))
    client = MlflowClient(store_copy, registry_uri=store_copy)

    # The challenger against the champion, then the first champion back: one of the two moves is worse.
    for candidate, champion in (("2", "1"), ("1", "2")):
        variables = {"HOLDOUT_DATA": holdout, **({"MODEL_VERSION": candidate} if candidate == "1" else {})}
        done = make_in(store_copy, "promote", tmp_path, **variables)

        report = done.stderr.splitlines()
        # Only the first run scores the month: each model's errors on it are kept beside the store.
        scoring = f"INFO training.promotion: scoring both models on the {rides} rides of {holdout}"
        assert (scoring in report) == (candidate == "2"), report
        held_out = report.index(next(line for line in report if line.startswith("held out: 2023-02")))
        assert cells(report[held_out]) == [
            "held out: 2023-02",
            "rides",
            f"champion v{champion}",
            f"candidate v{candidate}",
            "difference",
        ]
        old, new = errors[champion], errors[candidate]
        expected = [("RMSE", old.rmse, new.rmse, rides), ("MAE", old.mae, new.mae, rides)]
        expected += [(f"MAE {b.label}", b.mae, n.mae, b.rides) for b, n in zip(old.bands, new.bands, strict=True)]
        assert [cells(line) for line in report[held_out + 1 : held_out + 1 + len(expected)]] == [
            [label, f"{count:,}", f"{a:.2f}", f"{b:.2f}", f"{b - a:+.2f}"] for label, a, b, count in expected
        ]
        assert "shadow metrics: none (no AWS endpoint or credentials configured)" in report
        word = "worse" if candidate == worse else "not worse"
        verdict = (
            f"version {candidate} is {word} than the champion (version {champion}) on 2023-02: "
            f"RMSE {new.rmse:.2f} against {old.rmse:.2f}"
        )
        if candidate == worse:
            assert done.returncode == 2
            assert report[-1].startswith("make: *** ")  # make's own line after the command's
            assert report[-2] == f"error: not promoted: {verdict}; promote it anyway with --yes (make promote YES=1)"
            assert aliases(client)["champion"] == champion
            done = make_in(store_copy, "promote", tmp_path, YES="1", **variables)
            verdict += " (--yes)"
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines()[-1] == f"promoting: {verdict}"
        assert done.stdout.splitlines() == [
            f"REGISTERED_MODEL=ride-duration/{candidate}",
            "CHAMPION=models:/ride-duration@champion",
            f"PREVIOUS_CHAMPION=ride-duration/{champion}",
        ]
        assert aliases(client)["champion"] == candidate
    assert len(list((tmp_path / ".cache" / "holdout-errors").glob("*.json"))) == 2

    done = make_in(store_copy, "promote", tmp_path, HOLDOUT_DATA=holdout)  # promoting took the @challenger alias
    assert done.returncode == 2
    assert first_line(done) == f"error: models:/ride-duration@challenger is not in the registry of {store_copy}"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"HOLDOUT_DATA": "{validate}"},
            "error: {validate} is not held out: version 1 was validated on 2021-02; "
            "give a month neither model saw (--holdout, or HOLDOUT_DATA= for make promote)",
        ),
        ({"MODEL_VERSION": "9"}, "error: models:/ride-duration/9 is not in the registry of {store}"),
        ({"MODEL_VERSION": "1"}, None),  # already the champion
    ],
    ids=["a month a model saw", "an unknown version", "the champion itself"],
)
def test_make_promote_refuses_what_it_cannot_compare_in_one_line(registered, store_copy, tmp_path, variables, message):
    values = {"validate": registered.validate_path, "store": store_copy}
    done = make_in(store_copy, "promote", tmp_path, **{key: value.format(**values) for key, value in variables.items()})

    if message is None:
        assert (done.returncode, done.stdout) == (0, "")
        assert done.stderr == "version 1 of ride-duration is already @champion: nothing to do\n"
    else:
        assert done.returncode == 2
        assert first_line(done) == message.format(**values)
    assert aliases(MlflowClient(store_copy, registry_uri=store_copy)) == {"champion": "1", "challenger": "2"}


def test_data_month_comes_from_the_file_name():
    assert registry.data_month("s3://tlc/green_tripdata_2023-02.parquet") == "2023-02"
    assert registry.data_month("/data/rides.parquet") == "rides.parquet"
