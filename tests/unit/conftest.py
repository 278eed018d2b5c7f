"""Fixtures for the unit tier: fake models only (no emulator, no network, no trained model)."""

from __future__ import annotations

import pytest

from ride_scorer.core.model import FLOAT32_MAX, RideDurationModel
from tests.shared.fakes.models import LinearRegressor, PickyRegressor, fake_model


@pytest.fixture
def linear_regressor() -> LinearRegressor:
    return LinearRegressor()


@pytest.fixture
def linear_model(linear_regressor: LinearRegressor) -> RideDurationModel:
    """Scores every valid ride: 3 + 2 * trip_distance minutes."""
    return fake_model(linear_regressor)


@pytest.fixture
def picky_regressor() -> PickyRegressor:
    return PickyRegressor()


@pytest.fixture
def picky_model(picky_regressor: PickyRegressor) -> RideDurationModel:
    """Rejects one ride kind per model-stage code: input_out_of_range (a distance past float32),
    model_error (PU_DO 666_666) and non_finite_prediction (PU_DO 777_777); scores the rest."""
    return fake_model(picky_regressor, max_trip_distance=FLOAT32_MAX)


@pytest.fixture
def picky_client(picky_model: RideDurationModel):
    """The HTTP service in-process (Flask's test client) around `picky_model`; no model is loaded."""
    from ride_scorer.core.settings import ModelSettings
    from ride_scorer.http_service.app import create_app
    from ride_scorer.http_service.settings import ServiceSettings

    return create_app(ServiceSettings(ModelSettings("unused")), model=picky_model).test_client()
