"""The deployed scorer and its model pin, through the real handler on moto's server: a scorer deployed without
MODEL_SHA256 (or with the wrong one) fails its first invocation with an error naming it and unpickles nothing;
once the operator sets the right pin, the same container recovers."""

from __future__ import annotations

import pytest

from lambda_function import app
from ride_scorer.core.integrity import ModelIntegrityError
from ride_scorer.core.settings import ConfigError
from tests.shared.lambda_context import lambda_context
from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record, ride_event_bytes


def one_ride_event() -> dict:
    spec = KinesisRecordSpec(ride_event_bytes(1, 130, 205, 3.66), "1", "49600000000000000000001", 1_700_000_000.0)
    return kinesis_event([kinesis_record(spec)])


def test_a_scorer_deployed_without_a_pin_fails_its_first_invocation_naming_it(deploy_scorer, monkeypatch):
    deployment = deploy_scorer(pin_digest=False)
    with pytest.raises(ConfigError, match=r"^MODEL_SHA256 is not set"):
        app.lambda_handler(one_ride_event(), lambda_context())

    monkeypatch.setenv("MODEL_SHA256", deployment.model.sha256)  # the operator deploys the pin
    assert app.lambda_handler(one_ride_event(), lambda_context()) == {"batchItemFailures": []}


def test_a_scorer_pinned_to_another_model_refuses_the_one_in_the_bucket(deploy_scorer, monkeypatch):
    deployment = deploy_scorer()
    monkeypatch.setenv("MODEL_SHA256", "0" * 64)
    app.reset()
    with pytest.raises(ModelIntegrityError, match=f"digest is {deployment.model.sha256}, but MODEL_SHA256 is"):
        app.lambda_handler(one_ride_event(), lambda_context())


def test_the_local_opt_out_does_not_apply_to_the_deployed_scorer(deploy_scorer, monkeypatch):
    """ALLOW_UNPINNED_MODEL is for the HTTP service and batch job on a developer's machine: set on the
    Lambda by mistake, it must not turn the pin off."""
    deploy_scorer(pin_digest=False)
    monkeypatch.setenv("ALLOW_UNPINNED_MODEL", "true")
    with pytest.raises(ConfigError, match=r"^MODEL_SHA256 is not set: the stream scorer loads only a pinned model"):
        app.lambda_handler(one_ride_event(), lambda_context())
