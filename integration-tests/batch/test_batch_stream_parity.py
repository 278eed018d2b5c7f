"""Same rides, same answers: the batch job and the Lambda handler on moto score real TLC rides identically.

The batch job reads its parquet from S3 and writes back to S3; the handler gets the same rides as Kinesis
events and writes to the output stream and the dead-letter queue. Predictions must be equal as floats,
not approximately, and the rows the batch rejects must be exactly the records the stream dead-letters.
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lambda_function import app
from ride_scorer.batch.cli import main as batch_main
from tests.shared.lambda_context import lambda_context
from tests.shared.paths import DATA
from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record, ride_event_bytes
from tools.readers import read_dead_letters, read_stream

REAL_ROWS = 1_000
LAMBDA_BATCH = 100
COLUMNS = ["PULocationID", "DOLocationID", "trip_distance"]
# The published 2023-01 schema of the three ride columns.
SCHEMA_2023_01 = pa.schema(
    [("PULocationID", pa.int64()), ("DOLocationID", pa.int64()), ("trip_distance", pa.float64())]
)
DIRTY = [
    {"PULocationID": 74, "DOLocationID": 75, "trip_distance": -1.5},
    {"PULocationID": None, "DOLocationID": 75, "trip_distance": 2.0},
    {"PULocationID": 74, "DOLocationID": -3, "trip_distance": 2.0},
]


@pytest.fixture
def deployed(deploy_scorer):
    return deploy_scorer(pin_digest=True).resources


def rides_with_dirt() -> list[dict]:
    """Real 2023-01 rides in the published schema, a dirty row after every 300th real one."""
    rows = pq.read_table(DATA / "green_tripdata_2023-01.parquet", columns=COLUMNS).slice(0, REAL_ROWS).to_pylist()
    for number, dirty in enumerate(DIRTY):
        rows.insert(300 * (number + 1) + number, dirty)
    return rows


def stream_the_rides(rows: list[dict]) -> None:
    """The rides as Kinesis delivers them (ride_id = row number, as the batch job uses), 100 per invocation."""
    for start in range(0, len(rows), LAMBDA_BATCH):
        records = [
            kinesis_record(
                KinesisRecordSpec(
                    ride_event_bytes(
                        row_number,
                        rows[row_number]["PULocationID"],
                        rows[row_number]["DOLocationID"],
                        rows[row_number]["trip_distance"],
                    ),
                    partition_key=str(row_number),
                    sequence_number=f"4960{row_number:020d}",
                    approximate_arrival_timestamp=1764000000.0 + row_number / 1000,
                )
            )
            for row_number in range(start, min(start + LAMBDA_BATCH, len(rows)))
        ]
        assert app.lambda_handler(kinesis_event(records), lambda_context()) == {"batchItemFailures": []}


def read_parquet(s3, bucket: str, key: str) -> pa.Table:
    return pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def test_batch_predictions_equal_streaming_predictions_exactly(deployed, aws_env, capsys):
    s3, kinesis, sqs = (aws_env.client(name) for name in ("s3", "kinesis", "sqs"))
    bucket = deployed.model_bucket
    rows = rides_with_dirt()
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA_2023_01), buffer)
    s3.put_object(Bucket=bucket, Key="rides/2023-01.parquet", Body=buffer.getvalue())

    code = batch_main(
        [
            *("--input", f"s3://{bucket}/rides/2023-01.parquet"),
            *("--output", f"s3://{bucket}/predictions/2023-01.parquet"),
            *("--chunk-rows", "256", "--no-progress"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    stream_the_rides(rows)

    batch = read_parquet(s3, bucket, "predictions/2023-01.parquet").to_pylist()
    streamed = [json.loads(record.data) for record in read_stream(kinesis, deployed.predictions_stream)]
    assert len(streamed) == len(batch) == REAL_ROWS
    assert {r["ride_id"]: r["ride_duration"] for r in batch} == {
        r["prediction"]["ride_id"]: r["prediction"]["ride_duration"] for r in streamed
    }
    assert {(r["model_name"], r["model_version"]) for r in batch} == {(r["model"], r["version"]) for r in streamed}
    assert summary["model_version"] == streamed[0]["version"]

    rejects = read_parquet(s3, bucket, "predictions/2023-01.rejects.parquet").to_pylist()
    letters = read_dead_letters(sqs, deployed.dead_letter_queue_url, delete=True)
    assert (summary["scored"], summary["rejected"]) == (REAL_ROWS, len(DIRTY))
    assert sorted((r["row"], r["reason_code"], r["reason"]) for r in rejects) == sorted(
        (int(letter["source"]["partition_key"]), letter["reason_code"], letter["reason"]) for letter in letters
    )
