"""Hostile input through the real handler on moto's server: a record's content never makes the invocation
fail, every bad record reaches the dead-letter queue with its reason, every good one is scored, and what
is published is strict JSON."""

from __future__ import annotations

import base64
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.provision import Resources, provision
from lambda_function import app
from ride_scorer.core.integrity import directory_digest
from ride_scorer.core.rides import Rejection, read_kinesis_data
from tests.shared.emulators import point_at
from tests.shared.paths import DATA, HOSTILE_CORPUS
from tests.shared.trained_models import read_training_slice, save_mlflow_model
from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record
from tools.local.context import LocalLambdaContext
from tools.readers import StreamTail, receive_messages
from training.pipeline import build_pipeline

CORPUS = [json.loads(line) for line in HOSTILE_CORPUS.open()]
LIMIT = 16 * 1024
_numbers = itertools.count(49_600_000_000_000_000_000)


@dataclass
class Stack:
    resources: Resources
    tail: StreamTail
    sqs: Any


@pytest.fixture(scope="module")
def steep_model_dir(tmp_path_factory):
    """Linear model on the first 2,000 real rides: its distance coefficient (about 2.4 min/mile) is above 1,
    so a finite but absurd distance overflows to an infinite duration, as it can in production.

    Not the session's `trained_model_dir`: that linear model (10,000 rides) learns a distance coefficient of
    about 1e-6 min/mile, so no finite distance overflows and the corpus case
    finite_distance_with_infinite_prediction (expected non_finite_prediction) could not happen."""
    features, target = read_training_slice(DATA / "green_tripdata_2021-01.parquet", 2_000)
    pipeline = build_pipeline("linear").fit(features, target)
    return save_mlflow_model(pipeline, tmp_path_factory.mktemp("steep") / "model", "steep-model")


@pytest.fixture(scope="module")
def stack(moto_endpoint, steep_model_dir) -> Iterator[Stack]:
    with pytest.MonkeyPatch.context() as patch:
        point_at(patch, moto_endpoint)
        resources = provision("hostile", shard_count=1)
        patch.setenv("MODEL_LOCATION", str(steep_model_dir))
        patch.setenv("MODEL_SHA256", directory_digest(steep_model_dir))
        patch.setenv("PREDICTIONS_STREAM_NAME", resources.predictions_stream)
        patch.setenv("DEAD_LETTER_QUEUE_URL", resources.dead_letter_queue_url)
        app.reset()
        tail = StreamTail(moto_endpoint.client("kinesis"), resources.predictions_stream)
        tail.poll()  # opens the LATEST iterators before anything is written
        yield Stack(resources, tail, moto_endpoint.client("sqs"))
        app.reset()


def strict_json(data: bytes | str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(data, parse_constant=refuse)


def invoke(stack: Stack, kinesis_data: list[str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[str]]:
    """Run one batch; returns (response, predictions by source number, letters by source number, numbers)."""
    numbers = [str(next(_numbers)) for _ in kinesis_data]
    records = []
    for number, data in zip(numbers, kinesis_data, strict=True):
        record = kinesis_record(KinesisRecordSpec(b"", f"pk-{number}", number, 1_700_000_000.0))
        record["kinesis"]["data"] = data  # exactly what arrived, even when it is not base64
        records.append(record)
    response = app.lambda_handler(
        kinesis_event(records), LocalLambdaContext("ride-scorer", "us-east-1", "123456789012")
    )

    predictions = {}
    for record in stack.tail.poll():
        document = strict_json(record.data)
        predictions[document["source_sequence_number"]] = document
    letters = {}
    for message in receive_messages(stack.sqs, stack.resources.dead_letter_queue_url, delete=True):
        letter = strict_json(message.body)
        letters[letter["source"]["sequence_number"]] = letter
    return response, predictions, letters, numbers


# A ride the decoder accepts can still be one the model cannot score.
MODEL_STAGE_CODES = {"input_out_of_range", "non_finite_prediction", "model_error"}


def expected_outcome(data: str) -> str:
    result = read_kinesis_data(data, LIMIT)
    return str(result.code) if isinstance(result, Rejection) else "scored"


def assert_accounted(stack: Stack, kinesis_data: list[str]) -> dict[str, str]:
    response, predictions, letters, numbers = invoke(stack, kinesis_data)
    assert response == {"batchItemFailures": []}
    assert set(predictions) | set(letters) == set(numbers)
    assert not set(predictions) & set(letters)
    outcomes = {}
    for number, data in zip(numbers, kinesis_data, strict=True):
        if number in predictions:
            assert math.isfinite(predictions[number]["prediction"]["ride_duration"])
            outcomes[number] = "scored"
        else:
            letter = letters[number]
            assert letter["reason"].strip() and letter["data_length"] == len(data)
            assert letter["data"] == data[: len(letter["data"])]
            outcomes[number] = letter["reason_code"]
    return outcomes


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


ride_documents = st.fixed_dictionaries(
    {
        "ride": st.fixed_dictionaries(
            {
                "PULocationID": st.integers(-5, 2**32) | st.text(max_size=11) | st.none(),
                "DOLocationID": st.integers(0, 300) | st.from_regex(r"\A[0-9]{1,10}\Z"),
                "trip_distance": st.floats(allow_nan=True, allow_infinity=True) | st.integers(-1, 2**64),
            }
        ),
        "ride_id": st.integers(-(2**64), 2**64) | st.text(min_size=0, max_size=130),
    }
)
kinesis_payloads = (
    st.binary(max_size=300).map(b64)
    | st.text(max_size=60)
    | ride_documents.map(lambda document: b64(json.dumps(document).encode()))
    | st.sampled_from([case["kinesis_data"] for case in CORPUS])
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(kinesis_payloads, min_size=1, max_size=8))
def test_no_record_content_fails_the_batch_and_each_bad_one_is_dead_lettered(stack, batch):
    outcomes = assert_accounted(stack, batch)
    for data, outcome in zip(batch, outcomes.values(), strict=True):
        decoded = expected_outcome(data)
        # The decoder's verdict holds, except that the model may refuse an accepted ride it cannot score.
        assert outcome == decoded or (decoded == "scored" and outcome in MODEL_STAGE_CODES)


def test_regression_corpus_through_the_handler(stack):
    outcomes = assert_accounted(stack, [case["kinesis_data"] for case in CORPUS])
    assert {case["name"]: outcome for case, outcome in zip(CORPUS, outcomes.values(), strict=True)} == {
        case["name"]: case["expect"] for case in CORPUS
    }


def test_one_megabyte_record_is_dead_lettered_with_a_digest_beside_a_good_ride(stack):
    huge = b64(b"{" + b" " * (1024 * 1024 - 2) + b"}")
    good = CORPUS[0]["kinesis_data"]
    response, predictions, letters, numbers = invoke(stack, [huge, good])
    assert response == {"batchItemFailures": []}
    assert list(predictions) == [numbers[1]]
    letter = letters[numbers[0]]
    assert (letter["reason_code"], letter["data_truncated"], letter["data_length"]) == (
        "payload_too_large",
        True,
        len(huge),
    )
