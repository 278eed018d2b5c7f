"""The batch CLI never loses data: files that collide are refused with exit 2 before anything is read, and
every failure is one `error:` line with exit 1 that leaves the folder exactly as it was (no traceback, no
half-written output, no rejects file without its output, the input's bytes unchanged)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ride_scorer.batch.cli import main
from tests.shared.paths import DATA

MONTH = DATA / "green_tripdata_2023-01.parquet"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# Colliding files: exit 2, nothing read or written.


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (
            ["--input", "in.parquet", "--output", "o.parquet", "--rejects", "file://{dir}//o.parquet"],
            "error: --rejects '{dir}/o.parquet' and --output 'o.parquet' are the same file ({dir}/o.parquet): "
            "predictions and rejects need two files",
        ),
        (
            ["--input", "in.parquet", "--output", "o.parquet", "--rejects", "./o.parquet"],
            "error: --rejects './o.parquet' and --output 'o.parquet' are the same file ({dir}/o.parquet): "
            "predictions and rejects need two files",
        ),
        (
            ["--input", "in.parquet", "--output", "{dir}/o.parquet", "--rejects", "o.parquet"],
            "error: --rejects 'o.parquet' and --output '{dir}/o.parquet' are the same file ({dir}/o.parquet): "
            "predictions and rejects need two files",
        ),
        (
            ["--input", "in.parquet", "--output", "./in.parquet"],
            "error: --output './in.parquet' and --input 'in.parquet' are the same file ({dir}/in.parquet): "
            "refusing to overwrite the input",
        ),
        (
            ["--input", "{dir}/in.parquet", "--output", "sub/../in.parquet"],
            "error: --output 'sub/../in.parquet' and --input '{dir}/in.parquet' are the same file "
            "({dir}/in.parquet): refusing to overwrite the input",
        ),
        (
            ["--input", "in.parquet", "--output", "link.parquet"],
            "error: --output 'link.parquet' and --input 'in.parquet' are the same file ({dir}/in.parquet): "
            "refusing to overwrite the input",
        ),
        (
            ["--input", "in.parquet", "--output", "o.parquet", "--rejects", "in.parquet"],
            "error: --rejects 'in.parquet' and --input 'in.parquet' are the same file ({dir}/in.parquet): "
            "refusing to overwrite the input",
        ),
        (
            ["--input", "link.parquet", "--output", "o.parquet", "--rejects", "sub/../in.parquet"],
            "error: --rejects 'sub/../in.parquet' and --input 'link.parquet' are the same file "
            "({dir}/in.parquet): refusing to overwrite the input",
        ),
    ],
    ids=[
        "rejects-is-output-file-uri",
        "rejects-is-output-dot-slash",
        "rejects-is-output-absolute",
        "output-is-input",
        "output-is-input-through-dotdot",
        "output-is-a-symlink-to-input",
        "rejects-is-input",
        "rejects-is-input-through-symlink",
    ],
)
def test_files_that_collide_are_refused_before_anything_is_read(workdir, capsys, argv, error):
    (workdir.path / "sub").mkdir()
    (workdir.path / "link.parquet").symlink_to("in.parquet")
    before = workdir.listing()
    directory = str(workdir.path.resolve())

    code, out, err = run(capsys, *(part.format(dir=directory) for part in argv))

    assert (code, out, err) == (2, "", error.format(dir=directory) + "\n")
    assert workdir.listing() == before


SPELLINGS_OF_THE_INPUT = st.sampled_from(
    [
        "in.parquet",
        "./in.parquet",
        "{dir}/in.parquet",
        "/{dir}//./in.parquet",
        "file://{dir}/in.parquet",
        "file:{dir}/sub/../in.parquet",
        "file://localhost{dir}/in.parquet",
        "sub/../in.parquet",
        "link.parquet",
        "sub/../link.parquet",
    ]
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    spelling=SPELLINGS_OF_THE_INPUT,
    flag=st.sampled_from(["--output", "--rejects"]),
    input_spelling=SPELLINGS_OF_THE_INPUT,
)
def test_no_spelling_of_the_input_is_ever_written(workdir, capsys, spelling, flag, input_spelling):
    """Issue 22's property for the single-file mode: whatever the spellings, the job never writes over or
    beside its input through another name: exit 2, the folder unchanged."""
    (workdir.path / "sub").mkdir(exist_ok=True)
    if not (workdir.path / "link.parquet").is_symlink():
        (workdir.path / "link.parquet").symlink_to("in.parquet")
    before = workdir.listing()
    directory = str(workdir.path.resolve())
    argv = ["--input", input_spelling.format(dir=directory), flag, spelling.format(dir=directory)]
    if flag == "--rejects":
        argv += ["--output", "o.parquet"]

    code, out, err = run(capsys, *argv)

    assert (code, out) == (2, ""), err
    assert workdir.listing() == before


def test_the_default_rejects_file_may_not_be_the_input(workdir, capsys):
    """`--output x.parquet` puts rejects in x.rejects.parquet: with that file as the input, it is refused."""
    workdir.input.rename(workdir.path / "x.rejects.parquet")
    before = workdir.listing()

    code, out, err = run(capsys, "--input", "x.rejects.parquet", "--output", "x.parquet")

    assert (code, out) == (2, "")
    assert err == (
        f"error: the default --rejects 'x.rejects.parquet' and --input 'x.rejects.parquet' are the same file "
        f"({workdir.path.resolve()}/x.rejects.parquet): refusing to overwrite the input\n"
    )
    assert workdir.listing() == before


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (
            ["--input", "s3://rides/2023-01.parquet", "--output", "s3://rides//2023-01.parquet"],
            "error: --output 's3://rides/2023-01.parquet' and --input 's3://rides/2023-01.parquet' are the same "
            "file (s3://rides/2023-01.parquet): refusing to overwrite the input",
        ),
        (
            ["--input", "in.parquet", "--output", "s3://scored/o.parquet", "--rejects", "s3://scored/o.parquet/"],
            "error: --rejects 's3://scored/o.parquet' and --output 's3://scored/o.parquet' are the same file "
            "(s3://scored/o.parquet): predictions and rejects need two files",
        ),
    ],
    ids=["output-is-input", "rejects-is-output"],
)
def test_s3_objects_that_collide_are_refused_without_reaching_s3(workdir, capsys, monkeypatch, argv, error):
    # Nothing listens here: had the job reached S3, the error would be about the endpoint.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    before = workdir.listing()

    assert run(capsys, *argv) == (2, "", error + "\n")
    assert workdir.listing() == before


# Inputs the job cannot read: exit 1, one line, the folder unchanged.


NOT_PARQUET = "Parquet magic bytes not found in footer. Either the file is corrupted or this is not a parquet file."
MONTH_COLUMNS = (
    "VendorID, lpep_pickup_datetime, lpep_dropoff_datetime, store_and_fwd_flag, RatecodeID, PULocationID, "
    "passenger_count, trip_distance, fare_amount, extra, mta_tax, tip_amount, tolls_amount, ehail_fee, "
    "improvement_surcharge, total_amount, payment_type, trip_type, congestion_surcharge"
)


def write_not_parquet(workdir) -> str:
    (workdir.path / "rides.parquet").write_text("PULocationID,DOLocationID,trip_distance\n74,75,1.5\n")
    return f"input 'rides.parquet' cannot be read as parquet: {NOT_PARQUET}"


def write_empty(workdir) -> str:
    (workdir.path / "rides.parquet").write_bytes(b"")
    return "input 'rides.parquet' is empty (0 bytes), not a parquet file"


def write_truncated(workdir) -> str:
    (workdir.path / "rides.parquet").write_bytes(workdir.input.read_bytes()[:100_000])
    return f"input 'rides.parquet' cannot be read as parquet: {NOT_PARQUET}"


def write_corrupt_pages(workdir) -> str:
    """The footer is intact, the compressed pages after the first bytes are not: found while reading."""
    data = bytearray(workdir.input.read_bytes())
    for position in range(200_000, 1_200_000, 997):
        data[position] ^= 0xFF
    (workdir.path / "rides.parquet").write_bytes(bytes(data))
    return "input 'rides.parquet' cannot be read as parquet from row 0: Corrupt snappy compressed data."


def write_duplicate_column(workdir) -> str:
    month = pq.read_table(workdir.input).slice(0, 10)
    columns = [*month.columns, month.column("trip_distance")]
    pq.write_table(pa.table(columns, names=[*month.column_names, "trip_distance"]), workdir.path / "rides.parquet")
    return (
        "input 'rides.parquet' has more than one column named trip_distance; each column the job reads must appear once"
    )


def write_missing_column(workdir) -> str:
    pq.write_table(pq.read_table(workdir.input).drop_columns(["DOLocationID"]), workdir.path / "rides.parquet")
    return (
        "input 'rides.parquet' has no column(s) DOLocationID; a ride needs PULocationID, DOLocationID, "
        f"trip_distance (columns present: {MONTH_COLUMNS})"
    )


@pytest.mark.parametrize(
    "write_input",
    [
        write_not_parquet,
        write_empty,
        write_truncated,
        write_corrupt_pages,
        write_duplicate_column,
        write_missing_column,
    ],
    ids=["not-parquet", "empty", "truncated", "corrupt-pages", "duplicate-column", "missing-column"],
)
def test_an_input_that_cannot_be_scored_is_one_error_line_and_nothing_is_written(workdir, capsys, write_input):
    error = write_input(workdir)
    before = workdir.listing()

    code, out, err = run(capsys, "--input", "rides.parquet", "--output", "scored.parquet")

    assert (code, out, err) == (1, "", f"error: {error}\n")
    assert workdir.listing() == before


def test_an_unreadable_input_keeps_the_outputs_of_an_earlier_run(workdir, capsys):
    """A failed re-run leaves yesterday's finished files as they were, not deleted and not half-replaced."""
    write_truncated(workdir)
    (workdir.path / "scored.parquet").write_bytes(b"yesterday's predictions")
    (workdir.path / "scored.rejects.parquet").write_bytes(b"yesterday's rejects")
    before = workdir.listing()

    code, _, err = run(capsys, "--input", "rides.parquet", "--output", "scored.parquet")

    assert code == 1 and err.startswith("error: input 'rides.parquet' cannot be read as parquet")
    assert workdir.listing() == before


def test_a_successful_run_replaces_the_outputs_of_an_earlier_run(small_workdir, capsys):
    (small_workdir.path / "scored.parquet").write_bytes(b"yesterday's predictions")
    (small_workdir.path / "scored.rejects.parquet").write_bytes(b"yesterday's rejects")
    input_bytes = small_workdir.input.read_bytes()

    code, _, err = run(capsys, "--input", "in.parquet", "--output", "scored.parquet")

    assert code == 0, err
    assert pq.read_table("scored.parquet").num_rows + pq.read_table("scored.rejects.parquet").num_rows == 300
    assert sorted(os.listdir(small_workdir.path)) == ["in.parquet", "scored.parquet", "scored.rejects.parquet"]
    assert small_workdir.input.read_bytes() == input_bytes


# Destinations the job cannot write: exit 1 before scoring, no rejects file left behind.


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--output", "outdir"], "error: output 'outdir' is a directory, not a file"),
        (["--output", "o.parquet", "--rejects", "outdir"], "error: rejects file 'outdir' is a directory, not a file"),
        (
            ["--output", "pipe"],
            "error: output 'pipe' is not a regular file; the job only writes regular files",
        ),
        (["--output", "missing/o.parquet"], "error: output 'missing/o.parquet': folder 'missing' does not exist"),
    ],
    ids=["output-is-a-directory", "rejects-is-a-directory", "output-is-a-pipe", "output-folder-missing"],
)
def test_an_output_that_cannot_be_written_is_one_error_line_and_nothing_is_written(workdir, capsys, argv, error):
    (workdir.path / "outdir").mkdir()
    os.mkfifo(workdir.path / "pipe")
    before = workdir.listing()

    assert run(capsys, "--input", "in.parquet", *argv) == (1, "", error + "\n")
    assert workdir.listing() == before


# A stopped job (a scheduler's SIGTERM) removes what it had started to write.


def test_a_job_stopped_with_sigterm_removes_its_partial_files(workdir):
    job = subprocess.Popen(
        [
            *(sys.executable, "-m", "ride_scorer.batch"),
            *("--input", "in.parquet", "--output", "o.parquet", "--chunk-rows", "10", "--no-progress"),
        ],
        cwd=workdir.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(name.endswith(".partial") for name in os.listdir(workdir.path)):
            assert job.poll() is None and time.monotonic() < deadline, "the job never started writing"
            time.sleep(0.05)
        job.send_signal(signal.SIGTERM)
        out, err = job.communicate(timeout=30)
    finally:
        job.kill()
        job.wait()

    assert (job.returncode, out) == (1, "")
    assert err.splitlines()[-1] == "error: stopped before the end (interrupted); nothing was written"
    assert "Traceback" not in err
    assert sorted(os.listdir(workdir.path)) == ["in.parquet"]
    assert workdir.input.read_bytes() == MONTH.read_bytes()
