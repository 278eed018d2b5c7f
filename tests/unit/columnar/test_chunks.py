"""`score_chunk`, the one path from Arrow rides to output columns that the batch job (file chunks) and the
backfill (Spark's mapInArrow batches) share: which rows become predictions and which rejects, in the column
layout of `output_schema` and `rejects_schema`, each reject keeping its row number in its file."""

from __future__ import annotations

import pyarrow as pa

from ride_scorer.columnar.chunks import output_schema, rejects_schema, score_chunk
from tests.shared.fakes.models import FAKE_VERSION, expected_minutes

# A valid ride, a ride with no pickup (invalid before the model), the zone pair the picky model raises on,
# another valid ride.
CHUNK = pa.RecordBatch.from_pydict(
    {
        "PULocationID": [130, None, 666, 131],
        "DOLocationID": [205, 5, 666, 206],
        "trip_distance": [1.0, 1.0, 2.0, 3.0],
        "trip_key": ["a", "b", "c", "d"],
    }
)
ROWS = [40, 41, 42, 43]  # where the chunk sits in its file


def test_rows_become_predictions_or_rejects_in_the_file_layout(picky_model):
    outcome = score_chunk(CHUNK, ROWS, "trip_key", picky_model, "the-model")

    assert list(outcome.scored) == output_schema(pa.string(), CHUNK.schema).names
    assert outcome.scored == {
        "ride_id": ["a", "d"],
        "PULocationID": [130, 131],
        "DOLocationID": [205, 206],
        "trip_distance": [1.0, 3.0],
        "ride_duration": [expected_minutes(1.0), expected_minutes(3.0)],
        "model_name": ["the-model"] * 2,
        "model_version": [FAKE_VERSION] * 2,
    }
    assert list(outcome.rejected) == rejects_schema(pa.string(), CHUNK.schema).names
    reasons = outcome.rejected.pop("reason")
    assert outcome.rejected == {
        "row": [41, 42],
        "ride_id": ["b", "c"],
        "PULocationID": [None, 666],
        "DOLocationID": [5, 666],
        "trip_distance": [1.0, 2.0],
        "reason_code": ["invalid_schema", "model_error"],
    }
    assert all(reason and "\n" not in reason for reason in reasons)
    assert (outcome.scored_positions, outcome.rejected_positions) == ([0, 3], [1, 2])
