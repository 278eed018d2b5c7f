"""The bytes consumers read: the format is pinned, strict JSON, and a re-delivered record encodes the same."""

import json

from ride_scorer.core.prediction_records import encode_predictions, prediction_record

MODEL = "ride_duration_prediction_model"


def encode_record(record: dict) -> bytes:
    (encoded,) = encode_predictions(
        record["model"],
        record["version"],
        [(record["prediction"]["ride_id"], record["prediction"]["ride_duration"], record["source_sequence_number"])],
    )
    return encoded


def test_the_published_bytes_are_pinned():
    (encoded,) = encode_predictions(MODEL, "run-1", [(256, 18.168945726405326, "49600000000000000000000000001")])
    assert encoded == (
        b'{"model":"ride_duration_prediction_model","version":"run-1",'
        b'"prediction":{"ride_duration":18.168945726405326,"ride_id":256},'
        b'"source_sequence_number":"49600000000000000000000000001"}'
    )


def test_the_http_shape_has_no_sequence_number_and_text_ids_stay_text():
    assert prediction_record(MODEL, "run-1", "r-7", 3.5) == {
        "model": MODEL,
        "version": "run-1",
        "prediction": {"ride_duration": 3.5, "ride_id": "r-7"},
    }


def test_the_json_values_are_those_of_the_standard_library_and_floats_read_back_exactly():
    for duration in (0.0, 1e-7, 12.345678901234567, 1e16, 123456789012.5, 2.0**-1074):
        record = prediction_record(MODEL, "v", 2**63 - 1, duration, "1")
        assert json.loads(encode_record(record)) == json.loads(json.dumps(record)) == record


def test_a_re_delivered_record_encodes_to_the_same_bytes():
    first = encode_record(prediction_record(MODEL, "v", 1, 7.25, "42"))
    again = encode_record(prediction_record(MODEL, "v", 1, 7.25, "42"))
    assert first == again
