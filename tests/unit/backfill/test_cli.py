"""The backfill CLI's refusals, all before Spark starts: a model that fails its digest, a missing pin,
outputs that overlap an input or each other. One `error:` line and the exit code a scheduler acts on."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")

from ride_scorer.backfill.job import main
from ride_scorer.backfill.settings import BackfillLocationError, default_rejects_location, refuse_overlaps
from ride_scorer.columnar.locations import Location, Pattern
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
    assert line.endswith("refusing to load it")
    assert not Path("out").exists()


def test_a_missing_pin_names_the_variable(pinned, monkeypatch, capsys):
    monkeypatch.delenv("MODEL_SHA256")

    assert main(["--input", "rides", "--output", "out"]) == 1

    (line,) = error_lines(capsys)
    assert line.startswith("error: MODEL_SHA256 is not set")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        # Issue 22 row 1: Hadoop normalizes the URI, so every spelling of the input folder is the input folder.
        (["--input", "rides", "--output", "file://{cwd}/rides", "--overwrite"], "error: --output "),
        (["--input", "{cwd}/rides", "--output", "file://{cwd}/rides/scored"], "error: --output "),
        (["--input", "rides", "--output", "file:{cwd}//rides/./", "--overwrite"], "error: --output "),
        (["--input", "rides", "--output", "file://localhost{cwd}/rides"], "error: --output "),
        (["--input", "rides", "--output", "//{cwd}/rides/../rides/x"], "error: --output "),
        (["--input", "link-to-rides", "--output", "rides/x"], "error: --output "),
        (["--input", "rides/*.parquet", "--output", "rides/2023-02.parquet", "--overwrite"], "error: --output "),
        (["--input", "rides/2023-*.parquet", "--output", "."], "error: --output "),
        (["--input", "rides", "--output", "rides"], "error: --output "),
        (["--input", "rides/2023-01.parquet", "--output", "rides"], "error: --output "),
        (["--input", "rides", "--output", "out", "--rejects", "out/"], "error: --output "),
        (["--input", "rides", "--output", "out", "--rejects", "out/bad"], "error: --output "),
        (["--input", "rides", "--output", "out", "--rejects", "file:{cwd}/rides/bad"], "error: --rejects "),
        (["--input", "rides", "--output", "hdfs://namenode/out"], "error: --output: 'hdfs://namenode/out': hdfs://"),
        (["--input", "rides", "--output", "s3://bucket/a/../out"], "error: --output: 's3://bucket/a/../out': S3 keys"),
    ],
)
def test_outputs_that_overlap_an_input_or_each_other_are_refused_with_exit_2(
    pinned, capsys, monkeypatch, arguments, message
):
    """Refused before Spark starts (a started session would fail the test's clock long before its asserts),
    and nothing of the input changes."""
    monkeypatch.setattr("ride_scorer.backfill.job.spark_session", None)  # calling it would be a TypeError
    rides = Path("rides")
    rides.mkdir()
    (rides / "2023-01.parquet").write_bytes(b"PAR1 rides PAR1")
    Path("link-to-rides").symlink_to(rides.resolve())
    cwd = str(Path.cwd())

    assert main([argument.format(cwd=cwd) for argument in arguments]) == 2

    (line,) = error_lines(capsys)
    assert line.startswith(message)
    assert sorted(path.name for path in rides.iterdir()) == ["2023-01.parquet"]
    assert (rides / "2023-01.parquet").read_bytes() == b"PAR1 rides PAR1"
    assert not Path("out").exists()


def test_an_existing_output_is_refused_before_spark_starts(pinned, capsys, monkeypatch):
    """Issue 25: no 30 s of Spark start-up before the refusal."""
    monkeypatch.setattr("ride_scorer.backfill.job.spark_session", None)
    Path("out.rejects").mkdir()

    assert main(["--input", "rides", "--output", "out"]) == 1

    assert error_lines(capsys) == [
        f"error: rejects {str(Path.cwd() / 'out.rejects')!r} already exists; pass --overwrite to replace it"
    ]


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


SPELLING = st.sampled_from(["{p}", "./{p}", "{cwd}/{p}", "/{cwd}//{p}/", "file://{cwd}/{p}", "file:{cwd}/{p}/."])
FOLDER = st.lists(st.sampled_from(["rides", "link-to-rides", "out", "x", ".."]), min_size=1, max_size=3)


def holds(one: str, other: str) -> bool:
    return os.path.commonpath([one, other]) in (one, other)


@settings(max_examples=40, deadline=None)
@given(source=FOLDER, target=FOLDER, source_form=SPELLING, target_form=SPELLING)
def test_any_spelling_that_overlaps_the_input_is_refused_and_no_other(
    tmp_path_factory, source, target, source_form, target_form
):
    """Issue 22's property for the backfill: outputs refused exactly when, as the file system resolves them,
    one of the three folders holds another; whatever the spellings (relative, absolute, file:, `..`, links,
    repeated and trailing slashes)."""
    root = tmp_path_factory.mktemp("spellings").resolve()
    (root / "rides").mkdir()
    (root / "link-to-rides").symlink_to(root / "rides")
    source_path, target_path = "/".join(["rides", *source]), "/".join(["out", *target])
    old = os.getcwd()
    os.chdir(root)
    try:
        inputs = [Pattern.parse(source_form.format(p=source_path, cwd=root))]
        output = Location.parse(target_form.format(p=target_path, cwd=root))
        rejects = Location.parse(str(root / "separate-rejects"))
        real = [os.path.realpath(root / path) for path in (source_path, target_path, "separate-rejects")]
        try:
            refuse_overlaps(inputs, output, rejects)
            refused = False
        except BackfillLocationError:
            refused = True
    finally:
        os.chdir(old)
    assert refused is (holds(real[0], real[1]) or holds(real[0], real[2]) or holds(real[1], real[2]))
