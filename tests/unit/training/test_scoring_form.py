"""Training writes the scoring form only for a pipeline it reproduces exactly, and refuses any other in one line
naming what is supported, before anything is written."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler

from ride_scorer.core.model import load_model
from ride_scorer.core.model_files import FORM_ARRAYS, FORM_FOLDER
from ride_scorer.core.scoring_form import SUPPORTED
from training.scoring_form import UnsupportedModelError, check_before_publishing, write_scoring_form

RIDES = [{"PU_DO": "1_2", "trip_distance": 1.0}, {"PU_DO": "236_237", "trip_distance": 2.0}]
TARGET = [5.0, 7.0]


class AlmostLinear(LinearRegression):
    """A subclass may predict otherwise than `X @ coef_ + intercept_`: only the exact estimator types are taken."""

    def predict(self, X):
        return super().predict(X) * (1 + 2**-52)


@pytest.mark.parametrize(
    ("pipeline", "why"),
    [
        (make_pipeline(DictVectorizer(), MaxAbsScaler(), LinearRegression()), "cannot score Pipeline"),
        (make_pipeline(DictVectorizer(sparse=False), LinearRegression()), "not a sparse DictVectorizer"),
        (make_pipeline(DictVectorizer(), GradientBoostingRegressor()), "cannot score GradientBoostingRegressor"),
        (make_pipeline(DictVectorizer(), AlmostLinear()), "cannot score AlmostLinear"),
    ],
    ids=["three-steps", "dense", "boosting", "subclass"],
)
def test_a_pipeline_without_an_exact_form_is_refused_in_one_line_and_nothing_is_written(tmp_path, pipeline, why):
    pipeline.fit(RIDES, TARGET)
    with pytest.raises(UnsupportedModelError) as refused:
        write_scoring_form(pipeline, tmp_path)
    message = str(refused.value)
    assert why in message and message.endswith(f"; supported: {SUPPORTED}") and "\n" not in message
    assert not (tmp_path / FORM_FOLDER).exists()


def test_publish_adds_the_form_to_a_model_logged_without_it_and_refuses_one_that_differs(trained_model_dir, tmp_path):
    """Publish's check on its staged copy: republishing an older model is enough, a wrong form never ships."""
    older = shutil.copytree(trained_model_dir, tmp_path / "older")
    shutil.rmtree(older / FORM_FOLDER)
    check_before_publishing(older)
    assert load_model(older).predict(RIDES) == load_model(trained_model_dir).predict(RIDES)

    tampered = shutil.copytree(trained_model_dir, tmp_path / "tampered")
    with np.load(tampered / FORM_ARRAYS, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["intercept"] = np.nextafter(arrays["intercept"], np.inf)
    np.savez(tampered / FORM_ARRAYS, **arrays)
    with pytest.raises(UnsupportedModelError, match=r"^the scoring form differs from the pipeline's predict on \d+ of"):
        check_before_publishing(tampered)
