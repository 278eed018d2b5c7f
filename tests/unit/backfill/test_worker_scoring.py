"""The mapInArrow function without Spark: Arrow batches as Spark hands them over (ride columns, each row's
number in its file and the file), scored with the batch job's columnar code and the model loaded once per
process."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from ride_scorer.backfill import scoring
from ride_scorer.backfill.scoring import FILE_COLUMN, ROW_COLUMN, score_batches, worker_model
from ride_scorer.columnar.chunks import score_chunk
from ride_scorer.core.integrity import ModelIntegrityError, directory_digest
from ride_scorer.core.settings import ModelSettings


@pytest.fixture
def settings(trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> ModelSettings:
    monkeypatch.setattr(scoring, "_models", {})
    return ModelSettings(str(trained_model_dir), model_sha256=directory_digest(trained_model_dir))


def spark_batch() -> pa.RecordBatch:
    """Rows of two files in one batch, as Spark may combine them in one task."""
    return pa.RecordBatch.from_pydict(
        {
            "PULocationID": [130, None, 74, 43],
            "DOLocationID": [205, 5, 2**40, 151],
            "trip_distance": [3.66, 1.0, 1.0, 0.8],
            ROW_COLUMN: [7, 8, 0, 1],
            FILE_COLUMN: ["file:/a.parquet", "file:/a.parquet", "file:/b.parquet", "file:/b.parquet"],
        }
    )


def test_rows_are_numbered_in_their_own_file_and_scored_as_the_batch_job_scores_them(settings):
    (out,) = score_batches(iter([spark_batch()]), settings, None)

    model = worker_model(settings)
    expected = score_chunk(spark_batch(), [7, 8, 0, 1], None, model, settings.model_name)
    rows = out.to_pylist()
    assert [(row["row"], row["ride_id"], row["input_file"]) for row in rows] == [
        (7, 7, "file:/a.parquet"),
        (1, 1, "file:/b.parquet"),
        (8, 8, "file:/a.parquet"),
        (0, 0, "file:/b.parquet"),
    ]
    assert [row["ride_duration"] for row in rows[:2]] == expected.scored["ride_duration"]
    assert [row["reason_code"] for row in rows] == [None, None, "invalid_schema", "invalid_schema"]
    assert [row["model_version"] for row in rows] == [model.version] * 2 + [None] * 2


def test_the_model_is_loaded_once_per_process(settings):
    first = worker_model(settings)
    list(score_batches(iter([spark_batch(), spark_batch()]), settings, None))

    assert worker_model(settings) is first


def test_a_model_that_fails_its_digest_raises_in_the_worker(settings):
    wrong = ModelSettings(settings.model_location, model_sha256="0" * 64)

    with pytest.raises(ModelIntegrityError, match="refusing to load it"):
        list(score_batches(iter([spark_batch()]), wrong, None))


def test_with_an_id_column_the_ride_id_is_that_column_and_keeps_its_type(settings):
    batch = spark_batch().append_column("trip_key", pa.array(["a-7", "a-8", "b-0", "b-1"]))

    (out,) = score_batches(iter([batch]), settings, "trip_key")

    assert out.schema.field("ride_id").type == pa.string()
    assert [(row["row"], row["ride_id"]) for row in out.to_pylist()] == [(7, "a-7"), (1, "b-1"), (8, "a-8"), (0, "b-0")]
