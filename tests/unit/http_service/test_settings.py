"""The HTTP service's settings: defaults, and one line naming the variable for each wrong value.

How the service reports these when it is started is in integration-tests/http_service/test_launcher.py.
"""

from __future__ import annotations

import pytest

from ride_scorer.core.settings import ConfigError
from ride_scorer.http_service.settings import ServerSettings, ServiceSettings

MODEL = {"MODEL_LOCATION": "./models/x", "MODEL_SHA256": "0123456789abcdef" * 4}


def test_server_defaults():
    assert ServerSettings.from_env({}) == ServerSettings(
        bind="127.0.0.1:8080", workers=2, threads=8, timeout=30, client_timeout=10
    )


def test_blank_values_are_the_defaults():
    blank = {"BIND": " ", "WEB_CONCURRENCY": "", "GUNICORN_THREADS": "", "GUNICORN_CLIENT_TIMEOUT": " "}
    assert ServerSettings.from_env(blank) == ServerSettings()


def test_server_settings_from_the_environment():
    environment = {
        "BIND": "0.0.0.0:9000",
        "WEB_CONCURRENCY": "4",
        "GUNICORN_THREADS": "16",
        "GUNICORN_TIMEOUT": "60",
        "GUNICORN_CLIENT_TIMEOUT": "3",
    }
    assert ServerSettings.from_env(environment) == ServerSettings("0.0.0.0:9000", 4, 16, 60, 3)


@pytest.mark.parametrize("name", ["WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "GUNICORN_CLIENT_TIMEOUT"])
@pytest.mark.parametrize("value", ["abc", "0", "-5", "2.5"])
def test_a_count_or_a_timeout_that_is_not_a_positive_integer_is_named(name, value):
    with pytest.raises(ConfigError) as refused:
        ServerSettings.from_env({name: value})
    assert str(refused.value) == f"{name}={value!r} must be a positive integer"


@pytest.mark.parametrize("value", ["-5", "0", "1MB"])
def test_max_request_bytes_that_is_not_a_positive_integer_is_named(value):
    with pytest.raises(ConfigError) as refused:
        ServiceSettings.from_env({**MODEL, "MAX_REQUEST_BYTES": value})
    assert str(refused.value) == f"MAX_REQUEST_BYTES={value!r} must be a positive integer"
