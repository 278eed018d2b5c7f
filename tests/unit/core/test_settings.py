import pytest

from ride_scorer.core.settings import DEFAULT_MODEL_NAME, ConfigError, ModelSettings
from ride_scorer.stream.settings import ScorerSettings

PIN = "0123456789abcdef" * 4
VALID = {
    "MODEL_LOCATION": "s3://models/ride-duration/abc123",
    "MODEL_SHA256": PIN,
    "PREDICTIONS_STREAM_NAME": "ride-predictions",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/ride-dlq",
}


def test_valid_environment_gives_settings_with_defaults():
    settings = ScorerSettings.from_env(VALID)
    assert settings.model_location == "s3://models/ride-duration/abc123"
    assert settings.predictions_stream_name == "ride-predictions"
    assert settings.model_name == DEFAULT_MODEL_NAME == "ride_duration_prediction_model"
    assert settings.model_sha256 == PIN
    assert settings.max_event_bytes == 16 * 1024


def test_a_missing_pin_is_refused_naming_it_and_the_opt_out():
    """The template's scorer and every other mode: no MODEL_SHA256, no model."""
    environment = {key: value for key, value in VALID.items() if key != "MODEL_SHA256"}
    for read in (ScorerSettings.from_env, ModelSettings.from_env):
        with pytest.raises(ConfigError, match=r"^MODEL_SHA256 is not set.*ALLOW_UNPINNED_MODEL=true"):
            read(environment)
    with pytest.raises(ConfigError, match=r"^MODEL_SHA256 is not set"):
        ModelSettings.from_env({**environment, "MODEL_SHA256": "  "})


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes"])
def test_the_explicit_opt_out_allows_an_unpinned_model(value):
    environment = {"MODEL_LOCATION": "./models/x", "ALLOW_UNPINNED_MODEL": value}
    settings = ModelSettings.from_env(environment)
    assert (settings.model_sha256, settings.allow_unpinned_model) == (None, True)


@pytest.mark.parametrize("value", ["false", "0", "no", ""])
def test_an_opt_out_set_to_false_is_no_opt_out(value):
    with pytest.raises(ConfigError, match=r"^MODEL_SHA256 is not set"):
        ModelSettings.from_env({"MODEL_LOCATION": "./models/x", "ALLOW_UNPINNED_MODEL": value})


def test_a_malformed_opt_out_is_refused_naming_it():
    with pytest.raises(ConfigError, match=r"^ALLOW_UNPINNED_MODEL='maybe' must be true or false"):
        ModelSettings.from_env({"MODEL_LOCATION": "./models/x", "ALLOW_UNPINNED_MODEL": "maybe"})


def test_a_pin_is_checked_even_with_the_opt_out():
    settings = ModelSettings.from_env(
        {"MODEL_LOCATION": "./models/x", "MODEL_SHA256": PIN, "ALLOW_UNPINNED_MODEL": "true"}
    )
    assert settings.model_sha256 == PIN


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
