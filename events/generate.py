"""Write the sample Kinesis events for `sam local invoke -e` from real NYC TLC green-taxi rides.

Every event is built with tools.event_factory, the same code the tests and the local runner
use, so the samples have exactly the shape Lambda's event source mapping delivers. Output is
deterministic (sequence numbers by position, arrival time = the ride's real pickup time): rerunning
this changes no committed file unless the data or the factory changed.

    python events/generate.py [--large-rides N] [--output DIR]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record, ride_event_bytes

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
EVENTS = Path(__file__).resolve().parent
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/ride-scorer-rides"
FIRST_SEQUENCE_NUMBER = 49590338271490256608559692538361571095921575989136588898
SMALL_RIDES = 10
LARGE_RIDES = 5000


def rides(month: str, start: int, count: int) -> Iterator[tuple[str, Any, Any, float, float]]:
    """(ride_id, pickup id, dropoff id, distance, pickup epoch seconds) of real rides, in file order.

    Location ids keep the month's own type: int in the raw 2023 files, text in the 2021 ones."""
    frame = pd.read_parquet(DATA / f"green_tripdata_{month}.parquet").iloc[start : start + count]
    for row, ride in zip(range(start, start + count), frame.itertuples(index=False), strict=False):
        pickup = ride.lpep_pickup_datetime.timestamp()
        pu, do = ride.PULocationID, ride.DOLocationID
        pu, do = (int(pu), int(do)) if not isinstance(pu, str) else (pu, do)
        yield f"green-{month}-{row:06d}", pu, do, float(ride.trip_distance), pickup


def record(position: int, data: bytes, partition_key: str, arrival: float) -> dict[str, Any]:
    spec = KinesisRecordSpec(
        data=data,
        partition_key=partition_key,
        sequence_number=str(FIRST_SEQUENCE_NUMBER + position),
        approximate_arrival_timestamp=round(arrival, 3),
    )
    return kinesis_record(spec, stream_arn=STREAM_ARN)


def ride_records(month: str, start: int, count: int) -> list[dict[str, Any]]:
    return [
        record(position, ride_event_bytes(ride_id, pu, do, distance), ride_id, arrival)
        for position, (ride_id, pu, do, distance, arrival) in enumerate(rides(month, start, count))
    ]


def small_event() -> dict[str, Any]:
    """Ten real January 2023 rides, all valid."""
    return kinesis_event(ride_records("2023-01", 0, SMALL_RIDES))


def poison_event() -> dict[str, Any]:
    """Valid rides interleaved with every kind of bad record the scorer dead-letters."""
    (good_id, pu, do, distance, arrival), *_ = rides("2023-01", 10, 1)
    (text_id, text_pu, text_do, text_distance, text_arrival), *_ = rides("2021-01", 0, 1)
    outlier = pd.read_parquet(DATA / "green_tripdata_2023-01.parquet", columns=["trip_distance"])
    outlier_row = int(outlier["trip_distance"].idxmax())
    (far_id, far_pu, far_do, far_distance, far_arrival), *_ = rides("2023-01", outlier_row, 1)
    missing_distance = json.dumps({"ride": {"PULocationID": pu, "DOLocationID": do}, "ride_id": "missing-distance"})
    payloads: list[tuple[bytes | None, str, str, float]] = [
        (ride_event_bytes(good_id, pu, do, distance), good_id, "valid", arrival),
        (None, "bad-base64", "invalid_base64", arrival),
        (b"ride 43 -> 151, 1.01 miles", "not-json", "invalid_json", arrival),
        (missing_distance.encode(), "missing-distance", "invalid_schema", arrival),
        (ride_event_bytes("negative-distance", pu, do, -1.5), "negative-distance", "invalid_schema", arrival),
        (ride_event_bytes(text_id, text_pu, text_do, text_distance), text_id, "valid", text_arrival),
        (
            json.dumps(
                {
                    "ride": {"PULocationID": pu, "DOLocationID": do, "trip_distance": 1.0},
                    "ride_id": "too-large",
                    "note": "x" * 20_000,
                }
            ).encode(),
            "too-large",
            "payload_too_large",
            arrival,
        ),
        # A real record with an absurd distance: valid by schema, so it is scored, not rejected.
        (ride_event_bytes(far_id, far_pu, far_do, far_distance), far_id, "valid", far_arrival),
    ]
    records = []
    for position, (data, key, _expected, when) in enumerate(payloads):
        item = record(position, data or b"", key, when)
        if data is None:
            item["kinesis"]["data"] = "this is not base64!"
        records.append(item)
    return kinesis_event(records)


def large_event(count: int = LARGE_RIDES) -> dict[str, Any]:
    """Real February 2023 rides: a batch bigger than the default BatchSize, for timing and memory."""
    return kinesis_event(ride_records("2023-02", 0, count))


def write(path: Path, event: dict[str, Any]) -> None:
    path.write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {len(event['Records'])} records")


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate sample Kinesis events from real TLC rides.")
    parser.add_argument("--large-rides", type=int, default=LARGE_RIDES)
    parser.add_argument("--output", type=Path, default=EVENTS)
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    write(args.output / "small.json", small_event())
    write(args.output / "poison.json", poison_event())
    write(args.output / "large.json", large_event(args.large_rides))


if __name__ == "__main__":
    main()
