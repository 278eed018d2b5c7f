"""Arrow record batches of rides -> the core -> predictions and rejects columns.

The batch job (one file, read in chunks) and the Spark backfill (`mapInArrow` batches of many files) both
call `score_chunk`, so the two write the same columns, the same floats and the same reason codes: each row
becomes the document a stream event carries ({"ride": {...}, "ride_id": ...}) and goes through the core's
one validation, features and model path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ride_scorer.core.model import RideDurationModel
from ride_scorer.core.rides import Rejection, read_document
from ride_scorer.core.scoring import Prediction, score_rides
from ride_scorer.core.signals import BatchSignals, batch_signals

RIDE_COLUMNS = ("PULocationID", "DOLocationID", "trip_distance")
# The output layout, written once: the predictions file, the rejects file, and one row per input row with
# both (the backfill's `mapInArrow` result, which its driver splits into the two datasets).
PREDICTION_COLUMNS = ("ride_id", *RIDE_COLUMNS, "ride_duration", "model_name", "model_version")
REJECT_COLUMNS = ("row", "ride_id", *RIDE_COLUMNS, "reason_code", "reason")
OUTCOME_COLUMNS = ("row", *PREDICTION_COLUMNS, "reason_code", "reason")
_OWN_TYPES = {
    "row": pa.int64(),
    "ride_duration": pa.float64(),
    "model_name": pa.string(),
    "model_version": pa.string(),
    "reason_code": pa.string(),
    "reason": pa.string(),
}


def _schema(columns: Sequence[str], ride_id: pa.DataType, inputs: pa.Schema) -> pa.Schema:
    """The ride columns as they were in the input, ride_id of the id column's type, the rest the job's own."""
    return pa.schema(
        [
            pa.field("ride_id", ride_id)
            if name == "ride_id"
            else inputs.field(name)
            if name in RIDE_COLUMNS
            else pa.field(name, _OWN_TYPES[name])
            for name in columns
        ]
    )


def output_schema(ride_id: pa.DataType, inputs: pa.Schema) -> pa.Schema:
    """ride_id, the inputs as they were in the file, the prediction and which model made it."""
    return _schema(PREDICTION_COLUMNS, ride_id, inputs)


def rejects_schema(ride_id: pa.DataType, inputs: pa.Schema) -> pa.Schema:
    """`row` is the 0-based row number in the input file, so a reject can be found and fixed."""
    return _schema(REJECT_COLUMNS, ride_id, inputs)


def outcome_schema(ride_id: pa.DataType, inputs: pa.Schema) -> pa.Schema:
    """One row per input row: a prediction (reason_code null) or a reject (ride_duration null)."""
    return _schema(OUTCOME_COLUMNS, ride_id, inputs)


@dataclass(frozen=True)
class ChunkOutcome:
    """The chunk's predictions and rejects as columns (`output_schema`, `rejects_schema`), and where each
    came from in the chunk, so a caller can carry along columns of its own (the backfill's input file)."""

    scored: dict[str, list[Any]]
    rejected: dict[str, list[Any]]
    scored_positions: list[int]
    rejected_positions: list[int]
    # The chunk's drift and domain signals (ride_scorer/core/signals.py), for the run's summary.
    signals: BatchSignals | None = None


def score_chunk(
    chunk: pa.RecordBatch,
    rows: Sequence[int],
    id_column: str | None,
    model: RideDurationModel,
    model_name: str,
) -> ChunkOutcome:
    """Score one batch of rides in one core call. `rows` are the rows' 0-based numbers in their input file
    (the reject's `row`, and the ride_id when there is no `id_column`): consecutive for the batch job's
    chunks, taken from Spark's row index by the backfill, whose batches may span files."""
    pickups, dropoffs, distances = (chunk.column(name).to_pylist() for name in RIDE_COLUMNS)
    ride_ids = chunk.column(id_column).to_pylist() if id_column else list(rows)
    documents = [
        {"ride": {"PULocationID": pu, "DOLocationID": do, "trip_distance": distance}, "ride_id": ride_id}
        for pu, do, distance, ride_id in zip(pickups, dropoffs, distances, ride_ids, strict=True)
    ]
    rides = [read_document(document) for document in documents]
    outcomes = score_rides(model, rides)
    kept: list[tuple[int, Prediction]] = []
    dropped: list[tuple[int, Rejection]] = []
    for position, outcome in enumerate(outcomes):
        if isinstance(outcome, Prediction):
            kept.append((position, outcome))
        else:
            dropped.append((position, outcome))
    return ChunkOutcome(
        scored={
            "ride_id": [ride_ids[i] for i, _ in kept],
            "PULocationID": [pickups[i] for i, _ in kept],
            "DOLocationID": [dropoffs[i] for i, _ in kept],
            "trip_distance": [distances[i] for i, _ in kept],
            "ride_duration": [prediction.ride_duration for _, prediction in kept],
            "model_name": [model_name] * len(kept),
            "model_version": [model.version] * len(kept),
        },
        rejected={
            "row": [rows[i] for i, _ in dropped],
            "ride_id": [ride_ids[i] for i, _ in dropped],
            "PULocationID": [pickups[i] for i, _ in dropped],
            "DOLocationID": [dropoffs[i] for i, _ in dropped],
            "trip_distance": [distances[i] for i, _ in dropped],
            "reason_code": [str(rejection.code) for _, rejection in dropped],
            "reason": [rejection.reason for _, rejection in dropped],
        },
        scored_positions=[i for i, _ in kept],
        rejected_positions=[i for i, _ in dropped],
        signals=batch_signals(rides, outcomes, model.reference),
    )
