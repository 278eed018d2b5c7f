"""`make drift-report`'s comparison: training writes the reference into the logged model, and a scored month
is compared with it by the test Evidently picks for its size, with a verdict per column."""

from __future__ import annotations

import json

import pytest

from ride_scorer.batch.job import BatchJob, score_file
from ride_scorer.core.integrity import directory_manifest
from ride_scorer.core.model import load_model
from ride_scorer.core.model_files import REFERENCE_FILE
from tests.shared.trips import month_slice
from training.drift_report import main


@pytest.fixture(scope="module")
def model_dir(registered):
    return registered.linear.model_dir


def scored_month(model_dir, tmp_path, month: str, rows: int) -> str:
    source = month_slice(tmp_path, month, rows)
    output = str(tmp_path / f"{month}.scored.parquet")
    score_file(BatchJob(source, output, str(tmp_path / "rejects.parquet")), load_model(model_dir), "m")
    return output


def test_training_writes_the_reference_into_the_model_folder_under_its_digest(model_dir):
    document = json.loads((model_dir / REFERENCE_FILE).read_text())
    assert REFERENCE_FILE in directory_manifest(model_dir)
    assert document["rows"] == 3000  # the training slice
    assert load_model(model_dir).reference.seen_pairs == frozenset(document["seen_pairs"])


@pytest.mark.parametrize(
    ("month", "rows", "drifted", "tests"),
    [
        # The rows the model was trained on: nothing drifts.
        ("2021-01", 3000, set(), {"Jensen-Shannon", "Wasserstein (normed)"}),
        # Two years later, the zones of the rides moved.
        ("2023-01", 3000, {"PULocationID", "DOLocationID"}, {"Jensen-Shannon", "Wasserstein (normed)"}),
        # 1,000 rows or fewer: Kolmogorov-Smirnov and chi-square, as Evidently does.
        ("2023-01", 600, {"PULocationID", "DOLocationID"}, {"K-S p-value", "chi-square p-value"}),
    ],
)
def test_each_column_gets_the_test_for_its_size_and_a_verdict(model_dir, tmp_path, capsys, month, rows, drifted, tests):
    report = tmp_path / "report.html"
    code = main(
        ["--scored", scored_month(model_dir, tmp_path, month, rows), "--model", str(model_dir), "--output", str(report)]
    )

    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    verdicts = {line.split()[0]: line.rsplit(maxsplit=1)[1] for line in lines[:-1]}
    assert set(verdicts) == {"PULocationID", "DOLocationID", "trip_distance", "ride_duration"}
    assert {column for column, verdict in verdicts.items() if verdict == "DRIFTED"} >= drifted
    if not drifted:
        assert set(verdicts.values()) == {"ok"}
    assert {test for test in tests if any(test in line for line in lines)} == tests
    assert "<h1>Drift report</h1>" in report.read_text()


def test_predictions_of_another_model_are_refused_in_one_line(model_dir, registered, tmp_path, capsys):
    scored = scored_month(registered.forest.model_dir, tmp_path, "2023-01", 50)
    capsys.readouterr()
    code = main(["--scored", scored, "--model", str(model_dir), "--output", str(tmp_path / "r.html")])
    assert code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ") and "holds predictions of model" in line
    assert not (tmp_path / "r.html").exists()
