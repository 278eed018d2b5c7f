"""Batch scoring of local parquet files: real TLC rides in, exact predictions and exact rejects out."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ride_scorer.batch.cli import NO_MODEL, main
from ride_scorer.batch.files import BatchIOError, default_rejects_location
from ride_scorer.batch.job import BatchInputError, BatchJob, score_file
from ride_scorer.core.integrity import directory_digest
from ride_scorer.core.model import load_model
from tests.shared.paths import DATA, ROOT

RAW_MONTH = DATA / "green_tripdata_2023-01.parquet"
REAL_ROWS = 500
# Rows a user might find in a hand-edited or corrupted file, with the reason the streaming rules give.
DIRTY = [
    (
        {"PULocationID": 74, "DOLocationID": 75, "trip_distance": -1.5},
        "ride.trip_distance: Expected a finite `float` >= 0, got -1.5",
    ),
    (
        {"PULocationID": None, "DOLocationID": 75, "trip_distance": 2.0},
        "ride.PULocationID: Expected `int | str`, got `null`",
    ),
    (
        {"PULocationID": 74, "DOLocationID": 75, "trip_distance": math.nan},
        "ride.trip_distance: Expected a finite `float` >= 0, got nan",
    ),
    (
        {"PULocationID": -3, "DOLocationID": 75, "trip_distance": 2.0},
        "ride.PULocationID: Expected `int` >= 0",
    ),
    (
        {"PULocationID": 74, "DOLocationID": 75, "trip_distance": None},
        "ride.trip_distance: Expected `float`, got `null`",
    ),
]


@pytest.fixture
def model(trained_model_dir):
    return load_model(trained_model_dir)


def expected_duration(model, pickup, dropoff, distance) -> float:
    """The trained pipeline called directly with the documented feature shape (PU_DO, trip_distance)."""
    return float(model.regressor.predict([{"PU_DO": f"{pickup}_{dropoff}", "trip_distance": float(distance)}])[0])


@pytest.fixture
def dirty_month(tmp_path):
    """Real TLC 2023-01 rides in the published schema, with a dirty row after every 100th real one."""
    real = pq.read_table(RAW_MONTH).slice(0, REAL_ROWS)
    rows = real.select(["PULocationID", "DOLocationID", "trip_distance"]).to_pylist()
    for number, (dirty, _) in enumerate(DIRTY):
        rows.insert(100 * (number + 1) + number, dirty)
    schema = real.select(["PULocationID", "DOLocationID", "trip_distance"]).schema
    path = tmp_path / "dirty.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path, rows


def test_raw_tlc_rows_are_scored_and_dirty_rows_rejected_with_the_streaming_reasons(model, dirty_month, tmp_path):
    path, rows = dirty_month
    job = BatchJob(str(path), str(tmp_path / "out.parquet"), str(tmp_path / "rejects.parquet"), chunk_rows=64)

    summary = score_file(job, model, "ride_duration_prediction_model")

    dirty_rows = [index for index, row in enumerate(rows) if row in [dirty for dirty, _ in DIRTY]]
    assert (summary.rows, summary.scored, summary.rejected) == (REAL_ROWS + len(DIRTY), REAL_ROWS, len(DIRTY))
    assert summary.rejected_by_code == {"invalid_schema": len(DIRTY)}
    assert summary.model_version == model.version

    scored = pq.read_table(tmp_path / "out.parquet")
    assert scored.schema.names == [
        "ride_id",
        "PULocationID",
        "DOLocationID",
        "trip_distance",
        "ride_duration",
        "model_name",
        "model_version",
    ]
    clean = [(index, row) for index, row in enumerate(rows) if index not in dirty_rows]
    assert scored.to_pylist() == [
        {
            "ride_id": index,
            **row,
            "ride_duration": expected_duration(model, row["PULocationID"], row["DOLocationID"], row["trip_distance"]),
            "model_name": "ride_duration_prediction_model",
            "model_version": model.version,
        }
        for index, row in clean
    ]

    rejects = pq.read_table(tmp_path / "rejects.parquet").to_pylist()
    assert [(r["row"], r["ride_id"], r["reason_code"]) for r in rejects] == [
        (index, index, "invalid_schema") for index in dirty_rows
    ]
    # The first clause names the field and the rule; union branches may add detail after it.
    assert [r["reason"].split("; ")[0] for r in rejects] == [reason for _, reason in DIRTY]
    assert rejects[0]["trip_distance"] == -1.5 and rejects[1]["PULocationID"] is None


def test_chunks_bound_memory_one_row_group_per_chunk(model, dirty_month, tmp_path):
    path, rows = dirty_month
    job = BatchJob(str(path), str(tmp_path / "out.parquet"), str(tmp_path / "rejects.parquet"), chunk_rows=100)
    score_file(job, model, "m")
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_row_groups == math.ceil(len(rows) / 100)


def test_the_2021_schema_with_text_location_ids_and_an_id_column(model, tmp_path):
    """2021 months store location ids as text; the same ride gets the same prediction as with integers."""
    month = pq.read_table(DATA / "green_tripdata_2021-01.parquet").slice(0, 300)
    path = tmp_path / "2021.parquet"
    pq.write_table(month, path)
    job = BatchJob(
        str(path), str(tmp_path / "out.parquet"), str(tmp_path / "rej.parquet"), id_column="__index_level_0__"
    )

    summary = score_file(job, model, "m")

    scored = pq.read_table(tmp_path / "out.parquet")
    assert summary.scored == 300
    assert scored.column("ride_id").to_pylist() == month.column("__index_level_0__").to_pylist()
    assert scored.schema.field("PULocationID").type == pa.string()
    assert scored.column("ride_duration").to_pylist() == [
        expected_duration(model, int(pu), int(do), distance)
        for pu, do, distance in zip(
            *(month.column(c).to_pylist() for c in ("PULocationID", "DOLocationID", "trip_distance")), strict=True
        )
    ]


def test_a_file_without_a_ride_column_is_refused_and_nothing_is_written(model, tmp_path):
    path = tmp_path / "no-distance.parquet"
    pq.write_table(pa.table({"PULocationID": [1], "DOLocationID": [2]}), path)
    job = BatchJob(str(path), str(tmp_path / "out.parquet"), str(tmp_path / "rej.parquet"))
    with pytest.raises(BatchInputError, match=r"has no column\(s\) trip_distance; a ride needs PULocationID"):
        score_file(job, model, "m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["no-distance.parquet"]


def test_a_missing_input_is_named(model, tmp_path):
    job = BatchJob(str(tmp_path / "nope.parquet"), str(tmp_path / "out.parquet"), str(tmp_path / "rej.parquet"))
    with pytest.raises(BatchIOError, match=r"nope\.parquet' does not exist"):
        score_file(job, model, "m")


@pytest.mark.parametrize(
    ("output", "rejects"),
    [
        ("out/scored.parquet", "out/scored.rejects.parquet"),
        ("s3://bucket/day=2023-01-01/scored.parquet", "s3://bucket/day=2023-01-01/scored.rejects.parquet"),
        ("scored", "scored.rejects.parquet"),
    ],
)
def test_rejects_go_beside_the_output_by_default(output, rejects):
    assert default_rejects_location(output) == rejects


def test_cli_prints_a_json_summary_and_uses_model_location(
    trained_model_dir, dirty_month, tmp_path, monkeypatch, capsys
):
    path, rows = dirty_month
    monkeypatch.setenv("MODEL_LOCATION", str(trained_model_dir))
    monkeypatch.setenv("MODEL_SHA256", directory_digest(trained_model_dir))
    monkeypatch.setenv("MODEL_NAME", "ride-duration")

    code = main(["--input", str(path), "--output", str(tmp_path / "o.parquet"), "--no-progress", "--chunk-rows", "50"])

    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert code == 0
    assert {
        key: summary[key] for key in ("rows", "scored", "rejected", "rejected_by_code", "model_name", "rejects")
    } == {
        "rows": len(rows),
        "scored": REAL_ROWS,
        "rejected": len(DIRTY),
        "rejected_by_code": {"invalid_schema": len(DIRTY)},
        "model_name": "ride-duration",
        "rejects": str(tmp_path / "o.rejects.parquet"),
    }
    assert f"scored {REAL_ROWS} of {len(rows)} rows" in captured.err
    assert pq.read_table(tmp_path / "o.parquet").column("model_name").unique().to_pylist() == ["ride-duration"]


def test_the_readme_command_says_how_to_give_a_model(tmp_path, monkeypatch, capsys):
    """Issue 25 item 1: without a model the first command a newcomer runs says what to do, in one line."""
    monkeypatch.delenv("MODEL_LOCATION", raising=False)
    monkeypatch.chdir(tmp_path)
    code = main(["--input", str(RAW_MONTH), "--output", "o.parquet"])
    assert code == 1
    assert capsys.readouterr().err == f"error: {NO_MODEL}\n"
    assert list(tmp_path.iterdir()) == []


def test_model_flags_stand_in_for_the_environment_and_the_output_defaults_to_an_ignored_folder(
    trained_model_dir, tmp_path, monkeypatch, capsys
):
    """Issue 25 item 1: `--model` and `--model-sha256` as the runner and the backfill take them; without
    `--output` the predictions go to .cache/batch/, which .gitignore ignores."""
    for name in ("MODEL_LOCATION", "MODEL_SHA256"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    pq.write_table(pq.read_table(RAW_MONTH).slice(0, 20), tmp_path / "in.parquet")
    digest = directory_digest(trained_model_dir)

    code = main(["--input", "in.parquet", "--model", str(trained_model_dir), "--model-sha256", digest, "--no-progress"])

    assert code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["output"] == ".cache/batch/in.parquet"
    assert pq.read_table(".cache/batch/in.parquet").num_rows == 20
    assert ".cache/" in (ROOT / ".gitignore").read_text().splitlines()


def test_a_folder_as_input_hints_at_input_prefix_before_any_model_lookup(tmp_path, monkeypatch, capsys):
    """Issue 25 item 4: `make batch BATCH_INPUT=<folder>` spent 10 s finding the model first."""
    monkeypatch.delenv("MODEL_LOCATION", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rides").mkdir()

    assert main(["--input", "rides", "--output", "o.parquet"]) == 1
    assert capsys.readouterr().err == (
        "error: input 'rides' is a folder, not a file: to score every parquet file in it, use --input-prefix rides "
        "--output-prefix <folder for predictions/, rejects/, markers/>\n"
    )


def test_the_summary_reports_unseen_pairs_distances_beyond_training_and_prediction_quantiles(
    referenced_model_dir, tmp_path
):
    """Shares of the valid rides (a rejected row is in neither), quantiles of the predictions written."""
    model = load_model(referenced_model_dir)
    reference = model.reference
    real = pq.read_table(DATA / "green_tripdata_2021-01.parquet").slice(0, 90)
    rows = [
        {
            "PULocationID": int(r["PULocationID"]),
            "DOLocationID": int(r["DOLocationID"]),
            "trip_distance": r["trip_distance"],
        }
        for r in real.to_pylist()
    ]
    rows += [{"PULocationID": 90000 + i, "DOLocationID": 7, "trip_distance": 1.0} for i in range(6)]  # unseen
    rows += [{"PULocationID": 74, "DOLocationID": 75, "trip_distance": reference.max_trip_distance + 1}] * 4
    rows += [dirty for dirty, _ in DIRTY]
    path = tmp_path / "month.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    job = BatchJob(str(path), str(tmp_path / "out.parquet"), str(tmp_path / "rejects.parquet"), chunk_rows=32)

    summary = score_file(job, model, "ride_duration_prediction_model")

    pairs_seen_in_slice = sum(f"{r['PULocationID']}_{r['DOLocationID']}" not in reference.seen_pairs for r in rows[:90])
    assert pairs_seen_in_slice == 0  # the first rows of the month the model was trained on
    assert summary.unseen_pair_share == 6 / 100
    assert summary.out_of_range_share == 4 / 100
    predictions = pq.read_table(tmp_path / "out.parquet").column("ride_duration").to_numpy()
    assert summary.prediction_quantiles == dict(
        zip(
            ["p05", "p25", "p50", "p75", "p95"],
            np.quantile(predictions, [0.05, 0.25, 0.5, 0.75, 0.95]).tolist(),
            strict=True,
        )
    )
