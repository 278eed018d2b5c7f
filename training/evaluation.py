"""What a reviewer looks at in `make mlflow-ui` before promoting a model: errors overall and by distance band,
predicted-vs-actual and residual plots, and the datasets the run was trained and validated on. The same
numbers (`evaluate`) are what `make promote` compares the champion and the challenger on, on a held-out month.

One number hides where a model is wrong: a linear model on zone pairs does well on the short rides that are
most of the data and badly on long ones, so RMSE and MAE are also logged per distance band
(`rmse_by_distance/2-5mi`, ...). Plots are drawn with matplotlib's object API on its Agg canvas: no pyplot,
no display, nothing global changed in the training process. MLflow and matplotlib are imported by the
functions that log and draw, so that `make promote` can evaluate without paying for them.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

# Miles; the last band is open. Chosen so each band of a TLC month holds thousands of validation rides.
DISTANCE_BANDS: tuple[tuple[float, float], ...] = ((0, 1), (1, 2), (2, 5), (5, 10), (10, math.inf))
PLOTS = ("plots/predicted_vs_actual.png", "plots/residuals.png")
BANDS_TABLE = "evaluation/by_distance_band.json"


@dataclass(frozen=True)
class BandErrors:
    label: str
    rides: int
    rmse: float | None
    mae: float | None


@dataclass(frozen=True)
class Evaluation:
    rmse: float
    mae: float
    bands: tuple[BandErrors, ...]

    def metrics(self) -> dict[str, float]:
        """The run's metrics: `rmse`, `mae`, and per band its error and ride count (bands without rides skipped)."""
        metrics = {"rmse": self.rmse, "mae": self.mae}
        for band in self.bands:
            metrics[f"rides_by_distance/{band.label}"] = float(band.rides)
            if band.rmse is not None and band.mae is not None:
                metrics[f"rmse_by_distance/{band.label}"] = band.rmse
                metrics[f"mae_by_distance/{band.label}"] = band.mae
        return metrics


def band_label(low: float, high: float) -> str:
    """`0-1mi`, ..., `over_10mi` (metric names allow no `+`)."""
    return f"over_{low:g}mi" if high == math.inf else f"{low:g}-{high:g}mi"


def evaluate(actual: np.ndarray, predicted: np.ndarray, distances: np.ndarray) -> Evaluation:
    """RMSE and MAE in minutes, overall and for each band `low <= trip_distance < high`."""
    actual, predicted, distances = (np.asarray(values, dtype=np.float64) for values in (actual, predicted, distances))
    errors = predicted - actual
    bands = []
    for low, high in DISTANCE_BANDS:
        inside = (distances >= low) & (distances < high)
        count = int(inside.sum())
        band = errors[inside]
        bands.append(
            BandErrors(
                band_label(low, high),
                count,
                float(np.sqrt(np.mean(band**2))) if count else None,
                float(np.mean(np.abs(band))) if count else None,
            )
        )
    return Evaluation(float(np.sqrt(np.mean(errors**2))), float(np.mean(np.abs(errors))), tuple(bands))


def log_evaluation(evaluation: Evaluation, actual: np.ndarray, predicted: np.ndarray) -> None:
    """Metrics, the per-band table and both plots, in the active run."""
    import mlflow

    mlflow.log_metrics(evaluation.metrics())
    mlflow.log_dict(
        {
            "columns": ["distance_band", "rides", "rmse_minutes", "mae_minutes"],
            "data": [[band.label, band.rides, band.rmse, band.mae] for band in evaluation.bands],
        },
        BANDS_TABLE,
    )
    actual, predicted = np.asarray(actual, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    mlflow.log_figure(predicted_vs_actual_figure(actual, predicted, evaluation), PLOTS[0])
    mlflow.log_figure(residuals_figure(actual, predicted), PLOTS[1])


def log_datasets(train_trips: pd.DataFrame, train_path: str, validate_trips: pd.DataFrame, validate_path: str) -> None:
    """The rides each side used (after the 1-60 minute filter), with their source and digest, as run inputs."""
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    for trips, path, context in ((train_trips, train_path, "training"), (validate_trips, validate_path, "validation")):
        with warnings.catch_warnings():  # MLflow registers its local-file source twice and warns it is ambiguous
            warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted in multiple")
            dataset = from_pandas(trips, source=path, name=path.rsplit("/", 1)[-1], targets="duration")
        mlflow.log_input(dataset, context=context)


def predicted_vs_actual_figure(actual: np.ndarray, predicted: np.ndarray, evaluation: Evaluation) -> Figure:
    figure = _figure((6.5, 6))
    axes = figure.add_subplot()
    cells = axes.hexbin(actual, predicted, gridsize=60, bins="log", mincnt=1, cmap="viridis")
    limit = max(float(actual.max(initial=0)), float(predicted.max(initial=0)), 1.0)
    axes.plot([0, limit], [0, limit], color="tab:red", linewidth=1, label="predicted = actual")
    axes.set(
        xlabel="actual duration (minutes)",
        ylabel="predicted duration (minutes)",
        title=f"Validation rides: RMSE {evaluation.rmse:.2f}, MAE {evaluation.mae:.2f} min",
    )
    axes.legend(loc="upper left")
    figure.colorbar(cells, ax=axes, label="rides (log scale)")
    return figure


def residuals_figure(actual: np.ndarray, predicted: np.ndarray) -> Figure:
    residuals = predicted - actual
    figure = _figure((11, 4.5))
    histogram, scatter = figure.subplots(1, 2)
    histogram.hist(residuals, bins=100, color="tab:blue")
    histogram.axvline(0, color="tab:red", linewidth=1)
    histogram.set(xlabel="predicted - actual (minutes)", ylabel="rides", title="Residuals")
    cells = scatter.hexbin(predicted, residuals, gridsize=60, bins="log", mincnt=1, cmap="viridis")
    scatter.axhline(0, color="tab:red", linewidth=1)
    scatter.set(xlabel="predicted duration (minutes)", ylabel="predicted - actual (minutes)")
    scatter.set_title("Residual vs predicted")
    figure.colorbar(cells, ax=scatter, label="rides (log scale)")
    return figure


def _figure(size: tuple[float, float]) -> Figure:
    """A figure on its own Agg canvas: no pyplot, no display."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure
