"""`--input-prefix` on a local folder: every parquet file under it is scored into the output folder's
predictions/ and rejects/, exactly as the single-file job scores it; a second run skips what was scored from
the same bytes by the same model; a changed file, a new model or `--rescore` scores again; a bad file is one
error line and the others are still scored; nothing the job did not write is overwritten."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ride_scorer.batch.cli import main
from ride_scorer.core.integrity import directory_digest
from tests.shared.paths import DATA

MONTH = DATA / "green_tripdata_2023-01.parquet"
NOT_PARQUET = "Parquet magic bytes not found in footer. Either the file is corrupted or this is not a parquet file."


def run(capsys, *argv: str) -> tuple[int, dict | None, list[str]]:
    """The exit code, the stdout summary with the per-file `results` of its report file, and the stderr
    lines; the canonical (absolute) locations they name are shown relative to the working directory."""
    code = main([*argv, "--no-progress"])
    captured = capsys.readouterr()
    here = f"{os.getcwd()}/"
    summary = json.loads(captured.out.replace(here, "")) if captured.out else None
    if summary and summary.get("report"):
        with open(summary["report"], encoding="utf-8") as report:
            summary["results"] = json.loads(report.read().replace(here, ""))["results"]
    return code, summary, captured.err.replace(here, "").splitlines()


def snapshot(folder) -> dict[str, bytes]:
    """Every file but the per-run reports."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "reports" not in path.relative_to(folder).parts
    }


@pytest.fixture
def folders(tmp_path, monkeypatch, pinned_model):
    """`in/` holding two slices of the 2023-01 month (one in a subfolder, one with a bad ride) and a CSV
    that is not scored; `out/` does not exist yet. The working directory is tmp_path."""
    month = pq.read_table(MONTH).select(["PULocationID", "DOLocationID", "trip_distance"])
    (tmp_path / "in" / "2023").mkdir(parents=True)
    pq.write_table(month.slice(0, 300), tmp_path / "in" / "a.parquet")
    bad_ride = pa.table({"PULocationID": [74], "DOLocationID": [75], "trip_distance": [-1.5]}, schema=month.schema)
    pq.write_table(pa.concat_tables([month.slice(300, 99), bad_ride]), tmp_path / "in" / "2023" / "b.parquet")
    (tmp_path / "in" / "notes.csv").write_text("not a ride file\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def retrained_model(pinned_model, tmp_path, monkeypatch):
    """Another model (another run id, so another digest), pinned in the environment instead."""
    copy = shutil.copytree(pinned_model, tmp_path / "retrained")
    mlmodel = copy / "MLmodel"
    mlmodel.write_text(re.sub(r"run_id: \S+", "run_id: retrained0000", mlmodel.read_text()))

    def use(directory=copy):
        monkeypatch.setenv("MODEL_LOCATION", str(directory))
        monkeypatch.setenv("MODEL_SHA256", directory_digest(directory))

    return use


def test_every_parquet_file_is_scored_as_the_single_file_job_scores_it(folders, capsys):
    code, summary, err = run(capsys, "--input-prefix", "in", "--output-prefix", "out")

    assert code == 0
    assert {key: summary[key] for key in ("files", "scored_files", "skipped_files", "failed_files")} == {
        "files": 2,
        "scored_files": 2,
        "skipped_files": 0,
        "failed_files": 0,
    }
    assert (summary["rows"], summary["scored"], summary["rejected"]) == (400, 399, 1)
    assert [
        (result["input"], result["status"], result["output"], result["rejects"]) for result in summary["results"]
    ] == [
        ("in/2023/b.parquet", "scored", "out/predictions/2023/b.parquet", "out/rejects/2023/b.parquet"),
        ("in/a.parquet", "scored", "out/predictions/a.parquet", "out/rejects/a.parquet"),
    ]
    assert err[:2] == [
        "scored 'in/2023/b.parquet' (not scored yet): 99 of 100 rows, rejected 1 -> 'out/predictions/2023/b.parquet'",
        "scored 'in/a.parquet' (not scored yet): 300 of 300 rows, rejected 0 -> 'out/predictions/a.parquet'",
    ]
    assert err[2].startswith("2 of 2 files scored, 0 skipped, 0 failed: 399 of 400 rows scored, 1 rejected in ")
    for name in ("a.parquet", "2023/b.parquet"):
        assert main(["--input", f"in/{name}", "--output", "single.parquet", "--no-progress"]) == 0
        assert pq.read_table(f"out/predictions/{name}").equals(pq.read_table("single.parquet"))
        assert pq.read_table(f"out/rejects/{name}").equals(pq.read_table("single.rejects.parquet"))
    assert pq.read_table("out/rejects/2023/b.parquet").column("reason_code").to_pylist() == ["invalid_schema"]
    assert not (folders / "out" / "predictions" / "notes.csv").exists()


def test_the_markers_say_what_was_scored_from_which_bytes_by_which_model(folders, capsys, pinned_model):
    run(capsys, "--input-prefix", "in", "--output-prefix", "out")

    markers = sorted(path.relative_to(folders / "out").as_posix() for path in (folders / "out" / "markers").rglob("*"))
    digest = directory_digest(pinned_model)
    done = [name for name in markers if name.startswith("markers/a.parquet/done-")]
    assert "markers/a.parquet/claim.json" in markers
    assert len(done) == 1
    document = json.loads((folders / "out" / done[0]).read_text())
    assert document["input"] == str(folders / "in" / "a.parquet")
    assert (
        document["input_fingerprint"]
        == f"sha256-{hashlib.sha256((folders / 'in' / 'a.parquet').read_bytes()).hexdigest()}"
    )
    assert document["model"] == f"sha256-{digest}"
    assert document["outputs"] == {
        kind: f"sha256-{hashlib.sha256((folders / 'out' / kind / 'a.parquet').read_bytes()).hexdigest()}"
        for kind in ("predictions", "rejects")
    }
    assert document["summary"]["rows"] == 300


def test_a_second_run_skips_every_file_and_writes_nothing(folders, capsys):
    run(capsys, "--input-prefix", "in", "--output-prefix", "out")
    before = snapshot(folders / "out")

    code, summary, err = run(capsys, "--input-prefix", "in", "--output-prefix", "out")

    assert code == 0
    assert (summary["skipped_files"], summary["scored_files"], summary["rows"]) == (2, 0, 0)
    assert err[:2] == [
        "skipped 'in/2023/b.parquet': already scored from these bytes by this model, outputs unchanged since",
        "skipped 'in/a.parquet': already scored from these bytes by this model, outputs unchanged since",
    ]
    assert snapshot(folders / "out") == before


def test_rescore_scores_every_file_again(folders, capsys):
    run(capsys, "--input-prefix", "in", "--output-prefix", "out")

    code, summary, err = run(capsys, "--input-prefix", "in", "--output-prefix", "out", "--rescore")

    assert code == 0
    assert (summary["scored_files"], summary["skipped_files"], summary["rows"]) == (2, 0, 400)
    assert err[1] == "scored 'in/a.parquet' (--rescore): 300 of 300 rows, rejected 0 -> 'out/predictions/a.parquet'"


def test_a_changed_file_alone_is_scored_again(folders, capsys):
    run(capsys, "--input-prefix", "in", "--output-prefix", "out")
    pq.write_table(pq.read_table(MONTH).slice(1000, 50), folders / "in" / "a.parquet")

    code, summary, _ = run(capsys, "--input-prefix", "in", "--output-prefix", "out")

    assert code == 0
    assert [(result["input"], result["status"], result["rows"]) for result in summary["results"]] == [
        ("in/2023/b.parquet", "skipped", 0),
        ("in/a.parquet", "scored", 50),
    ]
    assert pq.read_table("out/predictions/a.parquet").num_rows == 50


def test_a_new_model_scores_again_and_rolling_back_scores_again_too(folders, capsys, pinned_model, retrained_model):
    """Back on the first model, its old markers are older than the newer model's predictions: not skipped."""
    run(capsys, "--input-prefix", "in", "--output-prefix", "out")
    retrained_model()

    code, summary, _ = run(capsys, "--input-prefix", "in", "--output-prefix", "out")
    assert (code, summary["scored_files"], summary["model_version"]) == (0, 2, "retrained0000")
    assert set(pq.read_table("out/predictions/a.parquet").column("model_version").to_pylist()) == {"retrained0000"}

    retrained_model(pinned_model)
    code, summary, _ = run(capsys, "--input-prefix", "in", "--output-prefix", "out")
    assert (code, summary["scored_files"]) == (0, 2)
    assert pq.read_table("out/predictions/a.parquet").column("model_version")[0].as_py() == summary["model_version"]

    code, summary, _ = run(capsys, "--input-prefix", "in", "--output-prefix", "out")
    assert (code, summary["skipped_files"]) == (0, 2)


def test_a_bad_file_is_one_error_line_and_the_others_are_scored(folders, capsys):
    (folders / "in" / "broken.parquet").write_bytes(b"PULocationID\n74\n")

    code, summary, err = run(capsys, "--input-prefix", "in", "--output-prefix", "out")

    assert code == 1
    assert (summary["scored_files"], summary["failed_files"]) == (2, 1)
    assert f"error: 'in/broken.parquet': input 'in/broken.parquet' cannot be read as parquet: {NOT_PARQUET}" in err
    assert (folders / "out" / "predictions" / "a.parquet").is_file()
    assert not (folders / "out" / "predictions" / "broken.parquet").exists()

    pq.write_table(pq.read_table(MONTH).slice(0, 10), folders / "in" / "broken.parquet")
    code, summary, _ = run(capsys, "--input-prefix", "in", "--output-prefix", "out")
    assert code == 0
    assert [(result["input"], result["status"]) for result in summary["results"]] == [
        ("in/2023/b.parquet", "skipped"),
        ("in/a.parquet", "skipped"),
        ("in/broken.parquet", "scored"),
    ]


@pytest.mark.parametrize(
    ("claimed", "reason"),
    [
        (False, "exists and was not written by ride-scorer (no markers/a.parquet/claim.json beside it)"),
        # A run claimed the name and failed before writing; someone else's file landed there since.
        (True, "is not what ride-scorer wrote (no markers/a.parquet/wrote-*.json vouches for it as it is)"),
    ],
    ids=["no-claim", "claim-without-proof"],
)
def test_an_output_the_job_did_not_write_is_never_overwritten(folders, capsys, claimed, reason):
    (folders / "out" / "predictions").mkdir(parents=True)
    (folders / "out" / "predictions" / "a.parquet").write_bytes(b"someone else's file")
    if claimed:
        (folders / "out" / "markers" / "a.parquet").mkdir(parents=True)
        (folders / "out" / "markers" / "a.parquet" / "claim.json").write_text("{}")

    code, summary, err = run(capsys, "--input-prefix", "in", "--output-prefix", "out")

    assert code == 1
    assert (folders / "out" / "predictions" / "a.parquet").read_bytes() == b"someone else's file"
    assert (summary["scored_files"], summary["failed_files"]) == (1, 1)
    assert f"error: 'in/a.parquet': 'out/predictions/a.parquet' {reason}: refusing to overwrite it" in err
    code, _, _ = run(capsys, "--input-prefix", "in", "--output-prefix", "out", "--rescore")
    assert code == 1
    assert (folders / "out" / "predictions" / "a.parquet").read_bytes() == b"someone else's file"


@pytest.mark.parametrize(
    ("input_prefix", "output_prefix", "message"),
    [
        ("in", "in/scored", "error: --output-prefix 'in/scored' and --input-prefix 'in' overlap"),
        ("in/2023", "in", "error: --output-prefix 'in' and --input-prefix 'in/2023' overlap"),
        ("in", "./in", "error: --output-prefix 'in' and --input-prefix 'in' overlap"),
        ("in", "file://{cwd}/in/x/..//out/", "error: --output-prefix 'in/out' and --input-prefix 'in' overlap"),
        ("link", "in/out", "error: --output-prefix 'in/out' and --input-prefix 'in' overlap"),
    ],
)
def test_prefixes_that_overlap_are_refused_before_anything_is_read(
    folders, capsys, input_prefix, output_prefix, message
):
    (folders / "link").symlink_to(folders / "in")
    before = snapshot(folders)

    code, summary, err = run(
        capsys, "--input-prefix", input_prefix, "--output-prefix", output_prefix.format(cwd=folders)
    )

    assert (code, summary) == (2, None)
    assert err == [f"{message}: the outputs would be listed as inputs"]
    assert snapshot(folders) == before


def test_an_input_folder_that_does_not_exist_is_one_error_line(folders, capsys):
    code, summary, err = run(capsys, "--input-prefix", "missing", "--output-prefix", "out")
    assert (code, summary, err) == (1, None, ["error: prefix 'missing' is not a folder"])


def test_an_empty_folder_scores_nothing_and_says_so(folders, capsys):
    (folders / "empty").mkdir()
    code, summary, err = run(capsys, "--input-prefix", "empty", "--output-prefix", "out")
    assert (code, summary["files"]) == (0, 0)
    assert err[0] == "warning: no *.parquet file under 'empty'"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--input", "in/a.parquet", "--output-prefix", "out"], "--input goes with --output"),
        (["--input-prefix", "in", "--output", "o.parquet"], "--input goes with --output"),
        (["--input-prefix", "in", "--output-prefix", "out", "--rejects", "r.parquet"], "--rejects is for one --input"),
        (["--input", "in/a.parquet", "--output", "o.parquet", "--rescore"], "--rescore is for --input-prefix"),
        (["--input", "in/a.parquet", "--input-prefix", "in", "--output", "o"], "not allowed with argument"),
    ],
)
def test_arguments_of_the_two_modes_do_not_mix(folders, capsys, argv, message):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err.splitlines()[-1]
    assert not os.path.exists("out")


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("k" * 240 + ".parquet", "scored"),  # issue 22 row 6: 248 bytes is a valid name; so are its outputs'
        ("UPPER.PARQUET", "scored"),  # issue 23: the suffix in any case is parquet
        ("new\nline.parquet", "failed"),  # issue 23: one line, the name escaped
        ("sep\u2028arated.parquet", "failed"),
    ],
    ids=["248-byte-name", "upper-case-suffix", "newline-in-name", "line-separator-in-name"],
)
def test_every_file_name_gets_one_line_and_every_valid_one_is_scored(folders, capsys, name, status):
    shutil.copyfile(folders / "in" / "a.parquet", folders / "in" / name)
    (folders / "single").mkdir()

    code, summary, err = run(capsys, "--input-prefix", "in", "--output-prefix", "out")

    assert {result["input"]: result["status"] for result in summary["results"]}[f"in/{name}"] == status
    assert code == (1 if status == "failed" else 0)
    assert len(err) == 4 and all(
        line.startswith(("scored '", "error: '", "3 of 3 files", "2 of 3 files")) for line in err
    ), err
    assert [line for line in err if line.startswith("error:")] == (
        [
            f"error: {f'in/{name}'!r}: {f'predictions/{name}'!r} cannot be a name under 'out': it contains a "
            f"{'control character (U+000A)' if chr(10) in name else 'line separator (U+2028)'}"
        ]
        if status == "failed"
        else []
    )
    if status == "scored":
        assert pq.read_table(folders / "out" / "predictions" / name).equals(pq.read_table("out/predictions/a.parquet"))
        assert (
            main(["--input", f"in/{name}", "--output", f"single/{name}", "--rejects", "r.parquet", "--no-progress"])
            == 0
        )


def test_the_summary_line_stays_small_however_many_files_and_the_report_holds_them(folders, capsys):
    """Issue 22 row 9: 2,000 files made a 514 KB summary line, over CloudWatch's 256 KB event."""
    from ride_scorer.batch.prefix import FileResult, PrefixSummary

    long = "in/" + "x" * 200 + ".parquet"
    results = [FileResult(f"{long}{n}", "scored", f"out/{long}{n}", f"out/r/{long}{n}", 1, 1, 0) for n in range(2000)]
    summary = PrefixSummary("in", "out", "ride-duration", "v1", 1.0, results, report="out/reports/r.json")

    line = json.dumps(summary.counts())

    assert len(line.encode()) < 1024
    assert json.loads(line)["files"] == 2000 and json.loads(line)["report"] == "out/reports/r.json"
    code, printed, _ = run(capsys, "--input-prefix", "in", "--output-prefix", "out")
    assert len(printed["results"]) == printed["files"] == 2 and code == 0


@pytest.mark.parametrize(
    ("scored_before", "error", "rejects_left"),
    [
        (False, "cannot write output 'out/predictions/a.parquet': File exists", False),
        (
            True,
            "cannot write output 'out/predictions/a.parquet': it changed after the outputs were listed: it is no "
            "longer what ride-scorer wrote; rejects file 'out/rejects/a.parquet' had already been written",
            True,
        ),
    ],
    ids=["a-free-name-taken-after-the-listing", "a-proven-output-changed-after-the-listing"],
)
def test_an_output_someone_writes_after_the_listing_is_never_overwritten(
    folders, capsys, monkeypatch, scored_before, error, rejects_left
):
    """Another writer puts `predictions/a.parquet` there between the job's listing and its write. A name the
    listing showed free is only created (a hard link locally, If-None-Match in S3); an output the job proved
    its own is replaced only while it is still what the listing showed (its SHA-256 checked just before the
    rename locally; If-Match in S3, integration-tests/batch/test_batch_prefix.py)."""
    import ride_scorer.batch.prefix as prefix_module

    if scored_before:
        assert run(capsys, "--input-prefix", "in", "--output-prefix", "out")[0] == 0
    original = prefix_module._write_document

    def someone_writes_first(location, document, s3_client):
        original(location, document, s3_client)
        if location.endswith("markers/a.parquet/claim.json"):
            (folders / "out" / "predictions" / "a.parquet").write_bytes(b"someone else's file")

    monkeypatch.setattr(prefix_module, "_write_document", someone_writes_first)

    code, summary, err = run(capsys, "--input-prefix", "in", "--output-prefix", "out", "--rescore")

    assert code == 1 and (summary["scored_files"], summary["failed_files"]) == (1, 1)
    assert (folders / "out" / "predictions" / "a.parquet").read_bytes() == b"someone else's file"
    assert [line for line in err if line.startswith("error:")] == [f"error: 'in/a.parquet': {error}"]
    assert (folders / "out" / "rejects" / "a.parquet").exists() == rejects_left
    monkeypatch.setattr(prefix_module, "_write_document", original)
    code, summary, err = run(capsys, "--input-prefix", "in", "--output-prefix", "out")  # the next run too
    refusal = f"'out/predictions/a.parquet'{' or its rejects' if rejects_left else ''} is not what ride-scorer wrote"
    assert code == 1 and refusal in "\n".join(err)
    assert (folders / "out" / "predictions" / "a.parquet").read_bytes() == b"someone else's file"
