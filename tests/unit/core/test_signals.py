"""The prediction histogram the stream publishes: every prediction in exactly the bucket `bucket_index`
names, however the counting is sped up; and buckets as the README describes them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ride_scorer.core.scoring import Prediction
from ride_scorer.core.signals import BUCKET_VALUES, batch_signals, bucket_index

minutes = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
edges = st.sampled_from([-1.0, -0.5, -0.0, 0.0, 0.999, 59.999, 60.0, 64.999, 65.0, 71.0, 119.999, 120.0, 1e9])


@given(st.lists(st.one_of(minutes, edges), max_size=200))
def test_each_prediction_is_counted_once_in_its_bucket(values):
    outcomes = [Prediction(number, value) for number, value in enumerate(values)]
    expected = [0] * len(BUCKET_VALUES)
    for value in values:
        expected[bucket_index(value)] += 1
    assert batch_signals(outcomes, outcomes, None).prediction_counts == tuple(expected)


def test_buckets_are_a_minute_wide_to_an_hour_then_five_minutes_to_two_hours():
    assert [bucket_index(value) for value in (-3.0, 0.5, 59.9, 60.0, 64.9, 65.0, 119.9, 500.0)] == [
        0,
        0,
        59,
        60,
        60,
        61,
        71,
        71,
    ]
    assert (BUCKET_VALUES[0], BUCKET_VALUES[59], BUCKET_VALUES[60], BUCKET_VALUES[-1]) == (0.5, 59.5, 62.5, 117.5)
    assert len(BUCKET_VALUES) <= 100  # EMF's limit of values per metric
