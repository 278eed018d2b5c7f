"""Errors by distance band and the plots, then what a training run logs of them."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from training.evaluation import (
    BANDS_TABLE,
    DISTANCE_BANDS,
    PLOTS,
    band_label,
    evaluate,
    predicted_vs_actual_figure,
    residuals_figure,
)


def test_bands_are_labelled_for_metric_names():
    assert [band_label(low, high) for low, high in DISTANCE_BANDS] == ["0-1mi", "1-2mi", "2-5mi", "5-10mi", "over_10mi"]


def test_rmse_and_mae_overall_and_by_band():
    actual = np.array([10.0, 10.0, 20.0, 30.0])
    predicted = np.array([12.0, 8.0, 20.0, 40.0])
    distances = np.array([0.5, 0.9, 3.0, 12.0])

    evaluation = evaluate(actual, predicted, distances)

    assert evaluation.rmse == pytest.approx(math.sqrt((4 + 4 + 0 + 100) / 4))
    assert evaluation.mae == pytest.approx((2 + 2 + 0 + 10) / 4)
    assert [(band.label, band.rides, band.rmse, band.mae) for band in evaluation.bands] == [
        ("0-1mi", 2, 2.0, 2.0),
        ("1-2mi", 0, None, None),
        ("2-5mi", 1, 0.0, 0.0),
        ("5-10mi", 0, None, None),
        ("over_10mi", 1, 10.0, 10.0),
    ]
    metrics = evaluation.metrics()
    assert metrics["rmse_by_distance/0-1mi"] == 2.0
    assert metrics["rides_by_distance/1-2mi"] == 0.0
    assert "rmse_by_distance/1-2mi" not in metrics


def test_plots_render_to_png_without_pyplot(tmp_path):
    actual = np.array([5.0, 12.0, 30.0, 7.0])
    predicted = np.array([6.0, 10.0, 25.0, 7.5])
    evaluation = evaluate(actual, predicted, np.array([1.0, 2.5, 8.0, 1.2]))

    for name, figure in (
        ("predicted_vs_actual.png", predicted_vs_actual_figure(actual, predicted, evaluation)),
        ("residuals.png", residuals_figure(actual, predicted)),
    ):
        figure.savefig(tmp_path / name)
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")


def test_the_run_logs_errors_by_band_plots_and_its_datasets(registered):
    """What `make mlflow-ui` shows for a run."""
    client = MlflowClient(registered.store)
    run = client.get_run(registered.linear.run_id)

    assert run.data.metrics["rmse"] == pytest.approx(registered.linear.rmse)
    assert run.data.metrics["mae"] == pytest.approx(registered.linear.mae)
    banded = {key for key in run.data.metrics if "_by_distance/" in key}
    assert {
        f"{kind}_by_distance/{band_label(*band)}" for kind in ("rmse", "mae", "rides") for band in DISTANCE_BANDS
    } == banded
    artifacts = {
        item.path for folder in ("plots", "evaluation") for item in client.list_artifacts(run.info.run_id, folder)
    }
    assert artifacts == {*PLOTS, BANDS_TABLE}
    table = json.loads(Path(client.download_artifacts(run.info.run_id, BANDS_TABLE)).read_text())
    assert sum(row[1] for row in table["data"]) == int(run.data.params["validate_rows"])
    inputs = {
        dataset_input.tags[0].value: (dataset_input.dataset.name, dataset_input.dataset.source_type)
        for dataset_input in run.inputs.dataset_inputs
    }
    assert inputs == {
        "training": ("green_tripdata_2021-01.parquet", "local"),
        "validation": ("green_tripdata_2021-02.parquet", "local"),
    }
