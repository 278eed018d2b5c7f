"""A handful of real rows of a bundled TLC month, written as a parquet file of their own (schema and all),
and what `training.data.read_trips` makes of such a file."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tests.shared.paths import DATA
from training.data import read_trips


def month_slice(folder: Path, month: str, rows: int) -> str:
    """The first `rows` rows of a bundled month, as a file of the same name in `folder` (its path)."""
    path = folder / f"green_tripdata_{month}.parquet"
    pq.write_table(pq.read_table(DATA / f"green_tripdata_{month}.parquet").slice(0, rows), path)
    return str(path)


def real_rows(month: str, rows: list[int], tmp_path: Path, drop: tuple[str, ...] = ()) -> Path:
    table = pq.read_table(DATA / f"green_tripdata_{month}.parquet").take(rows)
    table = table.drop_columns(list(drop))
    path = tmp_path / f"{month}-{len(rows)}-rows.parquet"
    pq.write_table(table, path)
    return path


def records(path: Path) -> list[dict]:
    return read_trips(str(path)).to_dict("records")


def parquet_bytes(table: pa.Table) -> bytes:
    """`table` as the bytes of a parquet file (a request body, an S3 object)."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def first_rides(count: int) -> pd.DataFrame:
    """The first `count` rides of January 2023, their three ride columns."""
    frame = pd.read_parquet(
        DATA / "green_tripdata_2023-01.parquet", columns=["PULocationID", "DOLocationID", "trip_distance"]
    )
    return frame.head(count).reset_index(drop=True)
