"""The stream scorer's queue URL: only a URL SQS could have handed out gets past the first invocation.

A wrong DEAD_LETTER_QUEUE_URL accepted here would fail only when the first bad record is dead-lettered, so
the handler refuses it up front, naming the variable, before any model is loaded.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lambda_function import app
from ride_scorer.core.settings import ConfigError
from ride_scorer.stream.settings import ScorerSettings
from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record, ride_event_bytes
from tools.local.context import LocalLambdaContext

VALID = {
    "MODEL_LOCATION": "s3://models/ride-duration/abc123",
    "MODEL_SHA256": "0123456789abcdef" * 4,
    "PREDICTIONS_STREAM_NAME": "ride-predictions",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/ride-dlq",
}
EXPECTED = "https://sqs.<region>.amazonaws.com/<12-digit account id>/<queue name>"


@pytest.mark.parametrize(
    "url",
    [
        "https://sqs.us-east-1.amazonaws.com/123456789012/ride-dlq",
        "https://sqs.eu-west-1.amazonaws.com/123456789012/rides_dead-letters.fifo",
        "https://queue.amazonaws.com/123456789012/ride-dlq",  # the legacy endpoint
        "http://127.0.0.1:5000/123456789012/rs-0a1b2c3d4e-dead-letters",  # moto's server
        "http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/ride-scorer-dead-letters",
        "http://[::1]:4566/000000000000/ride-dlq",
        "http://localhost.localstack.cloud:4566/queue/us-east-1/000000000000/ride-dlq",  # LocalStack, path style
        "https://sqs.us-east-1.amazonaws.com/123456789012/" + "q" * 80,
    ],
)
def test_queue_urls_sqs_hands_out_are_accepted(url):
    assert ScorerSettings.from_env({**VALID, "DEAD_LETTER_QUEUE_URL": url}).dead_letter_queue_url == url


@pytest.mark.parametrize(
    "url",
    [
        "https://",
        "http://",
        "ride-dlq",
        "sqs.us-east-1.amazonaws.com/123456789012/ride-dlq",  # no scheme
        "ftp://sqs.us-east-1.amazonaws.com/123456789012/ride-dlq",
        "https:///123456789012/ride-dlq",  # no host
        "https://sqs host/123456789012/ride-dlq",
        "https://sqs.us-east-1.amazonaws.com",  # no path
        "https://sqs.us-east-1.amazonaws.com/",
        "https://sqs.us-east-1.amazonaws.com/ride-dlq",  # no account id
        "https://sqs.us-east-1.amazonaws.com/123456789012/",  # no queue name
        "https://sqs.us-east-1.amazonaws.com/12345/ride-dlq",  # an account id has 12 digits
        "https://sqs.us-east-1.amazonaws.com/123456789012/ride-dlq/",
        "https://sqs.us-east-1.amazonaws.com/123456789012/ride.dlq",
        "https://sqs.us-east-1.amazonaws.com/123456789012/" + "q" * 81,
        "https://sqs.us-east-1.amazonaws.com:https/123456789012/ride-dlq",
        "https://sqs.us-east-1.amazonaws.com:99999/123456789012/ride-dlq",
        "https://user:secret@sqs.us-east-1.amazonaws.com/123456789012/ride-dlq",
        "https://sqs.us-east-1.amazonaws.com/123456789012/ride-dlq?Action=SendMessage",
    ],
)
def test_anything_else_is_refused_in_one_line_naming_the_variable(url):
    with pytest.raises(ConfigError) as refused:
        ScorerSettings.from_env({**VALID, "DEAD_LETTER_QUEUE_URL": url})
    assert str(refused.value) == f"DEAD_LETTER_QUEUE_URL={url!r} must be an SQS queue URL: {EXPECTED}"


@pytest.fixture
def new_container() -> Iterator[None]:
    app.reset()
    yield
    app.reset()


def test_the_handler_fails_its_first_invocation_with_that_line(new_container, monkeypatch):
    """What Lambda reports for the invocation (errorType ConfigError, errorMessage the line); nothing else ran."""
    for name, value in {**VALID, "DEAD_LETTER_QUEUE_URL": "https://"}.items():
        monkeypatch.setenv(name, value)
    event = kinesis_event(
        [kinesis_record(KinesisRecordSpec(ride_event_bytes(1, 130, 205, 1.0), "1", "1", 1_700_000_000.5))]
    )

    with pytest.raises(ConfigError) as refused:
        app.lambda_handler(event, LocalLambdaContext("ride-scorer", "us-east-1", "123456789012"))

    assert str(refused.value) == f"DEAD_LETTER_QUEUE_URL='https://' must be an SQS queue URL: {EXPECTED}"


PIN = "fedcba9876543210" * 4


@pytest.mark.parametrize(
    ("challenger", "error"),
    [
        ({"CHALLENGER_MODEL_LOCATION": "s3://models/challengers/def456"}, "CHALLENGER_MODEL_SHA256 is not set"),
        ({"CHALLENGER_MODEL_SHA256": PIN}, "CHALLENGER_MODEL_LOCATION is not set, but CHALLENGER_MODEL_SHA256 is"),
        (
            {"CHALLENGER_MODEL_LOCATION": "s3://models", "CHALLENGER_MODEL_SHA256": PIN},
            "CHALLENGER_MODEL_LOCATION='s3://models' must be s3://bucket/prefix",
        ),
        (
            {"CHALLENGER_MODEL_LOCATION": "s3://models/c/1", "CHALLENGER_MODEL_SHA256": "abc"},
            "CHALLENGER_MODEL_SHA256='abc' must be 64 hexadecimal characters",
        ),
    ],
)
def test_a_challenger_is_pinned_like_the_champion_or_refused_naming_the_variable(challenger, error):
    with pytest.raises(ConfigError, match=error.replace("(", r"\(")):
        ScorerSettings.from_env({**VALID, **challenger})


def test_a_challenger_is_optional_and_read_with_its_pin():
    assert ScorerSettings.from_env(VALID).challenger is None
    settings = ScorerSettings.from_env(
        {**VALID, "CHALLENGER_MODEL_LOCATION": "s3://models/c/1", "CHALLENGER_MODEL_SHA256": PIN.upper()}
    )
    assert (settings.challenger.model_location, settings.challenger.model_sha256) == ("s3://models/c/1", PIN)
