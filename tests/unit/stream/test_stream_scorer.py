import base64
import json

import pytest

from ride_scorer.core.model import load_model
from ride_scorer.stream.shadow import Shadow
from tests.shared.fakes.aws import FakeKinesis, FakeSqs
from tests.shared.fakes.models import RaisingRegressor, fake_model
from tests.shared.stream_scorer import ARN, batch, scorer, stream_record
from tools.event_factory import ride_event_bytes


@pytest.fixture(scope="module")
def model(trained_model_dir):
    return load_model(trained_model_dir)


def test_valid_rides_become_course_shaped_predictions(model):
    service, kinesis, sqs = scorer(model)
    result = service.score(batch([stream_record(i) for i in range(3)]))
    assert result.failed_sequence_numbers == [] and sqs.sent == []
    expected = model.predict([{"PU_DO": f"{130 + i}_205", "trip_distance": 1.0 + i / 10} for i in range(3)])
    assert [json.loads(data) for data, _ in kinesis.written] == [
        {
            "model": "ride_duration_prediction_model",
            "version": model.version,
            "prediction": {"ride_duration": expected[i], "ride_id": i},
            "source_sequence_number": f"{49600000000000000000 + i}",
        }
        for i in range(3)
    ]
    assert [key for _, key in kinesis.written] == ["0", "1", "2"]


def test_one_predict_call_for_the_whole_batch(model):
    calls = []

    class CountingRegressor:
        def predict(self, features):
            calls.append(len(features))
            return model.regressor.predict(features)

    counting = type(model)(CountingRegressor(), model.metadata, 0.0)
    service, kinesis, _ = scorer(counting)
    service.score(batch([stream_record(i) for i in range(250)]))
    assert calls == [250] and len(kinesis.written) == 250


def test_bad_records_go_to_the_dead_letter_queue_with_their_origin(model):
    service, kinesis, sqs = scorer(model)
    records = [stream_record(0), stream_record(1, b"not json"), stream_record(2)]
    result = service.score(batch(records))
    assert (result.scored, result.invalid, result.dead_lettered) == (2, 1, 1)
    assert result.failed_sequence_numbers == []
    assert len(kinesis.written) == 2
    (letter,) = [json.loads(body) for body in sqs.sent]
    assert letter["reason_code"] == "invalid_json"
    assert base64.b64decode(letter["data"]) == b"not json"
    assert letter["source"] == {
        "event_source_arn": ARN,
        "shard_id": "shardId-000000000001",
        "sequence_number": "49600000000000000001",
        "partition_key": "1",
        "approximate_arrival_timestamp": 1700000000.5,
    }


def test_unwritten_prediction_fails_from_that_record_on_and_holds_back_later_letters(model):
    doomed = ride_event_bytes(3, 133, 205, 1.3)
    kinesis = FakeKinesis(fail=lambda call, data: b'"ride_id":3}' in data)
    service, kinesis, sqs = scorer(model, kinesis=kinesis)
    records = [stream_record(0), stream_record(1, b"bad"), stream_record(2), stream_record(3, doomed)]
    records += [stream_record(4, b"bad too"), stream_record(5)]
    result = service.score(batch(records))
    assert result.failed_sequence_numbers == [r["kinesis"]["sequenceNumber"] for r in records[3:]]
    assert [json.loads(body)["source"]["partition_key"] for body in sqs.sent] == ["1"]  # record 4 waits


def test_dead_letter_queue_failure_reports_those_records_instead(model):
    sqs = FakeSqs(fail=lambda call, body: True)
    service, kinesis, sqs = scorer(model, sqs=sqs)
    records = [stream_record(0), stream_record(1), stream_record(2, b"[]"), stream_record(3)]
    result = service.score(batch(records))
    assert result.failed_sequence_numbers == [r["kinesis"]["sequenceNumber"] for r in records[2:]]
    assert result.dead_lettered == 0 and len(kinesis.written) == 3


def test_oversized_raw_data_is_kept_as_prefix_and_digest(model):
    service, _, sqs = scorer(model)
    huge = b"x" * (900 * 1024)
    service.score(batch([stream_record(0, huge)]))
    (letter,) = [json.loads(body) for body in sqs.sent]
    assert letter["reason_code"] == "payload_too_large"
    assert letter["data_truncated"] is True
    assert letter["data_length"] == len(base64.b64encode(huge))
    assert len(sqs.sent[0].encode()) < 256 * 1024


def test_empty_batch_is_a_no_op(model):
    service, kinesis, sqs = scorer(model)
    result = service.score(batch([]))
    assert (result.records, result.failed_sequence_numbers, kinesis.calls, sqs.calls) == (0, [], [], 0)


@pytest.mark.parametrize("error", [MemoryError, RuntimeError, KeyError])
def test_a_challenger_that_raises_changes_nothing_written_and_is_reported(model, error):
    """Not a ride's error (those are rejections): the challenger itself is broken. The batch is the
    champion's as if there were no challenger, and the result says the challenger failed."""
    records = [stream_record(i) for i in range(4)] + [stream_record(4, b"{not json")]
    alone, alone_kinesis, alone_sqs = scorer(model)
    expected = alone.score(batch(records))
    shadowed, kinesis, sqs = scorer(model)
    shadowed.shadow = Shadow(fake_model(RaisingRegressor(error), version="broken-challenger"))

    result = shadowed.score(batch(records))

    assert (kinesis.written, sqs.sent) == (alone_kinesis.written, alone_sqs.sent)
    assert result.failed_sequence_numbers == expected.failed_sequence_numbers == []
    assert result.shadow is not None and result.shadow.failed and result.shadow.comparison is None
    assert result.shadow.challenger_version == "broken-challenger"
