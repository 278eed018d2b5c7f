"""What stops a backfill on Spark, each as one line naming the cause, with nothing written or left behind: an
input that does not exist, a file without a ride column, months whose ride columns Spark cannot read as one
schema, a corrupt file among good ones."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from ride_scorer.backfill.job import BackfillError, run
from ride_scorer.backfill.settings import BackfillSettings
from tests.shared.paths import DATA

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")]


def refusal(spark, pinned_settings, tmp_path, *inputs: str) -> str:
    settings = BackfillSettings(inputs, str(tmp_path / "out"), str(tmp_path / "out.rejects"), pinned_settings)
    with pytest.raises(BackfillError) as refused:
        run(spark, settings, "unused")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.rejects").exists()  # nothing blocks a rerun
    message = str(refused.value)
    assert "\n" not in message
    return message


def test_an_input_that_does_not_exist(spark, pinned_settings, tmp_path):
    message = refusal(spark, pinned_settings, tmp_path, str(tmp_path / "nowhere"))

    assert message.startswith("[PATH_NOT_FOUND] Path does not exist: ")
    assert f"{tmp_path}/nowhere" in message


def test_a_file_without_a_ride_column(spark, pinned_settings, tmp_path):
    path = tmp_path / "no-distance.parquet"
    pq.write_table(
        pq.read_table(DATA / "green_tripdata_2023-01.parquet").slice(0, 10).drop_columns(["trip_distance"]), path
    )

    message = refusal(spark, pinned_settings, tmp_path, str(path))

    assert message.startswith(f"input {path} has no column(s) trip_distance; a ride needs PULocationID, ")


def test_months_whose_ride_columns_have_different_types(spark, pinned_settings, tmp_path):
    for month in ("2021-01", "2023-01"):  # location ids as text, then as int64
        pq.write_table(
            pq.read_table(DATA / f"green_tripdata_{month}.parquet").slice(0, 100), tmp_path / f"{month}.parquet"
        )

    message = refusal(
        spark, pinned_settings, tmp_path, str(tmp_path / "2021-01.parquet"), str(tmp_path / "2023-01.parquet")
    )

    assert message.startswith("[FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH] ")
    assert "Parquet column [PULocationID]" in message or "Parquet column [DOLocationID]" in message


def test_a_corrupt_file_among_good_ones_leaves_nothing_that_blocks_the_rerun(spark, pinned_settings, tmp_path):
    """Issue 22 row 5: the failure came after the rejects folder was written; it must not be left behind
    (the rerun would ask for --overwrite) nor look complete."""
    for month in ("2023-01", "2023-02"):
        pq.write_table(
            pq.read_table(DATA / f"green_tripdata_{month}.parquet").slice(0, 100), tmp_path / f"{month}.parquet"
        )
    good = (tmp_path / "2023-01.parquet").read_bytes()
    (tmp_path / "2023-02.parquet").write_bytes(good[:4] + b"\0" * (len(good) - 8) + good[-4:])

    message = refusal(
        spark, pinned_settings, tmp_path, str(tmp_path / "2023-01.parquet"), str(tmp_path / "2023-02.parquet")
    )

    assert message.startswith("[FAILED_READ_FILE.NO_HINT] Encountered error while reading file ")
    assert f"{tmp_path}/2023-02.parquet" in message
