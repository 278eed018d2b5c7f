"""The pyfunc loader's feature rule is the core's: it is shipped inside each model and cannot import it, so
these tests hold the two equal on real rides, and hold what it refuses to what the scorer rejects."""

import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from ride_scorer.core.features import features_of
from ride_scorer.core.rides import Rejection, read_document
from tests.shared.paths import DATA
from training.ride_duration_pyfunc import LISTED_ROWS, RIDE_COLUMNS, RideDurationPyfunc, ride_features_of


@pytest.fixture(scope="module")
def real_rides() -> pd.DataFrame:
    """A raw TLC month as users hold it: int32 location ids, float distances."""
    return pq.read_table(DATA / "green_tripdata_2023-02.parquet", columns=list(RIDE_COLUMNS)).to_pandas().head(5_000)


def test_features_equal_the_cores_on_real_rides(real_rides):
    documents = [{"ride": ride, "ride_id": index} for index, ride in enumerate(real_rides.to_dict("records"))]
    events = [read_document(document) for document in documents]
    assert not [event for event in events if isinstance(event, Rejection)]

    assert ride_features_of(real_rides) == features_of([event.ride for event in events])


def test_digit_string_ids_are_the_integers_they_spell_as_the_core_reads_them():
    frame = pd.DataFrame(
        {"PULocationID": ["130", "007"], "DOLocationID": [205, "0000000007"], "trip_distance": [3.66, 0]}
    )
    expected = [read_document({"ride": ride, "ride_id": 1}).ride for ride in frame.to_dict("records")]

    assert ride_features_of(frame) == features_of(expected)
    assert ride_features_of(frame)[1] == {"PU_DO": "7_7", "trip_distance": 0.0}


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("trip_distance", -1.0, "row 1: trip_distance must be a finite number >= 0, got -1.0"),
        ("trip_distance", math.nan, "row 1: trip_distance must be a finite number >= 0, got nan"),
        ("trip_distance", math.inf, "row 1: trip_distance must be a finite number >= 0, got inf"),
        ("PULocationID", -3, "row 1: PULocationID must be a non-negative integer, got -3"),
        ("DOLocationID", 4.5, "row 1: DOLocationID must be a non-negative integer, got 4.5"),
        ("DOLocationID", "12a", "row 1: DOLocationID must be a non-negative integer, got '12a'"),
        ("DOLocationID", 2**31, "row 1: DOLocationID must be a non-negative integer, got 2147483648"),
        ("PULocationID", "00000000130", "row 1: PULocationID must be a non-negative integer, got '00000000130'"),
    ],
)
def test_a_ride_the_scorer_rejects_is_refused_naming_its_row_and_column(column, value, message):
    frame = pd.DataFrame({"PULocationID": [130, 130], "DOLocationID": [205, 205], "trip_distance": [3.66, 3.66]})
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = value
    assert isinstance(read_document({"ride": frame.to_dict("records")[1], "ride_id": 1}), Rejection)

    with pytest.raises(ValueError) as refused:
        ride_features_of(frame)
    assert str(refused.value) == f"1 of 2 rows cannot be scored, so none was: {message}"


def test_a_frame_with_many_bad_rows_names_the_first_ones_and_counts_the_rest():
    frame = pd.DataFrame({"PULocationID": [130] * 30, "DOLocationID": [205] * 30, "trip_distance": [-1.0] * 30})
    frame.loc[0, "trip_distance"] = 2.0

    with pytest.raises(ValueError) as refused:
        ride_features_of(frame)
    message = str(refused.value)
    assert message.startswith("29 of 30 rows cannot be scored, so none was: row 1: trip_distance must be")
    assert message.count("row ") == LISTED_ROWS
    assert message.endswith(f"; and {29 - LISTED_ROWS} more")


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"missing ride columns \['trip_distance'\]"):
        ride_features_of(pd.DataFrame({"PULocationID": [1], "DOLocationID": [2]}))


def test_predict_is_one_pipeline_call_on_the_features_and_empty_input_gives_no_rows():
    class Recording:
        def __init__(self):
            self.calls = []

        def predict(self, features):
            self.calls.append(features)
            return [float(len(ride["PU_DO"])) for ride in features]

    pipeline = Recording()
    model = RideDurationPyfunc(pipeline)
    frame = pd.DataFrame({"PULocationID": [1, 130], "DOLocationID": [2, 205], "trip_distance": [0.5, 3.66]})

    predictions = model.predict(frame)

    assert predictions.dtype == np.float64
    assert predictions.tolist() == [3.0, 7.0]
    assert pipeline.calls == [[{"PU_DO": "1_2", "trip_distance": 0.5}, {"PU_DO": "130_205", "trip_distance": 3.66}]]
    assert model.predict(frame.head(0)).tolist() == []
