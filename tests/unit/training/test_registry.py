"""What each registered version records, the alias policy, promotion, and naming a model as MLflow does.

The session's `registered` store holds version 1 (linear, @champion) and version 2 (forest, @challenger);
tests that change aliases work on a copy of its database.
"""

import shutil

import pytest
from mlflow.tracking import MlflowClient

from training import registry
from training.cli import main
from training.registry import REGISTERED_MODEL_DESCRIPTION, promote, resolve
from training.tracking import TrackingError


@pytest.fixture
def store_copy(registered, tmp_path) -> str:
    """The same registry in a database of its own (artifacts stay where they are)."""
    database = tmp_path / "mlflow.db"
    shutil.copy(registered.store.removeprefix("sqlite:///"), database)
    return f"sqlite:///{database}"


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


def test_promote_command_prints_what_it_did_and_names_a_missing_challenger(store_copy, capsys):
    assert main(["promote", "--tracking-uri", store_copy]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "REGISTERED_MODEL=ride-duration/2",
        "CHAMPION=models:/ride-duration@champion",
        "PREVIOUS_CHAMPION=ride-duration/1",
    ]

    assert main(["promote", "--tracking-uri", store_copy]) == 2
    output = capsys.readouterr()
    assert output.out == ""
    assert output.err.startswith(f"error: models:/ride-duration@challenger is not in the registry of {store_copy}")


def test_data_month_comes_from_the_file_name():
    assert registry.data_month("s3://tlc/green_tripdata_2023-02.parquet") == "2023-02"
    assert registry.data_month("/data/rides.parquet") == "rides.parquet"
