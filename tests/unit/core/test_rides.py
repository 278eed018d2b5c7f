import base64
import json

import pytest

from ride_scorer.core.features import features_from_columns, features_of, ride_features
from ride_scorer.core.rides import (
    Rejection,
    RejectionCode,
    RideEvent,
    read_document,
    read_json,
    read_kinesis_data,
)

LIMIT = 16 * 1024


def b64(document) -> str:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return base64.b64encode(raw).decode()


def event(**ride_changes):
    ride = {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66, **ride_changes}
    return {"ride": ride, "ride_id": 256}


def test_course_example_decodes_to_features():
    ride_event = accepted(b64(event()))
    assert ride_event.ride_id == 256
    assert ride_event.ride.features() == {"PU_DO": "130_205", "trip_distance": 3.66}


def test_string_ids_and_integer_distance_are_accepted():
    ride_event = accepted(b64({**event(PULocationID="130", trip_distance=4), "ride_id": "r-1"}))
    assert ride_event.ride_id == "r-1"
    assert ride_event.ride.features() == {"PU_DO": "130_205", "trip_distance": 4.0}


@pytest.mark.parametrize(("pickup", "dropoff"), [(130, 205), ("130", "205"), ("0130", 205), ("0000000130", "0205")])
def test_a_location_id_is_the_integer_however_it_is_spelled(pickup, dropoff):
    """Zone 130 spelled "0130" was the feature "0130_205", unseen by the model (21.26 min against 13.17)."""
    document = event(PULocationID=pickup, DOLocationID=dropoff)
    for ride_event in (accepted(b64(document)), read_document(document)):
        assert isinstance(ride_event, RideEvent)
        assert (ride_event.ride.PULocationID, ride_event.ride.DOLocationID) == (130, 205)
        assert features_of([ride_event.ride]) == [{"PU_DO": "130_205", "trip_distance": 3.66}]


def test_extra_fields_are_ignored():
    document = {**event(vendor=2), "published_at": "2026-11-24T10:00:00Z"}
    assert accepted(b64(document)).ride_id == 256


def rejection(data: str):
    result = read_kinesis_data(data, LIMIT)
    assert isinstance(result, Rejection), result
    return result


def accepted(data: str) -> RideEvent:
    result = read_kinesis_data(data, LIMIT)
    assert isinstance(result, RideEvent), result
    return result


def test_undecodable_base64():
    assert rejection("not base64!!").code is RejectionCode.INVALID_BASE64


@pytest.mark.parametrize("raw", [b"not json", b"\xff\xfe\x00", b"{", b"[" * 5000, b""])
def test_data_that_is_not_json(raw):
    assert rejection(b64(raw)).code is RejectionCode.INVALID_JSON


def test_oversized_payload_is_rejected_before_parsing():
    found = rejection(b64({**event(), "padding": "x" * LIMIT}))
    assert found.code is RejectionCode.PAYLOAD_TOO_LARGE
    assert f"the limit is {LIMIT}" in found.reason


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"ride_id": 1}, "ride"),
        ({"ride": event()["ride"]}, "ride_id"),
        (event(trip_distance="3.66"), "ride.trip_distance"),
        (event(trip_distance=-0.5), "ride.trip_distance"),
        (event(trip_distance=True), "ride.trip_distance"),
        (event(PULocationID=1.5), "ride.PULocationID"),
        (event(PULocationID=-1), "ride.PULocationID"),
        (event(DOLocationID=None), "ride.DOLocationID"),
        (event(DOLocationID="12a"), "ride.DOLocationID"),
        ({**event(), "ride_id": True}, "ride_id"),
        ({**event(), "ride_id": 2**64}, "ride_id"),
        ({**event(), "ride_id": ""}, "ride_id"),
        ({**event(), "ride_id": {"nested": 1}}, "ride_id"),
        ([event()], "(document)"),
        ({"ride": "130_205", "ride_id": 1}, "ride"),
    ],
)
def test_missing_or_mistyped_fields_name_the_field(document, field):
    found = rejection(b64(document))
    assert found.code is RejectionCode.INVALID_SCHEMA
    assert found.reason.startswith(f"{field}:") or f"; {field}:" in found.reason


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_non_finite_distance_is_rejected(literal):
    raw = b'{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": ' + literal + b'}, "ride_id": 1}'
    assert rejection(b64(raw)).code in {RejectionCode.INVALID_SCHEMA, RejectionCode.INVALID_JSON}


def test_parse_and_validate_apply_the_same_rules():
    document = event(trip_distance=-1)
    parsed = read_json(json.dumps(document), LIMIT)
    assert isinstance(parsed, Rejection)
    assert parsed == read_document(document)


def test_features_are_identical_for_int_and_text_ids():
    assert ride_features(130, 205, 3) == ride_features("130", "205", 3.0) == {"PU_DO": "130_205", "trip_distance": 3.0}
    assert features_from_columns(["1", "2"], [3, 4], [0.5, 1]) == [
        {"PU_DO": "1_3", "trip_distance": 0.5},
        {"PU_DO": "2_4", "trip_distance": 1.0},
    ]


def test_the_batch_features_are_ride_features_of_each_ride():
    rides = [
        accepted(b64(event())).ride,
        accepted(b64(event(PULocationID="7", DOLocationID="8", trip_distance=2))).ride,
    ]
    assert (
        features_of(rides)
        == [ride.features() for ride in rides]
        == [
            ride_features(130, 205, 3.66),
            ride_features("7", "8", 2.0),
        ]
    )
