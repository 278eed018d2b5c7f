"""Fixtures for the Spark backfill: one local[2] Spark session for every Spark test (a session takes ~10 s to
start), bound to 127.0.0.1 with its UI off, stopped (and its JVM ended) at the end; and real TLC months
made dirty, with the trained test model pinned as a deployment pins it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ride_scorer.core.integrity import directory_digest
from ride_scorer.core.settings import ModelSettings
from tests.shared.paths import DATA

pyspark = pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")

SLICE_ROWS = 20_000
# Rows a real feed can hold and the core must reject (or score) exactly as the batch job does.
DIRTY_NUMERIC = [
    {"PULocationID": None, "DOLocationID": 5, "trip_distance": 1.0},
    {"PULocationID": 3, "DOLocationID": 4, "trip_distance": -2.5},
    {"PULocationID": 2**40, "DOLocationID": 1, "trip_distance": 1.0},
    {"PULocationID": 7, "DOLocationID": 2**63 - 1, "trip_distance": 1.0},
    {"PULocationID": -1, "DOLocationID": 2, "trip_distance": 1.0},
    {"PULocationID": 1, "DOLocationID": 2, "trip_distance": math.nan},
    {"PULocationID": 1, "DOLocationID": 2, "trip_distance": math.inf},
    {"PULocationID": 1, "DOLocationID": 2, "trip_distance": None},
    {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1e39},
]
DIRTY_TEXT = [
    {"PULocationID": None, "DOLocationID": "5", "trip_distance": 1.0},
    {"PULocationID": "99999999999", "DOLocationID": "1", "trip_distance": 1.0},
    {"PULocationID": "abc", "DOLocationID": "1", "trip_distance": 1.0},
    {"PULocationID": "-3", "DOLocationID": "1", "trip_distance": 1.0},
    {"PULocationID": "12", "DOLocationID": "34", "trip_distance": -0.5},
    {"PULocationID": "12", "DOLocationID": "34", "trip_distance": math.nan},
]


@dataclass(frozen=True)
class DirtyMonths:
    """A folder of parquet files: a row-limited slice of each month with dirty rows in the middle."""

    folder: Path
    files: list[Path]


def dirty_month(month: str, folder: Path, rows: int = SLICE_ROWS) -> Path:
    table = pq.read_table(DATA / f"green_tripdata_{month}.parquet").slice(0, rows)
    numeric = pa.types.is_integer(table.schema.field("PULocationID").type)
    dirty = pa.Table.from_pylist(
        [row for row in (DIRTY_NUMERIC if numeric else DIRTY_TEXT) if _fits(row, table.schema)], schema=table.schema
    )
    half = rows // 2
    path = folder / f"green_tripdata_{month}.parquet"
    pq.write_table(pa.concat_tables([table.slice(0, half), dirty, table.slice(half)]), path)
    return path


def _fits(row: dict, schema: pa.Schema) -> bool:
    """A 32-bit column (2023-02's ids) cannot hold the 64-bit huge ids."""
    try:
        pa.Table.from_pylist([row], schema=schema)
    except (pa.ArrowInvalid, OverflowError):
        return False
    return True


@pytest.fixture
def dirty_months(tmp_path: Path, request: pytest.FixtureRequest) -> DirtyMonths:
    """Parametrize indirectly with the months, e.g. ("2021-01", "2021-02"): one run's files share a schema.
    A module that needs fewer rows per month sets DIRTY_MONTH_ROWS."""
    folder = tmp_path / "rides"
    folder.mkdir()
    rows = getattr(request.module, "DIRTY_MONTH_ROWS", SLICE_ROWS)
    return DirtyMonths(folder, [dirty_month(month, folder, rows) for month in request.param])


@pytest.fixture
def pinned_settings(referenced_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> ModelSettings:
    """The linear test model with its training reference (so the summaries carry the drift fields), pinned
    in the environment as a deployment pins it, and as the backfill's model settings."""
    monkeypatch.setenv("MODEL_LOCATION", str(referenced_model_dir))
    monkeypatch.setenv("MODEL_SHA256", directory_digest(referenced_model_dir))
    monkeypatch.delenv("MODEL_NAME", raising=False)
    return ModelSettings(str(referenced_model_dir), model_sha256=directory_digest(referenced_model_dir))


@pytest.fixture(scope="session")
def spark() -> Iterator[pyspark.sql.SparkSession]:
    from pyspark import SparkContext

    from ride_scorer.backfill.session import spark_session

    session = spark_session(
        "local[2]",
        {
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.host": "127.0.0.1",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        gateway = SparkContext._gateway
        if gateway is not None:  # the JVM PySpark started for this session: end it too
            gateway.shutdown()
            gateway.proc.terminate()
            gateway.proc.wait(timeout=60)
            SparkContext._gateway = None
            SparkContext._jvm = None
