"""`--input-prefix` on S3 (moto's server): every parquet object under the prefix is scored into the output
prefix; a second run skips them and writes nothing; `--rescore` and a changed object score again; an object
that is not parquet is one error line and the others are still scored; an object the job did not write is
never overwritten; and the run ends with one JSON summary line."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest

from ride_scorer.batch.job import main
from tests.shared.paths import DATA

NOT_PARQUET = "Parquet magic bytes not found in footer. Either the file is corrupted or this is not a parquet file."


def run(capsys, *argv: str) -> tuple[int, dict | None, list[str]]:
    code = main([*argv, "--no-progress"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else None, captured.err.splitlines()


def statuses(summary: dict) -> list[tuple[str, str, int]]:
    return [(result["input"], result["status"], result["rows"]) for result in summary["results"]]


def table(bucket, key: str):
    return pq.read_table(io.BytesIO(bucket.s3.get_object(Bucket=bucket.name, Key=key)["Body"].read()))


@pytest.fixture
def prefixes(incoming_bucket):
    return ["--input-prefix", incoming_bucket.uri("incoming"), "--output-prefix", incoming_bucket.uri("scored/")]


def test_every_object_is_scored_into_the_output_prefix_and_summarized(incoming_bucket, prefixes, capsys, tmp_path):
    code, summary, err = run(capsys, *prefixes)

    bucket = incoming_bucket
    assert code == 0
    assert statuses(summary) == [
        (bucket.uri("incoming/2023-01-01.parquet"), "scored", 200),
        (bucket.uri("incoming/day2/2023-01-02.parquet"), "scored", 150),
    ]
    assert {key: summary[key] for key in ("input_prefix", "output_prefix", "files", "scored_files", "rows")} == {
        "input_prefix": bucket.uri("incoming/"),
        "output_prefix": bucket.uri("scored/"),
        "files": 2,
        "scored_files": 2,
        "rows": 350,
    }
    assert err[-1].startswith("2 of 2 files scored, 0 skipped, 0 failed: 350 of 350 rows scored, 0 rejected in ")
    written = sorted(key for key in bucket.objects() if key.startswith("scored/"))
    assert [key for key in written if not key.startswith("scored/markers/")] == [
        "scored/predictions/2023-01-01.parquet",
        "scored/predictions/day2/2023-01-02.parquet",
        "scored/rejects/2023-01-01.parquet",
        "scored/rejects/day2/2023-01-02.parquet",
    ]
    # What the single-file job writes for the same object.
    single = str(tmp_path / "single.parquet")
    assert main(["--input", bucket.uri("incoming/2023-01-01.parquet"), "--output", single, "--no-progress"]) == 0
    assert table(bucket, "scored/predictions/2023-01-01.parquet").equals(pq.read_table(single))


def test_a_second_run_skips_every_object_and_writes_nothing(incoming_bucket, prefixes, capsys):
    run(capsys, *prefixes)
    before = incoming_bucket.objects()

    code, summary, err = run(capsys, *prefixes)

    assert code == 0
    assert (summary["skipped_files"], summary["scored_files"]) == (2, 0)
    assert err[0] == (
        f"skipped {incoming_bucket.uri('incoming/2023-01-01.parquet')}: already scored from these bytes by this model"
    )
    assert incoming_bucket.objects() == before


def test_rescore_and_a_changed_object_score_again(incoming_bucket, prefixes, capsys):
    run(capsys, *prefixes)

    code, summary, _ = run(capsys, *prefixes, "--rescore")
    assert (code, summary["scored_files"]) == (0, 2)

    body = io.BytesIO()
    pq.write_table(pq.read_table(DATA / "green_tripdata_2023-01.parquet").slice(5000, 40), body)
    incoming_bucket.s3.put_object(Bucket=incoming_bucket.name, Key="incoming/2023-01-01.parquet", Body=body.getvalue())
    code, summary, _ = run(capsys, *prefixes)
    assert code == 0
    assert statuses(summary) == [
        (incoming_bucket.uri("incoming/2023-01-01.parquet"), "scored", 40),
        (incoming_bucket.uri("incoming/day2/2023-01-02.parquet"), "skipped", 0),
    ]
    assert table(incoming_bucket, "scored/predictions/2023-01-01.parquet").num_rows == 40


def test_an_object_that_is_not_parquet_is_reported_and_the_others_are_scored(incoming_bucket, prefixes, capsys):
    bad = incoming_bucket.uri("incoming/2023-01-03.parquet")
    incoming_bucket.s3.put_object(Bucket=incoming_bucket.name, Key="incoming/2023-01-03.parquet", Body=b"a,b\n1,2\n")

    code, summary, err = run(capsys, *prefixes)

    assert code == 1
    assert [status for _, status, _ in statuses(summary)] == ["scored", "failed", "scored"]
    assert f"error: {bad}: input {bad!r} cannot be read as parquet: {NOT_PARQUET}" in err
    assert err[-1].startswith("2 of 3 files scored, 0 skipped, 1 failed: 350 of 350 rows scored")
    assert "scored/predictions/2023-01-03.parquet" not in incoming_bucket.objects()

    code, summary, _ = run(capsys, *prefixes)  # only the bad one is tried again
    assert code == 1
    assert [status for _, status, _ in statuses(summary)] == ["skipped", "failed", "skipped"]


def test_an_object_the_job_did_not_write_is_never_overwritten(incoming_bucket, prefixes, capsys):
    incoming_bucket.s3.put_object(Bucket=incoming_bucket.name, Key="scored/rejects/2023-01-01.parquet", Body=b"mine")
    output = incoming_bucket.uri("scored/rejects/2023-01-01.parquet")

    code, summary, err = run(capsys, *prefixes, "--rescore")

    assert code == 1
    assert [status for _, status, _ in statuses(summary)] == ["failed", "scored"]
    assert (
        f"error: {incoming_bucket.uri('incoming/2023-01-01.parquet')}: {output!r} exists and was not written by "
        "ride-scorer (no markers/2023-01-01.parquet/claim.json beside it): refusing to overwrite it"
    ) in err
    assert incoming_bucket.objects()["scored/rejects/2023-01-01.parquet"] == b"mine"


def test_a_bucket_that_cannot_be_listed_is_one_error_line(incoming_bucket, capsys):
    missing = f"s3://{incoming_bucket.name}-missing/incoming/"

    code, summary, err = run(capsys, "--input-prefix", missing, "--output-prefix", incoming_bucket.uri("scored"))

    assert (code, summary) == (1, None)
    assert err == [
        f"error: cannot list {missing!r}: An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: "
        "The specified bucket does not exist"
    ]


def test_prefixes_that_overlap_in_a_bucket_are_refused(incoming_bucket, capsys):
    before = incoming_bucket.objects()

    code, _, err = run(
        capsys, "--input-prefix", incoming_bucket.uri("incoming"), "--output-prefix", incoming_bucket.uri("incoming/x")
    )

    assert code == 2
    assert err == [
        f"error: --output-prefix {incoming_bucket.uri('incoming/x/')!r} and --input-prefix "
        f"{incoming_bucket.uri('incoming/')!r} overlap: the outputs would be listed as inputs"
    ]
    assert incoming_bucket.objects() == before
