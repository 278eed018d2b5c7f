"""`--input-prefix` on S3 (moto's server): every parquet object under the prefix is scored into the output
prefix; a second run skips them and writes nothing; `--rescore` and a changed object score again; an object
that is not parquet is one error line and the others are still scored; an object the job did not write is
never overwritten; and the run ends with one JSON summary line."""

from __future__ import annotations

import io
import json
import re
import secrets
import shutil
from dataclasses import asdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import ride_scorer.batch.prefix as prefix_module
from ride_scorer.adapters.aws_clients import client
from ride_scorer.batch.cli import main
from ride_scorer.batch.job import BatchJob, check_locations, score_file
from ride_scorer.batch.prefix import PrefixJob, run_prefix
from ride_scorer.columnar.locations import Location
from ride_scorer.core.integrity import directory_digest
from tests.shared.paths import DATA

NOT_PARQUET = "Parquet magic bytes not found in footer. Either the file is corrupted or this is not a parquet file."


def run(capsys, *argv: str) -> tuple[int, dict | None, list[str]]:
    """The exit code, the stdout summary with the per-file `results` of its report object, the stderr lines."""
    code = main([*argv, "--no-progress"])
    captured = capsys.readouterr()
    summary = json.loads(captured.out) if captured.out else None
    if summary and summary.get("report", "").startswith("s3://"):
        bucket, _, key = summary["report"].removeprefix("s3://").partition("/")
        summary["results"] = json.loads(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())["results"]
    elif summary and summary.get("report"):
        summary["results"] = json.loads(Path(summary["report"]).read_text())["results"]
    return code, summary, captured.err.splitlines()


def outputs(bucket) -> dict[str, bytes]:
    """The bucket's objects but the per-run reports."""
    return {key: body for key, body in bucket.objects().items() if "/reports/" not in key}


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
        "input_prefix": bucket.uri("incoming"),
        "output_prefix": bucket.uri("scored"),
        "files": 2,
        "scored_files": 2,
        "rows": 350,
    }
    assert err[-1].startswith("2 of 2 files scored, 0 skipped, 0 failed: 350 of 350 rows scored, 0 rejected in ")
    written = sorted(key for key in bucket.objects() if key.startswith("scored/"))
    assert [key for key in written if not key.startswith(("scored/markers/", "scored/reports/"))] == [
        "scored/predictions/2023-01-01.parquet",
        "scored/predictions/day2/2023-01-02.parquet",
        "scored/rejects/2023-01-01.parquet",
        "scored/rejects/day2/2023-01-02.parquet",
    ]
    # What the single-file job writes for the same object.
    single = str(tmp_path / "single.parquet")
    assert main(["--input", bucket.uri("incoming/2023-01-01.parquet"), "--output", single, "--no-progress"]) == 0
    assert table(bucket, "scored/predictions/2023-01-01.parquet").equals(pq.read_table(single))


@pytest.mark.parametrize("versioning", ["never enabled", "Enabled"])
def test_a_second_run_skips_every_object_and_writes_nothing(incoming_bucket, prefixes, capsys, versioning):
    """In a versioned bucket too: the writer learns a version id that a listing never shows."""
    if versioning == "Enabled":
        incoming_bucket.s3.put_bucket_versioning(
            Bucket=incoming_bucket.name, VersioningConfiguration={"Status": versioning}
        )
    run(capsys, *prefixes)
    before = outputs(incoming_bucket)

    code, summary, err = run(capsys, *prefixes)

    assert code == 0
    assert (summary["skipped_files"], summary["scored_files"]) == (2, 0)
    assert err[0] == (
        f"skipped {incoming_bucket.uri('incoming/2023-01-01.parquet')!r}: already scored from these bytes by this "
        "model, outputs unchanged since"
    )
    assert outputs(incoming_bucket) == before


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
    assert f"error: {bad!r}: input {bad!r} cannot be read as parquet: {NOT_PARQUET}" in err
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
        f"error: {incoming_bucket.uri('incoming/2023-01-01.parquet')!r}: {output!r} exists and was not written by "
        "ride-scorer (no markers/2023-01-01.parquet/claim.json beside it): refusing to overwrite it"
    ) in err
    assert incoming_bucket.objects()["scored/rejects/2023-01-01.parquet"] == b"mine"


def test_a_bucket_that_cannot_be_listed_is_one_error_line(incoming_bucket, capsys):
    missing = f"s3://{incoming_bucket.name}-missing/incoming"

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
        f"error: --output-prefix {incoming_bucket.uri('incoming/x')!r} and --input-prefix "
        f"{incoming_bucket.uri('incoming')!r} overlap: the outputs would be listed as inputs"
    ]
    assert incoming_bucket.objects() == before


def test_overlapping_runs_with_two_models_never_skip_the_other_models_predictions(
    incoming_bucket, prefixes, capsys, monkeypatch, tmp_path, pinned_model
):
    """Issue 22 row 2: run A writes the first file's predictions, run B (another model) scores the whole
    prefix, then A commits and goes on. A's rerun must score the files whose predictions are B's, although
    A's own commit for the first one is newer than them; B's rerun scores both, A's predictions having
    replaced B's."""
    model_b = Path(shutil.copytree(pinned_model, tmp_path / "model-b"))
    (model_b / "MLmodel").write_text(re.sub(r"run_id: \S+", "run_id: modelb0000", (model_b / "MLmodel").read_text()))
    env_a = {"MODEL_LOCATION": str(pinned_model), "MODEL_SHA256": directory_digest(pinned_model)}
    env_b = {"MODEL_LOCATION": str(model_b), "MODEL_SHA256": directory_digest(model_b)}
    original = prefix_module._write_document

    def use(environment):
        for name, value in environment.items():
            monkeypatch.setenv(name, value)

    def b_runs_before_a_commits(location, document, s3_client):
        if "summary" in document and not document.get("b_ran"):  # A's first commit (its done marker)
            monkeypatch.setattr(prefix_module, "_write_document", original)
            use(env_b)
            assert main([*prefixes, "--no-progress"]) == 0
            use(env_a)
        original(location, document, s3_client)

    monkeypatch.setattr(prefix_module, "_write_document", b_runs_before_a_commits)
    # A saw the second file unscored; B's outputs appeared since, so A refuses to replace them (exit 1).
    assert main([*prefixes, "--no-progress"]) == 1
    capsys.readouterr()
    monkeypatch.setattr(prefix_module, "_write_document", original)

    code, summary, _ = run(capsys, *prefixes)  # A again: both files hold B's predictions
    assert (code, [status for _, status, _ in statuses(summary)]) == (0, ["scored", "scored"])
    first = "scored/predictions/2023-01-01.parquet"
    assert set(table(incoming_bucket, first).column("model_version").to_pylist()) == {summary["model_version"]}

    use(env_b)
    code, summary, _ = run(capsys, *prefixes)  # B again
    assert (code, [status for _, status, _ in statuses(summary)]) == (0, ["scored", "scored"])
    assert set(table(incoming_bucket, first).column("model_version").to_pylist()) == {"modelb0000"}


@pytest.mark.parametrize(
    ("keys", "output", "expected"),
    [
        # Row 3: a claim belongs to one exact name; `x.parquet/`'s markers do not claim `x.parquet`.
        (
            ["in/x.parquet", "in/x.parquet/y.parquet"],
            "s3",
            {"in/x.parquet": "failed", "in/x.parquet/y.parquet": "scored"},
        ),
        # Row 4: a key is a name, not a path: nothing is written outside the output folder.
        (
            ["in/a.parquet", "in/../../../victim/evil.parquet"],
            "local",
            {"in/../../../victim/evil.parquet": "failed", "in/a.parquet": "scored"},
        ),
        # Row 6: a last part of 300 bytes cannot be a local file name (one line, before any output for it) ...
        (
            ["in/a.parquet", f"in/{'k' * 300}.parquet"],
            "local",
            {"in/a.parquet": "scored", f"in/{'k' * 300}.parquet": "failed"},
        ),
        # ... and is an S3 key like any other.
        ([f"in/{'k' * 300}.parquet"], "s3", {f"in/{'k' * 300}.parquet": "scored"}),
        # Row 3 again: a run claimed `x.parquet` and failed before writing it; a foreign object landed since.
        # The claim alone does not prove the object is ride-scorer's (`out/...` keys are planted, not inputs).
        (
            ["in/a.parquet", "in/x.parquet", "out/markers/x.parquet/claim.json"],
            "s3",
            {"in/a.parquet": "scored", "in/x.parquet": "failed"},
        ),
    ],
    ids=["row3-claim-is-exact", "row4-dotdot-key", "row6-long-key-local", "row6-long-key-s3", "row3-claim-is-no-proof"],
)
def test_hostile_keys_are_names_and_foreign_objects_are_never_overwritten(
    incoming_bucket, capsys, tmp_path, keys, output, expected
):
    s3, bucket = incoming_bucket.s3, incoming_bucket.name
    slice_ = io.BytesIO()
    pq.write_table(pq.read_table(DATA / "green_tripdata_2023-01.parquet").slice(0, 20), slice_)
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=slice_.getvalue())
    s3.put_object(Bucket=bucket, Key="out/predictions/x.parquet", Body=b"foreign")
    (tmp_path / "victim").mkdir()
    output_prefix = incoming_bucket.uri("out") if output == "s3" else str(tmp_path / "work" / "out")
    (tmp_path / "work").mkdir()

    for _ in range(2):  # the rerun keeps every promise too
        code, summary, err = run(capsys, "--input-prefix", incoming_bucket.uri("in"), "--output-prefix", output_prefix)

        statuses_by_key = {
            result["input"].removeprefix(f"s3://{bucket}/"): result["status"] for result in summary["results"]
        }
        assert {key: statuses_by_key[key] for key in expected} == {
            key: status if status == "failed" or _ == 0 else "skipped" for key, status in expected.items()
        }
        assert code == (1 if "failed" in expected.values() else 0)
        refused = [line for line in err if line.startswith("error: ")]
        assert len(refused) == list(expected.values()).count("failed")
        assert all("cannot be a name under" in line for line in refused if "victim" in line or "kkk" in line)
        assert incoming_bucket.objects()["out/predictions/x.parquet"] == b"foreign"
        assert list((tmp_path / "victim").iterdir()) == []
        outside = [
            path for path in tmp_path.rglob("*") if path.is_file() and "out" not in path.relative_to(tmp_path).parts
        ]
        assert outside == []


KEY_NAMES = st.lists(
    st.lists(st.sampled_from(["a", "é", " ", ".", "..", "/", "\n"]), min_size=1, max_size=8).map(
        lambda parts: "".join(parts) + ".parquet"
    ),
    min_size=1,
    max_size=3,
    unique=True,
)


@pytest.fixture(scope="module")
def loaded_model(trained_model_dir):
    from ride_scorer.core.model import load_model

    return load_model(trained_model_dir, directory_digest(trained_model_dir))


@pytest.mark.parametrize("output", ["local", "s3"])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=KEY_NAMES)
def test_for_any_key_names_the_job_keeps_every_promise(incoming_bucket, loaded_model, tmp_path_factory, output, names):
    """Issue 22's properties for the prefix mode, S3 input to a local folder or to S3: never a write outside
    the output location, never a changed input byte, never a foreign object overwritten; every key either
    scored or refused in one line."""
    s3, bucket = incoming_bucket.s3, incoming_bucket.name
    run_id = secrets.token_hex(4)
    body = io.BytesIO()
    pq.write_table(pq.read_table(DATA / "green_tripdata_2023-01.parquet").slice(0, 5), body)
    for name in names:
        try:
            s3.put_object(Bucket=bucket, Key=f"{run_id}/in/{name}", Body=body.getvalue())
        except ClientError:  # a key the server's URL handling cannot store (`..` above the bucket)
            assume(False)
    s3.put_object(Bucket=bucket, Key=f"{run_id}/out/predictions/{names[0]}", Body=b"foreign")
    root = tmp_path_factory.mktemp("promises")
    (root / "out").mkdir()
    before = incoming_bucket.objects()
    output_prefix = Location.parse(incoming_bucket.uri(f"{run_id}/out") if output == "s3" else str(root / "out"))
    lines: list[str] = []

    def score(source, predictions, rejects, written, expected):
        job = BatchJob(source, predictions, rejects, progress=False, expected=expected)
        check_locations(job)
        return asdict(score_file(job, loaded_model, "ride-duration", lambda: s3, written))

    job = PrefixJob(Location.parse(incoming_bucket.uri(f"{run_id}/in")), output_prefix)
    summary = run_prefix(job, "sha256-x", "ride-duration", "v", score, lines.append, lambda: s3)

    after = incoming_bucket.objects()
    assert {key: after[key] for key in before} == before  # inputs and the foreign object unchanged
    assert all(key.startswith(f"{run_id}/out/") for key in set(after) - set(before))
    assert all(path.relative_to(root).parts[0] == "out" for path in root.rglob("*"))
    assert len(lines) == len(names) and all("\n" not in line for line in lines)
    assert {result.status for result in summary.results} <= {"scored", "failed"}


def test_a_proven_object_that_changes_after_the_listing_is_never_overwritten(
    incoming_bucket, prefixes, capsys, monkeypatch
):
    """The rerun's write of its own earlier output is conditional on the ETag its listing showed (If-Match):
    an object someone else wrote in between keeps its bytes."""
    assert run(capsys, *prefixes)[0] == 0
    key = "scored/predictions/2023-01-01.parquet"
    original = prefix_module._write_document

    def someone_writes_first(location, document, s3_client):
        original(location, document, s3_client)
        if location.endswith("markers/2023-01-01.parquet/claim.json"):
            incoming_bucket.s3.put_object(Bucket=incoming_bucket.name, Key=key, Body=b"someone else's object")

    monkeypatch.setattr(prefix_module, "_write_document", someone_writes_first)

    code, summary, err = run(capsys, *prefixes, "--rescore")

    assert code == 1
    assert [status for _, status, _ in statuses(summary)] == ["failed", "scored"]
    assert incoming_bucket.objects()[key] == b"someone else's object"
    assert (
        f"cannot write output {incoming_bucket.uri(key)!r}: it changed after the outputs were listed: it is no "
        "longer what ride-scorer wrote"
    ) in "\n".join(err)
