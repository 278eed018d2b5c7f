"""The backfill on Spark (local[2]) against the single-machine batch job, on real TLC months with dirty rows:
the same rows, the same floats, the same rejects with the same reason codes, the batch job's columns plus
input_file; and a model that fails its digest on the workers stops the run with that one-line error."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ride_scorer.backfill.job import BackfillError, run
from ride_scorer.backfill.settings import BackfillSettings
from ride_scorer.batch.cli import main as batch_main
from ride_scorer.core.model import load_model
from ride_scorer.core.settings import ModelSettings
from tests.shared.paths import DATA

MODEL_CODES = {"input_out_of_range", "model_error", "non_finite_prediction"}
# pandas 3 is the training extra's; mapInArrow itself builds no pandas object.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")]


def comparable(table: pa.Table, key: str) -> list[dict]:
    """Rows sorted by `key`; floats by repr, which is exact and makes NaN equal to NaN."""
    rows = sorted(table.to_pylist(), key=lambda row: row[key])
    return [{name: repr(value) if isinstance(value, float) else value for name, value in row.items()} for row in rows]


def batch_outputs(path: Path, folder: Path) -> tuple[pa.Table, pa.Table]:
    output = folder / f"{path.stem}.scored.parquet"
    assert batch_main(["--input", str(path), "--output", str(output), "--no-progress"]) == 0
    return pq.read_table(output), pq.read_table(folder / f"{path.stem}.scored.rejects.parquet")


def of_file(table: pa.Table, path: Path) -> pa.Table:
    """The rows of one input file (input_file is the URI Spark read, e.g. file:/tmp/.../x.parquet)."""
    mask = [uri.endswith("/" + path.name) for uri in table.column("input_file").to_pylist()]
    return table.filter(pa.array(mask)).drop_columns(["input_file"])


@pytest.mark.parametrize("dirty_months", [("2023-01",), ("2021-01", "2021-02")], indirect=True)
def test_backfill_equals_the_batch_job_dirty_rows_included(spark, dirty_months, pinned_settings, tmp_path):
    out = tmp_path / "backfill"
    settings = BackfillSettings(
        inputs=(str(dirty_months.folder),),
        output=str(out / "predictions"),
        rejects=str(out / "rejects"),
        model=pinned_settings,
    )
    model = load_model(Path(pinned_settings.model_location))
    version, reference = model.version, model.reference

    summary = run(spark, settings, version, reference)

    predictions, rejects = pq.read_table(settings.output), pq.read_table(settings.rejects)
    assert (out / "predictions" / "_SUCCESS").exists() and (out / "rejects" / "_SUCCESS").exists()
    batch_codes: Counter[str] = Counter()
    batch_rows = 0
    valid_rides: list[dict] = []  # the rows the domain shares are of: scored, or refused by the model alone
    for path in dirty_months.files:
        scored, rejected = batch_outputs(path, tmp_path)
        assert predictions.schema.names == [*scored.schema.names, "input_file"]
        assert rejects.schema.names == [*rejected.schema.names, "input_file"]
        assert [field.type for field in of_file(predictions, path).schema] == [field.type for field in scored.schema]
        assert [field.type for field in of_file(rejects, path).schema] == [field.type for field in rejected.schema]
        assert comparable(of_file(predictions, path), "ride_id") == comparable(scored, "ride_id")
        assert comparable(of_file(rejects, path), "row") == comparable(rejected, "row")
        assert rejected.num_rows >= 5  # the dirty rows are really there and really rejected
        batch_codes.update(rejected.column("reason_code").to_pylist())
        batch_rows += scored.num_rows + rejected.num_rows
        valid_rides += scored.to_pylist() + [row for row in rejected.to_pylist() if row["reason_code"] in MODEL_CODES]
    assert (summary.rows, summary.rejected_by_code) == (batch_rows, dict(sorted(batch_codes.items())))
    assert summary.scored == predictions.num_rows and summary.model_version == version
    unseen = sum(f"{r['PULocationID']}_{r['DOLocationID']}" not in reference.seen_pairs for r in valid_rides)
    low, high = reference.min_trip_distance, reference.max_trip_distance
    beyond = sum(not low <= r["trip_distance"] <= high for r in valid_rides)
    assert (summary.unseen_pair_share, summary.out_of_range_share) == (
        unseen / len(valid_rides),
        beyond / len(valid_rides),
    )
    exact = np.quantile(predictions.column("ride_duration").to_numpy(), [0.05, 0.25, 0.5, 0.75, 0.95])
    assert list(summary.prediction_quantiles.values()) == pytest.approx(exact.tolist(), rel=0.02)


def test_a_model_that_fails_its_digest_on_the_workers_stops_the_run(spark, pinned_settings, tmp_path):
    rides = tmp_path / "rides.parquet"
    pq.write_table(pq.read_table(DATA / "green_tripdata_2023-01.parquet").slice(0, 50), rides)
    wrong = ModelSettings(pinned_settings.model_location, model_sha256="0" * 64)
    settings = BackfillSettings((str(rides),), str(tmp_path / "out"), str(tmp_path / "out.rejects"), wrong)

    with pytest.raises(BackfillError) as refused:
        run(spark, settings, "unused")

    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("ride_scorer.core.integrity.ModelIntegrityError: model at ")
    assert f"but MODEL_SHA256 is {'0' * 64}" in message and "refusing to load it" in message
    assert not (tmp_path / "out").exists()
