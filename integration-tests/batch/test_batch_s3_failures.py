"""The batch job's refusals and failures with S3 locations, on moto's server: colliding objects are refused
with exit 2 before S3 is touched, an input that is not parquet is one error line, and when the output
cannot be uploaded the line says which file was already written."""

from __future__ import annotations

from ride_scorer.batch.cli import main

MONTH_KEY = "rides/2023-01.parquet"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_output_that_is_the_input_object_is_refused_and_the_input_is_untouched(rides_bucket, capsys):
    before = rides_bucket.objects()
    month = rides_bucket.uri(MONTH_KEY)
    same = f"s3://{rides_bucket.name}//{MONTH_KEY}"

    code, out, err = run(capsys, "--input", month, "--output", same)

    assert (code, out) == (2, "")
    assert err == (
        f"error: --output {month!r} and --input {month!r} are the same file ({month}): "
        "refusing to overwrite the input\n"
    )
    assert rides_bucket.objects() == before


def test_rejects_that_are_the_output_object_are_refused(rides_bucket, capsys):
    before = rides_bucket.objects()
    output = rides_bucket.uri("scored/2023-01.parquet")

    code, out, err = run(capsys, "--input", rides_bucket.uri(MONTH_KEY), "--output", output, "--rejects", output)

    assert (code, out) == (2, "")
    assert err == (
        f"error: --rejects {output!r} and --output {output!r} are the same file ({output}): "
        "predictions and rejects need two files\n"
    )
    assert rides_bucket.objects() == before


def test_an_input_object_that_is_not_parquet_is_one_error_line_and_nothing_is_uploaded(rides_bucket, capsys):
    rides_bucket.s3.put_object(Bucket=rides_bucket.name, Key="rides/2023-01.csv", Body=b"PULocationID\n74\n")
    before = rides_bucket.objects()
    source = rides_bucket.uri("rides/2023-01.csv")

    code, out, err = run(capsys, "--input", source, "--output", rides_bucket.uri("scored/2023-01.parquet"))

    assert (code, out) == (1, "")
    assert err == (
        f"error: input {source!r} cannot be read as parquet: Parquet magic bytes not found in footer. "
        "Either the file is corrupted or this is not a parquet file.\n"
    )
    assert rides_bucket.objects() == before


def test_when_the_output_cannot_be_uploaded_the_error_names_the_rejects_already_written(rides_bucket, capsys):
    """Rejects go up first and the output last, so a missing output means the run failed; S3 objects are not
    deleted afterwards (the job has no such permission), so the line says what is there."""
    output = f"s3://{rides_bucket.name}-missing/2023-01.parquet"
    rejects = rides_bucket.uri("scored/2023-01.rejects.parquet")

    code, out, err = run(capsys, "--input", rides_bucket.uri(MONTH_KEY), "--output", output, "--rejects", rejects)

    assert (code, out) == (1, "")
    assert err == (
        f"error: cannot write output {output!r}: NoSuchBucket: The specified bucket does not exist; "
        f"rejects file {rejects!r} had already been written\n"
    )
    assert sorted(rides_bucket.objects()) == [MONTH_KEY, "scored/2023-01.rejects.parquet"]
