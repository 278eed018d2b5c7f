"""The backfill CLI's refusals, all before Spark starts: a model that fails its digest, a missing pin,
outputs that overlap an input or each other. One `error:` line and the exit code a scheduler acts on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")

from ride_scorer.backfill.job import main
from ride_scorer.backfill.settings import default_rejects_location
from ride_scorer.core.integrity import directory_digest


@pytest.fixture
def pinned(trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    model = shutil.copytree(trained_model_dir, tmp_path / "model")
    monkeypatch.setenv("MODEL_LOCATION", str(model))
    monkeypatch.setenv("MODEL_SHA256", directory_digest(model))
    monkeypatch.chdir(tmp_path)
    return model


def error_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


def test_a_model_that_fails_its_digest_stops_the_job_before_spark_starts(pinned, capsys):
    (pinned / "MLmodel").write_text((pinned / "MLmodel").read_text() + "\n# tampered\n")

    assert main(["--input", "rides", "--output", "out"]) == 1

    (line,) = error_lines(capsys)
    assert line.startswith(f"error: model at {pinned} has digest ")
    assert line.endswith("refusing to unpickle it")
    assert not Path("out").exists()


def test_a_missing_pin_names_the_variable(pinned, monkeypatch, capsys):
    monkeypatch.delenv("MODEL_SHA256")

    assert main(["--input", "rides", "--output", "out"]) == 1

    (line,) = error_lines(capsys)
    assert line.startswith("error: MODEL_SHA256 is not set")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--input", "rides", "--output", "rides"], "error: --output "),
        (["--input", "rides", "--output", "rides/out"], "error: --output "),
        (["--input", "rides/2023-01.parquet", "--output", "rides"], "error: --output "),
        (["--input", "rides", "--output", "out", "--rejects", "out/"], "error: --output and --rejects are the same"),
        (["--input", "rides", "--output", "out", "--rejects", "rides/bad"], "error: --rejects "),
    ],
)
def test_outputs_that_overlap_an_input_or_each_other_are_refused_with_exit_2(pinned, capsys, arguments, message):
    assert main(arguments) == 2

    (line,) = error_lines(capsys)
    assert line.startswith(message)
    assert not Path("out").exists()


@pytest.mark.parametrize(
    ("output", "rejects"),
    [
        ("out/predictions", "out/predictions.rejects"),
        ("s3://bucket/backfill/2023/", "s3://bucket/backfill/2023.rejects"),
        ("out/scored.parquet", "out/scored.rejects.parquet"),
    ],
)
def test_rejects_go_beside_the_predictions_by_default(output, rejects):
    assert default_rejects_location(output) == rejects
