"""The executors' side of a backfill: Arrow batches from Spark (`mapInArrow`) through the shared columnar
scoring, with the model loaded once per Python worker process.

Spark reuses its Python workers across tasks (`spark.python.worker.reuse`, on by default), so the model
cache below is filled by a worker's first task and used by every later one. Each load goes through the
one model loader of every mode, so its digest is verified against the driver's pin: a model that fails
it raises ModelIntegrityError in the task, Spark fails the job, and the driver reports that error.

One pass writes one row per input row: a prediction (reason_code null) or a reject (ride_duration null),
the union of the batch job's two layouts, plus the input file. The driver splits it into the two datasets.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pyarrow as pa

from ride_scorer.adapters.model_store import load_model_from
from ride_scorer.columnar.chunks import RIDE_COLUMNS, ChunkOutcome, outcome_schema, score_chunk
from ride_scorer.core.model import RideDurationModel
from ride_scorer.core.settings import ModelSettings

# Spark's hidden per-file columns, renamed so they cannot clash with an input column.
ROW_COLUMN = "__ride_scorer_row"
FILE_COLUMN = "__ride_scorer_input_file"
# The one column a backfill adds to the batch job's layout (`columnar.chunks`): the file a row came from.
INPUT_FILE = "input_file"

_models: dict[tuple[str, str | None], RideDurationModel] = {}
_lock = threading.Lock()


def worker_model(settings: ModelSettings) -> RideDurationModel:
    """The model for these settings, loaded (and verified) once per process, keyed by location and digest."""
    key = (settings.model_location, settings.model_sha256)
    with _lock:
        if key not in _models:
            _models[key] = load_model_from(settings)
        return _models[key]


def combined_schema(ride_id: pa.DataType, inputs: pa.Schema) -> pa.Schema:
    """The columnar layout of one row per input row (`columnar.chunks.outcome_schema`), plus the input file."""
    return outcome_schema(ride_id, inputs).append(pa.field(INPUT_FILE, pa.string()))


def score_batches(
    batches: Iterator[pa.RecordBatch], model: ModelSettings, id_column: str | None
) -> Iterator[pa.RecordBatch]:
    """The `mapInArrow` function (bind its settings with functools.partial): each batch scored in one core
    call. A batch may hold rows of several files; `row` and the default ride_id come from Spark's per-file
    row index, so they are the rows' numbers in their own files, as the batch job numbers them."""
    loaded = worker_model(model)
    for batch in batches:
        rows = batch.column(ROW_COLUMN).to_pylist()
        outcome = score_chunk(batch, rows, id_column, loaded, model.model_name)
        ride_id = batch.schema.field(id_column).type if id_column else pa.int64()
        yield _combined(batch, outcome, combined_schema(ride_id, batch.schema))


def _combined(batch: pa.RecordBatch, outcome: ChunkOutcome, schema: pa.Schema) -> pa.RecordBatch:
    scored, rejected = outcome.scored, outcome.rejected
    kept, dropped = len(outcome.scored_positions), len(outcome.rejected_positions)
    positions = pa.array(outcome.scored_positions + outcome.rejected_positions, pa.int64())
    columns = {
        "row": batch.column(ROW_COLUMN).take(positions),
        **{name: scored[name] + rejected[name] for name in ("ride_id", *RIDE_COLUMNS)},
        **{name: scored[name] + [None] * dropped for name in ("ride_duration", "model_name", "model_version")},
        **{name: [None] * kept + rejected[name] for name in ("reason_code", "reason")},
        INPUT_FILE: batch.column(FILE_COLUMN).take(positions),
    }
    return pa.RecordBatch.from_pydict(columns, schema=schema)
