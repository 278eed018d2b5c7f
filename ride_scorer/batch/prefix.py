"""Score every parquet file under an input prefix (S3 or a local folder) into an output prefix, one file at a
time with the single-file job, skipping what was already scored (see `ledger`).

What a scheduled run needs: the model is loaded once for all files; a file that cannot be scored is reported
and the others are still scored; nothing this tool did not write is overwritten; and the run ends with one
summary an operator (or a log query) reads, its exit status saying whether any file failed.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ride_scorer.adapters.aws_clients import client
from ride_scorer.batch.files import BatchIOError, is_s3, writable_files
from ride_scorer.batch.ledger import Decision, Destinations, Verdict, commit_name, decide, proof_name
from ride_scorer.batch.objects import StoredFile, list_files
from ride_scorer.columnar.locations import Location, LocationError

S3ClientFactory = Callable[[], Any]
# (input, output, rejects, written, expected) -> the single-file job's summary as a dict (rows, scored, ...);
# `written` receives each output's identity as it was written, `expected` says what each output must be when
# it is written: absent, or still what the listing showed (`files.writable_files`).
ScoreFile = Callable[[str, str, str, dict[str, str], Mapping[str, str]], Mapping[str, Any]]
# Per-file detail goes to a report file beside the outputs; the summary printed on stdout stays one small
# line however many files there were (a CloudWatch Logs event holds at most 256 KB).
REPORTS = "reports"
# The errors that fail one file and not the run (a bad input, an output that cannot be written).
FileErrors = (BatchIOError, ValueError, OSError)


@dataclass(frozen=True)
class PrefixJob:
    """The two prefixes in canonical form (`columnar.locations`), refused by the CLI when they overlap."""

    input_prefix: Location
    output_prefix: Location
    rescore: bool = False


@dataclass(frozen=True)
class FileResult:
    """One input's fate: `scored`, `skipped` (already scored) or `failed` (with the one-line error)."""

    input: str
    status: str
    output: str
    rejects: str
    rows: int = 0
    scored: int = 0
    rejected: int = 0
    error: str | None = None


@dataclass(frozen=True)
class PrefixSummary:
    """What the run did: the counts, and where the file-by-file report is (`report`)."""

    input_prefix: str
    output_prefix: str
    model_name: str
    model_version: str
    seconds: float
    results: list[FileResult]
    report: str = ""
    files: int = field(init=False)
    scored_files: int = field(init=False)
    skipped_files: int = field(init=False)
    failed_files: int = field(init=False)
    rows: int = field(init=False)
    scored: int = field(init=False)
    rejected: int = field(init=False)

    def __post_init__(self) -> None:
        def count(status: str) -> int:
            return sum(result.status == status for result in self.results)

        values = {
            "files": len(self.results),
            "scored_files": count("scored"),
            "skipped_files": count("skipped"),
            "failed_files": count("failed"),
            "rows": sum(result.rows for result in self.results),
            "scored": sum(result.scored for result in self.results),
            "rejected": sum(result.rejected for result in self.results),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def counts(self) -> dict[str, Any]:
        """The summary without the per-file results: one JSON line of bounded size for the logs."""
        return {name: value for name, value in asdict(self).items() if name != "results"}


def run_prefix(
    job: PrefixJob,
    model_id: str,
    model_name: str,
    model_version: str,
    score: ScoreFile,
    report: Callable[[str], None],
    s3_client: S3ClientFactory = lambda: client("s3"),
) -> PrefixSummary:
    """Score each `*.parquet` under the input prefix not yet scored from its current bytes by this model.

    Raises BatchIOError only when a prefix cannot be listed (nothing was done); each file's own failure is
    reported through `report` (one line) and recorded in its FileResult."""
    started = time.perf_counter()
    inputs = list_files(job.input_prefix, ".parquet", s3_client=s3_client)
    if not job.output_prefix.is_s3:
        Path(job.output_prefix.path).mkdir(parents=True, exist_ok=True)
    outputs = {stored.name: stored for stored in list_files(job.output_prefix, fingerprints=False, s3_client=s3_client)}
    if not inputs:
        report(f"warning: no *.parquet file under {str(job.input_prefix)!r}")
    results = []
    for source in inputs:
        try:
            destinations = Destinations.of(source, job.output_prefix)
        except LocationError as error:
            result = FileResult(source.location, "failed", "", "", error=" ".join(str(error).split()))
            decision = Decision(Verdict.REFUSE, result.error or "")
        else:
            decision = decide(source, destinations, outputs, model_id, job.rescore)
            result = _process(job, source, destinations, decision, model_id, model_version, score, s3_client)
        report(_line(result, decision))
        results.append(result)
    summary = PrefixSummary(
        input_prefix=str(job.input_prefix),
        output_prefix=str(job.output_prefix),
        model_name=model_name,
        model_version=model_version,
        seconds=time.perf_counter() - started,
        results=results,
    )
    return _with_report(summary, job.output_prefix, s3_client, report)


def _with_report(
    summary: PrefixSummary, output_prefix: Location, s3_client: S3ClientFactory, report: Callable[[str], None]
) -> PrefixSummary:
    """Write the file-by-file report under `reports/` (a name no input maps to) and say where it is."""
    location = str(output_prefix.child(f"{REPORTS}/{_now().replace(':', '')}-{secrets.token_hex(4)}.json"))
    try:
        _write_document(location, asdict(summary), s3_client)  # makes its folder
    except FileErrors as error:
        report(f"warning: cannot write the per-file report {location!r}: {' '.join(str(error).split())}")
        return summary
    return replace(summary, report=location)


def _process(
    job: PrefixJob,
    source: StoredFile,
    destinations: Destinations,
    decision: Decision,
    model_id: str,
    model_version: str,
    score: ScoreFile,
    s3_client: S3ClientFactory,
) -> FileResult:
    where = {role: str(location) for role, location in destinations.locations.items()}
    result = FileResult(source.location, "skipped", where["predictions"], where["rejects"])
    if decision.verdict is Verdict.SKIP:
        return result
    if decision.verdict is Verdict.REFUSE:
        return FileResult(**{**result.__dict__, "status": "failed", "error": decision.reason})
    marker = {"input": source.location, "input_fingerprint": source.fingerprint, "model": model_id}
    try:
        for location in (where["predictions"], where["rejects"]):  # the single-file job checks its folders exist
            _make_folder_of(location)
        _write_document(where["claim"], {**marker, "started": _now()}, s3_client)
        written: dict[str, str] = {}
        try:
            expected = dict(zip((where["predictions"], where["rejects"]), decision.listed, strict=True))
            summary = score(source.location, where["predictions"], where["rejects"], written, expected)
        finally:  # what this run placed, even if it then failed, so that its rerun may replace it
            _vouch(job.output_prefix, destinations, where, written, marker, s3_client)
        vouched = {"predictions": written[where["predictions"]], "rejects": written[where["rejects"]]}
        done = commit_name(
            destinations.source, source.fingerprint, model_id, vouched["predictions"], vouched["rejects"]
        )
        document = {**marker, "outputs": vouched, "model_version": model_version, "summary": dict(summary)}
        _write_document(str(job.output_prefix.child(done)), document, s3_client)
    except FileErrors as error:
        return FileResult(**{**result.__dict__, "status": "failed", "error": " ".join(str(error).split())})
    return FileResult(
        **{
            **result.__dict__,
            "status": "scored",
            "rows": int(summary["rows"]),
            "scored": int(summary["scored"]),
            "rejected": int(summary["rejected"]),
        }
    )


def _vouch(
    output_prefix: Location,
    destinations: Destinations,
    where: Mapping[str, str],
    written: Mapping[str, str],
    marker: Mapping[str, Any],
    s3_client: S3ClientFactory,
) -> None:
    """The wrote-marker for the outputs this run placed (none placed: none written)."""
    if not written:
        return
    identities = {role: written.get(where[role], "") for role in ("predictions", "rejects")}
    name = proof_name(destinations.source, identities["predictions"], identities["rejects"])
    _write_document(str(output_prefix.child(name)), {**marker, "outputs": identities}, s3_client)


def _write_document(location: str, document: Mapping[str, Any], s3_client: S3ClientFactory) -> None:
    """A small JSON file, written as the outputs are (temporary file, then moved into place or uploaded)."""
    _make_folder_of(location)
    with writable_files([(location, "marker")], s3_client) as (path,):
        path.write_text(json.dumps(document, sort_keys=True) + "\n", encoding="utf-8")


def _make_folder_of(location: str) -> None:
    """A local output's folder, made if missing (S3 has no folders to make)."""
    if not is_s3(location):
        Path(location).parent.mkdir(parents=True, exist_ok=True)


def _line(result: FileResult, decision: Decision) -> str:
    """One line per file, whatever its name holds: names are quoted with Python's escapes (`\\n`, `\\u2028`)."""
    if result.status == "failed":
        return f"error: {result.input!r}: {result.error}"
    if result.status == "skipped":
        return f"skipped {result.input!r}: {decision.reason}"
    return (
        f"scored {result.input!r} ({decision.reason}): {result.scored} of {result.rows} rows, "
        f"rejected {result.rejected} -> {result.output!r}"
    )


def _now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="seconds")
