import pytest

from ride_scorer.core.settings import DEFAULT_MODEL_NAME, ConfigError
from ride_scorer.stream.settings import ScorerSettings

VALID = {
    "MODEL_LOCATION": "s3://models/ride-duration/abc123",
    "PREDICTIONS_STREAM_NAME": "ride-predictions",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/ride-dlq",
}


def test_valid_environment_gives_settings_with_defaults():
    settings = ScorerSettings.from_env(VALID)
    assert settings.model_location == "s3://models/ride-duration/abc123"
    assert settings.predictions_stream_name == "ride-predictions"
    assert settings.model_name == DEFAULT_MODEL_NAME == "ride_duration_prediction_model"
    assert settings.model_sha256 is None
    assert settings.max_event_bytes == 16 * 1024


@pytest.mark.parametrize("name", sorted(VALID))
def test_missing_variable_is_named(name):
    env = {key: value for key, value in VALID.items() if key != name}
    with pytest.raises(ConfigError, match=name):
        ScorerSettings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MODEL_LOCATION", "s3://bucket-only"),
        ("MODEL_LOCATION", "gs://bucket/model"),
        ("PREDICTIONS_STREAM_NAME", "bad name with spaces"),
        ("DEAD_LETTER_QUEUE_URL", "ride-dlq"),
        ("MODEL_SHA256", "not-a-digest"),
        ("MAX_EVENT_BYTES", "0"),
        ("MAX_EVENT_BYTES", "lots"),
    ],
)
def test_malformed_variable_is_named(name, value):
    with pytest.raises(ConfigError, match=name):
        ScorerSettings.from_env({**VALID, name: value})


def test_local_model_path_and_optional_settings():
    digest = "A" * 64
    settings = ScorerSettings.from_env(
        {**VALID, "MODEL_LOCATION": "./models/x", "MODEL_NAME": "m2", "MODEL_SHA256": digest, "MAX_EVENT_BYTES": "100"}
    )
    assert (settings.model_location, settings.model_name) == ("./models/x", "m2")
    assert settings.model_sha256 == "a" * 64
    assert settings.max_event_bytes == 100
