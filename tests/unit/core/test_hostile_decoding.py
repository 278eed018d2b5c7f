"""Hostile input against the decoder: whatever arrives, the answer is a valid ride or a rejection with a
reason, never an exception, and an accepted ride is one the rest of the pipeline can publish."""

from __future__ import annotations

import base64
import json
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ride_scorer.core.rides import (
    MAX_LOCATION_ID,
    MAX_RIDE_ID_CHARS,
    Rejection,
    RejectionCode,
    RideEvent,
    read_kinesis_data,
)
from tests.shared.paths import HOSTILE_CORPUS

LIMIT = 16 * 1024
CORPUS = [json.loads(line) for line in HOSTILE_CORPUS.open()]
HOSTILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
location_ids = (
    st.integers(min_value=-(2**40), max_value=2**40)
    | st.integers(min_value=-(2**40), max_value=2**40).map(str)
    | st.text(max_size=12)
    | json_scalars
)
distances = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**70), 2**70) | json_scalars
ride_ids = st.integers(min_value=-(2**70), max_value=2**70) | st.text(max_size=140) | json_scalars


def outcome(data: str) -> RideEvent | RejectionCode:
    """The only two allowed outcomes; anything raised fails the property."""
    result = read_kinesis_data(data, LIMIT)
    if isinstance(result, Rejection):
        assert result.reason.strip(), "a rejection must say why"
        return result.code
    return result


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def assert_publishable(event: RideEvent) -> None:
    """What the sink and the model rely on for every accepted ride."""
    for location in (event.ride.PULocationID, event.ride.DOLocationID):
        assert 0 <= int(location) <= MAX_LOCATION_ID
    assert math.isfinite(event.ride.trip_distance) and event.ride.trip_distance >= 0
    key = str(event.ride_id)
    assert 1 <= len(key) <= 256  # a Kinesis partition key
    if isinstance(event.ride_id, str):
        assert len(event.ride_id) <= MAX_RIDE_ID_CHARS
    features = event.ride.features()
    assert features["PU_DO"] == f"{event.ride.PULocationID}_{event.ride.DOLocationID}"


@HOSTILE
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_are_a_ride_or_a_reason(raw):
    result = outcome(b64(raw))
    if isinstance(result, RideEvent):
        assert_publishable(result)


@HOSTILE
@given(st.text(max_size=200))
def test_arbitrary_text_in_the_data_field_is_a_ride_or_a_reason(text):
    result = outcome(text)
    if isinstance(result, RideEvent):
        assert_publishable(result)


@HOSTILE
@given(json_values)
def test_arbitrary_json_documents_are_a_ride_or_a_reason(document):
    result = outcome(b64(json.dumps(document).encode()))
    assert not isinstance(result, RideEvent) or assert_publishable(result) is None


@HOSTILE
@given(pickup=location_ids, dropoff=location_ids, distance=distances, ride_id=ride_ids, extra=json_values)
@example(pickup="9999999999", dropoff=1, distance=1.0, ride_id=1, extra=None)
@example(pickup=1, dropoff=1, distance=1.0, ride_id=2**63, extra=None)
def test_ride_shaped_documents_with_wrong_values_are_a_ride_or_a_reason(pickup, dropoff, distance, ride_id, extra):
    document = {
        "ride": {"PULocationID": pickup, "DOLocationID": dropoff, "trip_distance": distance, "extra": extra},
        "ride_id": ride_id,
    }
    for ensure_ascii in (True, False):
        result = outcome(b64(json.dumps(document, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")))
        if isinstance(result, RideEvent):
            assert_publishable(result)


@settings(max_examples=10, deadline=None)
@given(depth=st.integers(min_value=100, max_value=3000), opener=st.sampled_from(["[", '{"a":']))
def test_deep_nesting_is_rejected_as_json(depth, opener):
    assert outcome(b64(opener.encode() * depth)) is RejectionCode.INVALID_JSON


def test_one_megabyte_record_is_rejected_by_size_before_parsing():
    padding = "x" * (1024 * 1024 - 100)
    raw = json.dumps({"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": 1, "p": padding})
    assert outcome(b64(raw.encode())) is RejectionCode.PAYLOAD_TOO_LARGE


@pytest.mark.parametrize("case", [c for c in CORPUS if c["expect"] != "non_finite_prediction"], ids=lambda c: c["name"])
def test_regression_corpus_decodes_as_recorded(case):
    result = outcome(case["kinesis_data"])
    if case["expect"] == "scored":
        assert isinstance(result, RideEvent)
        assert_publishable(result)
    else:
        assert result == case["expect"]
