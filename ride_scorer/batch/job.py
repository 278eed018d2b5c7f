"""Score a parquet file of rides (a raw TLC month as published is fine) with the streaming model and rules.

    python -m ride_scorer.batch --input PATH --output PATH [--rejects PATH] [--id-column NAME]
    python -m ride_scorer.batch --input-prefix PREFIX --output-prefix PREFIX [--rescore]

The second form scores every parquet file under an S3 prefix or local folder that it has not scored yet
(`prefix`, `ledger`), each exactly as the first form scores one file, loading the model once.

Used to re-score a day after a model change or to backfill after an outage. Every row becomes the same
document a stream event carries ({"ride": {...}, "ride_id": ...}) and goes through the same validation,
features and model as the Lambda, so a ride's batch prediction equals its streaming one. The file is read
in chunks of `--chunk-rows` (pyarrow `iter_batches`, only the needed columns), so memory stays bounded.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from ride_scorer.adapters.aws_clients import client
from ride_scorer.adapters.command_line import fail, positive_int
from ride_scorer.adapters.locations import Location, LocationError
from ride_scorer.adapters.model_store import STARTUP_ERRORS, load_model_from
from ride_scorer.batch.files import (
    BatchIOError,
    check_writable,
    default_rejects_location,
    readable_file,
    same_location,
    writable_files,
)
from ride_scorer.batch.ledger import model_identity
from ride_scorer.batch.prefix import PrefixJob, run_prefix
from ride_scorer.columnar.chunks import RIDE_COLUMNS, output_schema, rejects_schema, score_chunk
from ride_scorer.columnar.summary import ScoringSummary
from ride_scorer.core.model import RideDurationModel
from ride_scorer.core.settings import ModelSettings

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 50_000


class BatchInputError(ValueError):
    """The file as a whole cannot be scored (not parquet, a column missing or twice); no row-level reject
    could explain it."""


class BatchLocationError(ValueError):
    """Two of the job's files are one file: running would overwrite the input or lose the predictions, so
    the job is refused before anything is read or written (the CLI's exit 2)."""


@dataclass(frozen=True)
class BatchJob:
    input: str
    output: str
    rejects: str
    id_column: str | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    progress: bool = True


def check_locations(job: BatchJob, names: tuple[str, str, str] = ("input", "output", "rejects")) -> None:
    """What can be checked before the model is loaded or a row read: the three files are three
    (BatchLocationError), and the destinations can be written (BatchIOError)."""
    refuse_colliding_locations(job, names)
    check_writable(job.output, "output")
    check_writable(job.rejects, "rejects file")


def score_file(
    job: BatchJob,
    model: RideDurationModel,
    model_name: str,
    s3_client: Callable[[], Any] = lambda: client("s3"),
    written: dict[str, str] | None = None,
) -> ScoringSummary:
    """Score every row of `job.input` into `job.output` and `job.rejects` (`check_locations` first).

    The input is checked before a row is scored (a file that is not parquet or lacks a ride column), so a
    long run does not fail at the end; whatever fails, neither output is left behind half-written.
    `written` receives each output's identity as written (`files.writable_files`)."""
    started = time.perf_counter()
    counts: Counter[str] = Counter()
    rows = scored = 0
    with readable_file(job.input, s3_client) as source_path:
        source = _open_parquet(source_path, job.input)
        inputs = source.schema_arrow
        _check_columns(inputs, job)
        ride_id_type = inputs.field(job.id_column).type if job.id_column else pa.int64()
        scored_schema = output_schema(ride_id_type, inputs)
        reject_schema = rejects_schema(ride_id_type, inputs)
        # The output last: once it appears, the rejects file beside it is complete too.
        destinations = [(job.rejects, "rejects file"), (job.output, "output")]
        with writable_files(destinations, s3_client, written) as (rejects_path, output_path):
            try:
                with (
                    pq.ParquetWriter(output_path, scored_schema) as scored_writer,
                    pq.ParquetWriter(rejects_path, reject_schema) as rejects_writer,
                    tqdm(total=source.metadata.num_rows, unit="rows", disable=not job.progress, file=sys.stderr) as bar,
                ):
                    for chunk in _chunks(source, job):
                        numbers = range(rows, rows + chunk.num_rows)
                        outcome = score_chunk(chunk, numbers, job.id_column, model, model_name)
                        scored_writer.write_table(pa.Table.from_pydict(outcome.scored, schema=scored_schema))
                        rejects_writer.write_table(pa.Table.from_pydict(outcome.rejected, schema=reject_schema))
                        counts.update(outcome.rejected["reason_code"])
                        rows += chunk.num_rows
                        scored += len(outcome.scored["ride_id"])
                        bar.update(chunk.num_rows)
            except (OSError, pa.ArrowException) as error:  # the input's errors are BatchInputErrors by now
                raise BatchIOError(
                    f"cannot write output {job.output!r} and rejects file {job.rejects!r}: {error}"
                ) from error
    return ScoringSummary(
        rows=rows,
        scored=scored,
        rejected=rows - scored,
        rejected_by_code=dict(sorted(counts.items())),
        model_name=model_name,
        model_version=model.version,
        seconds=time.perf_counter() - started,
        output=job.output,
        rejects=job.rejects,
    )


def refuse_colliding_locations(job: BatchJob, names: tuple[str, str, str] = ("input", "output", "rejects")) -> None:
    """Raise BatchLocationError when two of the job's files are one file (see `same_location`): writing the
    output over the input destroys it, and writing predictions and rejects to one file keeps only the
    second. `names` are how the message calls the three files (the CLI passes its flags)."""
    input_name, output_name, rejects_name = names
    pairs = [
        (output_name, job.output, input_name, job.input, "refusing to overwrite the input"),
        (rejects_name, job.rejects, input_name, job.input, "refusing to overwrite the input"),
        (rejects_name, job.rejects, output_name, job.output, "predictions and rejects need two files"),
    ]
    for name, location, other_name, other, why in pairs:
        shared = same_location(location, other)
        if shared is not None:
            raise BatchLocationError(
                f"{name} {location!r} and {other_name} {other!r} are the same file ({shared}): {why}"
            )


def _open_parquet(path: Path, location: str) -> pq.ParquetFile:
    """The input's footer and schema, or a BatchInputError naming the location the user gave."""
    if path.stat().st_size == 0:
        raise BatchInputError(f"input {location!r} is empty (0 bytes), not a parquet file")
    try:
        return pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as error:
        raise BatchInputError(f"input {location!r} cannot be read as parquet: {error}") from error


def _chunks(source: pq.ParquetFile, job: BatchJob) -> Iterator[pa.RecordBatch]:
    """The ride (and id) columns, `job.chunk_rows` rows at a time. A page that cannot be decoded (a corrupt
    or cut file whose footer still reads) is a BatchInputError naming the row the damage starts at."""
    columns = list(dict.fromkeys([*RIDE_COLUMNS, *([job.id_column] if job.id_column else [])]))
    batches = source.iter_batches(batch_size=job.chunk_rows, columns=columns)
    first_row = 0
    while True:
        try:
            chunk = next(batches)
        except StopIteration:
            return
        except (OSError, pa.ArrowException) as error:
            raise BatchInputError(
                f"input {job.input!r} cannot be read as parquet from row {first_row}: {error}"
            ) from error
        first_row += chunk.num_rows
        yield chunk


def _check_columns(inputs: pa.Schema, job: BatchJob) -> None:
    wanted = [*RIDE_COLUMNS, *([job.id_column] if job.id_column else [])]
    missing = [name for name in wanted if name not in inputs.names]
    if missing:
        raise BatchInputError(
            f"input {job.input!r} has no column(s) {', '.join(missing)}; "
            f"a ride needs {', '.join(RIDE_COLUMNS)} (columns present: {', '.join(inputs.names)})"
        )
    # Which of two same-named columns holds the ride is a guess; other duplicated columns are never read.
    repeated = [name for name in dict.fromkeys(wanted) if inputs.names.count(name) > 1]
    if repeated:
        raise BatchInputError(
            f"input {job.input!r} has more than one column named {', '.join(repeated)}; "
            "each column the job reads must appear once"
        )


def opened_as(text: str) -> str:
    """The spelling the job opens: a `file:` URI as its local path, an S3 URI (s3a://, repeated slashes) in
    its canonical form (`adapters.locations`); a plain local path as the user wrote it, so that messages name
    it as given (comparisons still resolve it)."""
    location = Location.parse(text)
    if location.is_s3 or text.lower().startswith("file:"):
        return str(location)
    return text


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ride_scorer.batch",
        description="Score a parquet file of rides with the streaming model (MODEL_LOCATION, MODEL_SHA256, "
        "MODEL_NAME from the environment). Paths are local or s3://bucket/key.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="parquet file of rides, e.g. a TLC month as published")
    source.add_argument("--input-prefix", help="s3://bucket/prefix/ or a local folder: score every *.parquet under it")
    destination = parser.add_mutually_exclusive_group(required=True)
    destination.add_argument("--output", help="parquet file of predictions to write")
    destination.add_argument("--output-prefix", help="where --input-prefix's predictions/, rejects/ and markers/ go")
    parser.add_argument("--rescore", action="store_true", help="with --input-prefix: score files already scored too")
    parser.add_argument("--rejects", help="parquet file of rows that cannot be scored (default: <output>.rejects)")
    parser.add_argument(
        "--id-column", help="column holding the ride id (default: none, the 0-based row number is the ride_id)"
    )
    parser.add_argument("--model", help="model directory or s3:// prefix (default: $MODEL_LOCATION)")
    parser.add_argument("--chunk-rows", type=positive_int, default=DEFAULT_CHUNK_ROWS, help="rows per chunk")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (e.g. in scheduled jobs)")
    args = parser.parse_args(argv)
    if (args.input is None) != (args.output is None):
        parser.error("--input goes with --output, --input-prefix with --output-prefix")
    if args.input_prefix is not None and args.rejects is not None:
        parser.error("--rejects is for one --input; with --input-prefix rejects go under --output-prefix")
    if args.input is not None and args.rescore:
        parser.error("--rescore is for --input-prefix; one --input is always scored")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when the file was scored (rejects included); 1 when it could not be, with one `error:` line
    and neither output written; 2 on bad arguments, including files that collide, refused before anything
    is read."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    if args.input_prefix is not None:
        return main_prefix(args)
    try:
        source, output = opened_as(args.input), opened_as(args.output)
        rejects = opened_as(args.rejects) if args.rejects else default_rejects_location(output)
    except LocationError as error:
        return fail(error, code=2)
    job = BatchJob(
        input=source,
        output=output,
        rejects=rejects,
        id_column=args.id_column,
        chunk_rows=args.chunk_rows,
        progress=not args.no_progress,
    )
    try:
        check_locations(job, ("--input", "--output", "--rejects" if args.rejects else "the default --rejects"))
    except BatchLocationError as error:
        return fail(error, code=2)
    except BatchIOError as error:
        return fail(error)
    s3_client = functools.cache(lambda: client("s3"))
    try:
        with _stop_on_sigterm():
            settings, model = _load_model(args)
            summary = score_file(job, model, settings.model_name, s3_client)
    except (*STARTUP_ERRORS, BatchIOError, BatchInputError) as error:  # type: ignore[misc]
        return fail(error)
    except KeyboardInterrupt:
        return fail("stopped before the end (interrupted); nothing was written")
    summary.report()
    return 0


def main_prefix(args: argparse.Namespace) -> int:
    """`--input-prefix`: exit 0 when every file was scored or skipped; 1 when any failed (one `error:` line
    each, the others still scored) or nothing could start (one line); 2 when the prefixes overlap."""
    try:
        job = PrefixJob(Location.parse(args.input_prefix), Location.parse(args.output_prefix), args.rescore)
    except LocationError as error:
        return fail(error, code=2)
    if job.input_prefix.overlaps(job.output_prefix):
        return fail(
            f"--output-prefix {str(job.output_prefix)!r} and --input-prefix {str(job.input_prefix)!r} "
            "overlap: the outputs would be listed as inputs",
            code=2,
        )
    s3_client = functools.cache(lambda: client("s3"))

    def score_one(source: str, output: str, rejects: str, written: dict[str, str]) -> dict[str, Any]:
        one = BatchJob(source, output, rejects, args.id_column, args.chunk_rows, progress=not args.no_progress)
        check_locations(one)
        return asdict(score_file(one, model, settings.model_name, s3_client, written))

    try:
        with _stop_on_sigterm():
            settings, model = _load_model(args)
            identity = model_identity(model.metadata.digest, model.version)
            report = functools.partial(print, file=sys.stderr, flush=True)
            summary = run_prefix(job, identity, settings.model_name, model.version, score_one, report, s3_client)
    except (*STARTUP_ERRORS, BatchIOError) as error:  # type: ignore[misc]
        return fail(error)
    except KeyboardInterrupt:
        return fail("stopped before the end (interrupted); the files scored so far are complete, the rest are not")
    print(
        f"{summary.scored_files} of {summary.files} files scored, {summary.skipped_files} skipped, "
        f"{summary.failed_files} failed: {summary.scored} of {summary.rows} rows scored, {summary.rejected} rejected "
        f"in {summary.seconds:.1f}s with model {summary.model_version}; per file: {summary.report or '(no report)'}",
        file=sys.stderr,
    )
    print(json.dumps(summary.counts()))
    return 1 if summary.failed_files else 0


def _load_model(args: argparse.Namespace) -> tuple[ModelSettings, RideDurationModel]:
    """The model settings from the environment (`--model` standing in for MODEL_LOCATION), and the model."""
    environ = {**os.environ, "MODEL_LOCATION": args.model} if args.model else os.environ
    settings = ModelSettings.from_env(environ)
    return settings, load_model_from(settings)


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """A scheduler stops a container with SIGTERM; by default Python dies at once and leaves the temporary
    outputs behind. Raising KeyboardInterrupt instead unwinds the job, which removes them."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: signals cannot be handled here, keep the default
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
