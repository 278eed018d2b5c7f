"""The batch job on a small local parquet file: every row the model cannot score lands in the rejects file
with its reason_code, every other row is scored, and the job runs to the end."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ride_scorer.batch.job import BatchJob, score_file
from ride_scorer.core.model import FLOAT32_MAX
from tests.shared.fakes.models import FAKE_VERSION, PAST_FLOAT32_DISTANCE, POISON_PU_DO, expected_minutes

MODEL_NAME = "batch-test-model"
SCORED_COLUMNS = ["ride_id", "PULocationID", "DOLocationID", "trip_distance", "ride_duration", "model_name",
                  "model_version"]  # fmt: skip
REJECT_COLUMNS = ["row", "ride_id", "PULocationID", "DOLocationID", "trip_distance", "reason_code", "reason"]

# (trip id, PULocationID, DOLocationID, trip_distance): rows 1, 2, 4, 5 and 7 cannot be scored.
ROWS = [
    ("t0", 130, 205, 1.0),
    ("t1", 666, 666, 2.0),  # the model raises on this zone pair
    ("t2", 130, 205, PAST_FLOAT32_DISTANCE),  # past what the model accepts
    ("t3", 131, 206, 3.0),
    ("t4", 777, 777, 4.0),  # the model predicts inf
    ("t5", 132, 207, -1.0),  # invalid before the model
    ("t6", 133, 208, 6.0),
    ("t7", 666, 666, 7.0),
    ("t8", 134, 209, 8.0),
]


def no_s3():
    raise AssertionError("a local job must not reach S3")


def write_rides(path: Path) -> Path:
    table = pa.table(
        {
            "trip_id": pa.array([row[0] for row in ROWS], pa.string()),
            "PULocationID": pa.array([row[1] for row in ROWS], pa.int64()),
            "DOLocationID": pa.array([row[2] for row in ROWS], pa.int64()),
            "trip_distance": pa.array([row[3] for row in ROWS], pa.float64()),
            "fare_amount": pa.array([10.0] * len(ROWS), pa.float64()),  # a column the job does not read
        }
    )
    pq.write_table(table, path)
    return path


def run(tmp_path: Path, model, id_column: str | None, chunk_rows: int):
    job = BatchJob(
        input=str(write_rides(tmp_path / "rides.parquet")),
        output=str(tmp_path / "scored.parquet"),
        rejects=str(tmp_path / "scored.rejects.parquet"),
        id_column=id_column,
        chunk_rows=chunk_rows,
        progress=False,
    )
    summary = score_file(job, model, MODEL_NAME, s3_client=no_s3)
    return summary, pq.read_table(job.output), pq.read_table(job.rejects)


@pytest.mark.parametrize("chunk_rows", [2, 50_000], ids=["chunks-of-2", "one-chunk"])
def test_rows_the_model_rejects_land_in_the_rejects_file_and_the_rest_are_scored(tmp_path, picky_model, chunk_rows):
    summary, scored, rejects = run(tmp_path, picky_model, "trip_id", chunk_rows)

    assert scored.column_names == SCORED_COLUMNS
    assert scored.to_pylist() == [
        {
            "ride_id": trip,
            "PULocationID": pu,
            "DOLocationID": do,
            "trip_distance": distance,
            "ride_duration": expected_minutes(distance),
            "model_name": MODEL_NAME,
            "model_version": FAKE_VERSION,
        }
        for trip, pu, do, distance in (ROWS[0], ROWS[3], ROWS[6], ROWS[8])
    ]
    assert rejects.column_names == REJECT_COLUMNS
    assert [(r["row"], r["ride_id"], r["reason_code"]) for r in rejects.to_pylist()] == [
        (1, "t1", "model_error"),
        (2, "t2", "input_out_of_range"),
        (4, "t4", "non_finite_prediction"),
        (5, "t5", "invalid_schema"),
        (7, "t7", "model_error"),
    ]
    by_row = {r["row"]: r for r in rejects.to_pylist()}
    assert by_row[1]["reason"] == f"the model cannot score this ride: unknown zone pair: {POISON_PU_DO}"
    assert by_row[2]["reason"] == f"ride.trip_distance: 1e+39 is larger than the model accepts ({FLOAT32_MAX!r})"
    assert by_row[2]["trip_distance"] == PAST_FLOAT32_DISTANCE  # the input as it was in the file
    assert by_row[4]["reason"] == "the model predicted inf minutes; only finite durations can be published"
    assert (by_row[7]["PULocationID"], by_row[7]["DOLocationID"], by_row[7]["trip_distance"]) == (666, 666, 7.0)

    assert (summary.rows, summary.scored, summary.rejected) == (9, 4, 5)
    assert summary.rejected_by_code == {
        "input_out_of_range": 1,
        "invalid_schema": 1,
        "model_error": 2,
        "non_finite_prediction": 1,
    }
    assert summary.model_version == FAKE_VERSION


def test_without_an_id_column_the_row_number_is_the_ride_id(tmp_path, picky_model):
    _, scored, rejects = run(tmp_path, picky_model, None, chunk_rows=4)

    assert scored.column("ride_id").to_pylist() == [0, 3, 6, 8]
    assert rejects.column("ride_id").to_pylist() == rejects.column("row").to_pylist() == [1, 2, 4, 5, 7]
    assert rejects.column("reason_code").to_pylist() == [
        "model_error",
        "input_out_of_range",
        "non_finite_prediction",
        "invalid_schema",
        "model_error",
    ]


def test_the_scored_file_holds_only_finite_durations(tmp_path, picky_model):
    _, scored, _ = run(tmp_path, picky_model, "trip_id", chunk_rows=3)

    assert all(math.isfinite(value) for value in scored.column("ride_duration").to_pylist())
    assert scored.num_rows == 4


def test_a_chunk_the_model_rejects_entirely_does_not_stop_the_job(tmp_path, picky_model, picky_regressor):
    # Chunks of one row: rows 1, 2, 4 and 7 are each a chunk with nothing the model can score.
    summary, scored, rejects = run(tmp_path, picky_model, "trip_id", chunk_rows=1)

    assert (summary.rows, summary.scored, summary.rejected) == (9, 4, 5)
    assert scored.column("ride_id").to_pylist() == ["t0", "t3", "t6", "t8"]
    assert rejects.column("ride_id").to_pylist() == ["t1", "t2", "t4", "t5", "t7"]
    # The model never saw the distance past its limit.
    assert PAST_FLOAT32_DISTANCE not in picky_regressor.seen_distances
