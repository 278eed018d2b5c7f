"""Score a parquet file of rides (a raw TLC month as published is fine) with the streaming model and rules:
`score_file`, after `check_locations`. The command line is `cli`; the prefix mode (`prefix`, `ledger`) scores
each file under a prefix with this same function.

Used to re-score a day after a model change or to backfill after an outage. Every row becomes the same
document a stream event carries ({"ride": {...}, "ride_id": ...}) and goes through the same validation,
features and model as the Lambda, so a ride's batch prediction equals its streaming one. The file is read
in chunks of `--chunk-rows` (pyarrow `iter_batches`, only the needed columns), so memory stays bounded.
"""

from __future__ import annotations

import logging
import sys
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from ride_scorer.adapters.aws_clients import client
from ride_scorer.batch.files import (
    BatchIOError,
    check_writable,
    is_s3,
    readable_file,
    same_location,
    writable_files,
)
from ride_scorer.columnar.chunks import RIDE_COLUMNS, output_schema, rejects_schema, score_chunk
from ride_scorer.columnar.summary import ScoringSummary, drift_fields
from ride_scorer.core.model import RideDurationModel
from ride_scorer.core.signals import BatchSignals

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
    # What each output must be when it is written (`files.writable_files`): the prefix mode passes what its
    # listing showed, so it creates what was absent and replaces only what it proved its own. None: the
    # outputs a user named are replaced whatever they are.
    expected: Mapping[str, str] | None = field(default=None, compare=False)


def check_locations(job: BatchJob, names: tuple[str, str, str] = ("input", "output", "rejects")) -> None:
    """What can be checked before the model is loaded or a row read: the three files are three
    (BatchLocationError), and the destinations can be written (BatchIOError)."""
    refuse_colliding_locations(job, names)
    if not is_s3(job.input) and Path(job.input).is_dir():
        raise BatchIOError(
            f"input {job.input!r} is a folder, not a file: to score every parquet file in it, use "
            f"--input-prefix {job.input} --output-prefix <folder for predictions/, rejects/, markers/>"
        )
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
    signals: BatchSignals | None = None
    predictions = array("d")
    with readable_file(job.input, s3_client) as source_path:
        source = _open_parquet(source_path, job.input)
        inputs = source.schema_arrow
        _check_columns(inputs, job)
        ride_id_type = inputs.field(job.id_column).type if job.id_column else pa.int64()
        scored_schema = output_schema(ride_id_type, inputs)
        reject_schema = rejects_schema(ride_id_type, inputs)
        # The output last: once it appears, the rejects file beside it is complete too.
        destinations = [(job.rejects, "rejects file"), (job.output, "output")]
        with writable_files(destinations, s3_client, written, job.expected) as (rejects_path, output_path):
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
                        if outcome.signals is not None:
                            signals = outcome.signals if signals is None else signals + outcome.signals
                        predictions.extend(outcome.scored["ride_duration"])
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
        **drift_fields(signals, predictions),
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
