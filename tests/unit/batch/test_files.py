"""The outputs of a run appear together or not at all: when moving the last one into place fails (another
process took the name meanwhile), the files this run had already created are removed again, and a file that
existed before is never deleted."""

from __future__ import annotations

import os

import pytest

from ride_scorer.batch.files import BatchIOError, writable_files


def no_s3():
    raise AssertionError("local outputs must not reach S3")


def test_when_the_output_cannot_be_moved_into_place_the_new_rejects_file_is_removed(tmp_path):
    output, rejects = tmp_path / "o.parquet", tmp_path / "o.rejects.parquet"

    with (
        pytest.raises(BatchIOError) as raised,
        writable_files([(str(rejects), "rejects file"), (str(output), "output")], no_s3) as (rejects_path, output_path),
    ):
        rejects_path.write_bytes(b"complete rejects")
        output_path.write_bytes(b"complete predictions")
        output.mkdir()  # the name is taken while the job runs

    assert str(raised.value) == f"cannot write output {str(output)!r}: Is a directory"
    assert sorted(os.listdir(tmp_path)) == ["o.parquet"]
    assert os.listdir(output) == []


def test_a_rejects_file_that_existed_before_is_replaced_not_deleted_and_the_error_says_so(tmp_path):
    output, rejects = tmp_path / "o.parquet", tmp_path / "o.rejects.parquet"
    rejects.write_bytes(b"yesterday's rejects")

    with (
        pytest.raises(BatchIOError) as raised,
        writable_files([(str(rejects), "rejects file"), (str(output), "output")], no_s3) as (rejects_path, output_path),
    ):
        rejects_path.write_bytes(b"today's rejects")
        output_path.write_bytes(b"today's predictions")
        output.mkdir()

    assert str(raised.value) == (
        f"cannot write output {str(output)!r}: Is a directory; rejects file {str(rejects)!r} had already been written"
    )
    assert sorted(os.listdir(tmp_path)) == ["o.parquet", "o.rejects.parquet"]
    assert rejects.read_bytes() == b"today's rejects"


def test_a_finished_output_has_the_permissions_a_plain_write_would_give(tmp_path):
    """The temporary file is created by the job, but the result is the user's file: umask applies, as for
    any file they write (not the owner-only mode of a private temporary file)."""
    previous = os.umask(0o022)
    try:
        with writable_files([(str(tmp_path / "o.parquet"), "output")], no_s3) as (path,):
            path.write_bytes(b"predictions")
    finally:
        os.umask(previous)
    assert sorted(os.listdir(tmp_path)) == ["o.parquet"]
    assert (tmp_path / "o.parquet").stat().st_mode & 0o777 == 0o644
