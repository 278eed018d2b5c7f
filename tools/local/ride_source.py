"""Real rides from a TLC parquet file as the ride events upstream publishes, plus poison records.

Used by the producer CLI, `make run` and the integration tests, so all three publish the same events.
Rides keep the training filter (a duration of 1-60 minutes) so the true duration can be shown beside
each prediction; the poison records cover every way a record reaching the scorer can be bad.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ride_scorer.core.rides import RejectionCode
from tools.event_factory import ride_event_bytes

MIN_DURATION_MINUTES = 1.0
MAX_DURATION_MINUTES = 60.0
OVERSIZED_BYTES = 20 * 1024  # above the scorer's 16 KiB MAX_EVENT_BYTES, far below Kinesis' 1 MiB


@dataclass(frozen=True)
class OutgoingRecord:
    data: bytes
    partition_key: str


@dataclass(frozen=True)
class Ride:
    ride_id: int
    pickup: int
    dropoff: int
    trip_distance: float
    duration: float

    def record(self) -> OutgoingRecord:
        return OutgoingRecord(
            ride_event_bytes(self.ride_id, self.pickup, self.dropoff, self.trip_distance), str(self.ride_id)
        )


@dataclass(frozen=True)
class Poison:
    """A record the scorer must dead-letter, with the rejection code it must give."""

    kind: str
    data: bytes
    expected_code: RejectionCode

    def record(self) -> OutgoingRecord:
        return OutgoingRecord(self.data, f"poison-{self.kind}")


RIDE_COLUMNS = ("PULocationID", "DOLocationID", "trip_distance")
DURATION_COLUMNS = (("duration",), ("lpep_pickup_datetime", "lpep_dropoff_datetime"))


def check_rides_file(path: Path) -> Path:
    """`path` if it is a parquet file with the ride columns (read from its footer alone); ValueError if not."""
    import pyarrow.parquet as pq

    if not path.is_file():
        raise ValueError(f"{path} is not a file")
    try:
        names = set(pq.read_schema(path).names)
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise ValueError(f"{path} is not a parquet file: {error}") from None
    missing = [name for name in RIDE_COLUMNS if name not in names]
    if missing or not any(set(columns) <= names for columns in DURATION_COLUMNS):
        raise ValueError(
            f"{path} lacks the ride columns {', '.join(RIDE_COLUMNS)} with `duration` or the lpep pickup and "
            "dropoff times (a TLC green taxi month)"
        )
    return path


def read_rides(path: Path, limit: int | None = None) -> list[Ride]:
    """Rides of a raw TLC month (durations from the pickup/dropoff times) or a prepared one (`duration`)."""
    import pandas as pd

    frame = pd.read_parquet(path)
    if "duration" in frame.columns:
        durations = frame["duration"].astype(float)
    else:
        elapsed = frame["lpep_dropoff_datetime"] - frame["lpep_pickup_datetime"]
        durations = elapsed.dt.total_seconds() / 60
    keep = durations.between(MIN_DURATION_MINUTES, MAX_DURATION_MINUTES) & (frame["trip_distance"] >= 0)
    frame, durations = frame[keep], durations[keep]
    if limit is not None:
        frame, durations = frame.head(limit), durations.head(limit)
    return [
        Ride(int(index), int(pickup), int(dropoff), float(distance), float(duration))
        for index, pickup, dropoff, distance, duration in zip(
            frame.index, frame["PULocationID"], frame["DOLocationID"], frame["trip_distance"], durations, strict=True
        )
    ]


def _ride(ride_id: str, **fields: object) -> bytes:
    return json.dumps({"ride": fields, "ride_id": ride_id}).encode("utf-8")


def poison_records(count: int) -> list[Poison]:
    """`count` bad records cycling through every kind; each is unique (its number is in the payload)."""
    makers = [
        ("not_json", lambda n: f"\xff ride {n} is not JSON {{".encode("latin-1"), RejectionCode.INVALID_JSON),
        (
            "wrong_types",
            lambda n: _ride(f"poison-{n}", PULocationID="abc", DOLocationID=[1], trip_distance="far"),
            RejectionCode.INVALID_SCHEMA,
        ),
        (
            "nan_distance",
            lambda n: (
                f'{{"ride": {{"PULocationID": 74, "DOLocationID": 75, "trip_distance": NaN}}, '
                f'"ride_id": "poison-{n}"}}'.encode()
            ),
            RejectionCode.INVALID_JSON,  # NaN is what a lax encoder writes, and not a JSON literal
        ),
        (
            "oversized",
            lambda n: _ride(
                f"poison-{n}", PULocationID=74, DOLocationID=75, trip_distance=1.0, note="x" * OVERSIZED_BYTES
            ),
            RejectionCode.PAYLOAD_TOO_LARGE,
        ),
        ("missing_fields", lambda n: _ride(f"poison-{n}", PULocationID=74), RejectionCode.INVALID_SCHEMA),
        (
            "negative_distance",
            lambda n: _ride(f"poison-{n}", PULocationID=74, DOLocationID=75, trip_distance=-3.5),
            RejectionCode.INVALID_SCHEMA,
        ),
    ]
    poisons = []
    for number in range(count):
        kind, make, code = makers[number % len(makers)]
        poisons.append(Poison(kind, make(number), code))
    return poisons


def mixed_records(rides: Sequence[Ride], poisons: Sequence[Poison], seed: int = 0) -> list[OutgoingRecord]:
    """Rides in file order with the poison records spread among them at reproducible positions."""
    records = [ride.record() for ride in rides]
    rng = random.Random(seed)
    for poison in poisons:
        records.insert(rng.randint(0, len(records)), poison.record())
    return records
