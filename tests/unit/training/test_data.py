"""Reading TLC months: both schemas, the 1-60 minute filter, and errors that name the file and column.

Every input is a handful of real rows taken from the bundled months, schema and all (string, int64 and
int32 location ids; real dirt such as a 2009 pickup date in a January 2023 file). Reading an `s3://` URI
is tested on moto in integration-tests/training/test_trip_data_s3.py.
"""

import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.shared.paths import DATA
from tests.shared.trips import real_rows, records
from training.data import TripDataError, read_trips, trip_features

# Rows of green_tripdata_2023-01.parquet, chosen for what they show.
KEPT_11_MINUTES, UNDER_A_MINUTE, NEARLY_A_DAY, JUST_OVER_AN_HOUR = 0, 35, 49, 57
PICKUP_IN_2009, EXACTLY_1_MINUTE, EXACTLY_60_MINUTES, ABSURD_DISTANCE = 17874, 733, 64693, 33373


def test_raw_2023_schema_computes_minutes_and_keeps_1_to_60(tmp_path):
    path = real_rows(
        "2023-01",
        [
            KEPT_11_MINUTES,
            UNDER_A_MINUTE,
            NEARLY_A_DAY,
            JUST_OVER_AN_HOUR,
            PICKUP_IN_2009,
            EXACTLY_1_MINUTE,
            EXACTLY_60_MINUTES,
            ABSURD_DISTANCE,
        ],
        tmp_path,
    )
    assert pq.read_schema(path).field("PULocationID").type == pa.int64()
    assert records(path) == [
        {"PULocationID": "166", "DOLocationID": "143", "trip_distance": 2.58, "duration": pytest.approx(11 + 1 / 60)},
        {"PULocationID": "41", "DOLocationID": "41", "trip_distance": 0.11, "duration": 1.0},
        {"PULocationID": "97", "DOLocationID": "132", "trip_distance": 13.51, "duration": 60.0},
        # Only the duration is filtered: the course's known RMSE keeps odd distances, so does this reader.
        {"PULocationID": "82", "DOLocationID": "236", "trip_distance": 1571.97, "duration": pytest.approx(24 + 7 / 60)},
    ]


def test_int32_ids_of_2023_02_become_the_same_text(tmp_path):
    path = real_rows("2023-02", [0, 1], tmp_path)
    assert pq.read_schema(path).field("PULocationID").type == pa.int32()
    assert records(path) == [
        {"PULocationID": "74", "DOLocationID": "265", "trip_distance": 10.8, "duration": pytest.approx(19 + 35 / 60)},
        {"PULocationID": "216", "DOLocationID": "196", "trip_distance": 4.76, "duration": pytest.approx(17.55)},
    ]


def test_prefiltered_2021_schema_uses_its_duration_column(tmp_path):
    path = real_rows("2021-01", [0, 1], tmp_path, drop=("lpep_pickup_datetime", "lpep_dropoff_datetime"))
    assert records(path) == [
        {"PULocationID": "43", "DOLocationID": "151", "trip_distance": 1.01, "duration": pytest.approx(3 + 56 / 60)},
        {"PULocationID": "166", "DOLocationID": "239", "trip_distance": 2.53, "duration": 8.75},
    ]


def test_features_are_the_scorers_features(tmp_path):
    trips = read_trips(str(real_rows("2023-01", [KEPT_11_MINUTES, EXACTLY_1_MINUTE], tmp_path)))
    assert trip_features(trips) == [
        {"PU_DO": "166_143", "trip_distance": 2.58},
        {"PU_DO": "41_41", "trip_distance": 0.11},
    ]


def test_ids_stored_as_floats_with_gaps_are_not_written_130_0(tmp_path):
    """A month with a missing id is read by pandas as float64: 130.0 must still become "130"."""
    table = pq.read_table(DATA / "green_tripdata_2023-01.parquet").take([KEPT_11_MINUTES, EXACTLY_1_MINUTE])
    ids = pa.array([166.0, None], type=pa.float64())
    table = table.set_column(table.schema.get_field_index("PULocationID"), "PULocationID", ids)
    path = tmp_path / "gaps.parquet"
    pq.write_table(table, path)
    assert records(path) == [
        {"PULocationID": "166", "DOLocationID": "143", "trip_distance": 2.58, "duration": pytest.approx(11 + 1 / 60)}
    ]


@pytest.mark.parametrize(
    ("month", "dropped"),
    [
        ("2023-01", "trip_distance"),
        ("2023-01", "lpep_dropoff_datetime"),
        ("2023-02", "DOLocationID"),
        ("2021-01", "PULocationID"),
    ],
)
def test_missing_column_names_the_file_and_the_column(tmp_path, month, dropped):
    path = real_rows(month, [0, 1], tmp_path, drop=(dropped,))
    with pytest.raises(TripDataError) as raised:
        read_trips(str(path))
    assert str(path) in str(raised.value)
    assert f"'{dropped}'" in str(raised.value)


def test_a_file_that_is_not_parquet_is_named(tmp_path):
    path = tmp_path / "notes.parquet"
    path.write_text("not a parquet file")
    with pytest.raises(TripDataError, match=re.escape(f"{path}: cannot read it as parquet")):
        read_trips(str(path))
