"""Read NYC TLC green-taxi months into the one training frame, whatever the month's schema.

The published schema drifts (location ids as strings, int64 or int32; a `duration` column only in the
course's pre-filtered 2021 files), and the raw months carry real dirt (pickup dates years off, negative
or day-long trips). Everything downstream sees one shape: string ids, float distance, minutes in 1-60.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from ride_scorer.adapters.aws_clients import client
from ride_scorer.adapters.model_store import split_s3_uri
from ride_scorer.core.features import RideFeatures, features_from_columns

PICKUP, DROPOFF, DISTANCE, DURATION = "PULocationID", "DOLocationID", "trip_distance", "duration"
PICKUP_TIME, DROPOFF_TIME = "lpep_pickup_datetime", "lpep_dropoff_datetime"
TARGET = DURATION
# The course's window: shorter rides are mostly cancelled meters, longer ones forgotten meters.
MIN_MINUTES, MAX_MINUTES = 1.0, 60.0


class TripDataError(ValueError):
    """A file cannot be used for training; the message names the file and what is wrong."""


def read_trips(path: str | Path, s3_client: Any = None) -> pd.DataFrame:
    """One month as PULocationID, DOLocationID (str), trip_distance (float), duration (float minutes, 1-60)."""
    path = str(path)
    table = _read_table(path, s3_client)
    columns = set(table.column_names)
    has_duration = DURATION in columns
    needed = [PICKUP, DROPOFF, DISTANCE] + ([DURATION] if has_duration else [PICKUP_TIME, DROPOFF_TIME])
    for name in needed:
        if name not in columns:
            raise TripDataError(f"{path}: required column {name!r} is missing (columns: {sorted(columns)})")
    frame = table.select(needed).to_pandas()
    if has_duration:
        minutes = frame[DURATION].astype(float)
    else:
        minutes = (frame[DROPOFF_TIME] - frame[PICKUP_TIME]).dt.total_seconds() / 60
    trips = pd.DataFrame(
        {
            PICKUP: _location_ids(frame[PICKUP]),
            DROPOFF: _location_ids(frame[DROPOFF]),
            DISTANCE: frame[DISTANCE].astype(float),
            DURATION: minutes.astype(float),
        }
    )
    keep = trips[DURATION].between(MIN_MINUTES, MAX_MINUTES) & trips[[PICKUP, DROPOFF, DISTANCE]].notna().all(axis=1)
    return trips[keep].reset_index(drop=True)


def trip_features(trips: pd.DataFrame) -> list[RideFeatures]:
    """The scorer's own feature function, so training and serving cannot drift apart."""
    return features_from_columns(trips[PICKUP], trips[DROPOFF], trips[DISTANCE])


def _location_ids(column: pd.Series) -> pd.Series:
    """ "130" whether the month stored 130 (int32/int64), 130.0 (a float column with gaps) or "130"."""
    if pd.api.types.is_numeric_dtype(column):
        column = column.astype("Int64")
    return column.astype("string").astype(object).where(column.notna(), None)


def _read_table(path: str, s3_client: Any) -> Any:
    try:
        if path.startswith("s3://"):
            bucket, key = split_s3_uri(path)
            body = (s3_client or client("s3")).get_object(Bucket=bucket, Key=key)["Body"].read()
            return pq.read_table(io.BytesIO(body))
        return pq.read_table(Path(path))
    except TripDataError:
        raise
    except Exception as error:  # missing file, no such key, not parquet: all mean "cannot train on this"
        raise TripDataError(f"{path}: cannot read it as parquet: {type(error).__name__}: {error}") from error
