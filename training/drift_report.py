"""`make drift-report`: compare a scored month (the batch job's predictions file) with the training reference
of the model that scored it, per feature and for the prediction, and write an HTML report.

The tests are the ones Evidently applies by default: above 1,000 rows, the Wasserstein distance normed by the
reference's standard deviation for numeric columns and the Jensen-Shannon distance for categorical ones, each
drifted above 0.1; up to 1,000 rows, the two-sample Kolmogorov-Smirnov test (numeric) and the chi-square test
(categorical), drifted below p = 0.05. The reference holds each numeric column as 1,001 quantiles (every 0.1%)
and each categorical one as counts (training/reference.py), so the training rides are not needed here.

    python -m training.drift_report --scored predictions.parquet --model <model folder> --output report.html

SciPy and matplotlib come with the training extras; nothing here is in a runtime image.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy import stats
from scipy.spatial.distance import jensenshannon

from ride_scorer.core.model import ModelLoadError, read_version
from ride_scorer.core.model_files import REFERENCE_FILE
from tools.cli import ToolParser, output_file

LARGE_SAMPLE = 1000
DISTANCE_THRESHOLD = 0.1
P_VALUE_THRESHOLD = 0.05
PREDICTION = "ride_duration"
CATEGORICAL = ("PULocationID", "DOLocationID")
NUMERIC = ("trip_distance",)
SCORED_COLUMNS = (*CATEGORICAL, *NUMERIC, PREDICTION, "model_version")


class DriftReportError(ValueError):
    """The inputs cannot be compared; the message names the file and what is wrong."""


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    kind: str  # "numeric" or "categorical"
    test: str
    value: float
    threshold: float
    drifted: bool
    reference_summary: str
    current_summary: str


def numeric_drift(column: str, reference: dict[str, Any], current: np.ndarray) -> ColumnDrift:
    sample = np.asarray(reference["sample"], dtype=np.float64)
    summary = f"median {np.median(current):.2f}, p95 {np.quantile(current, 0.95):.2f}"
    reference_summary = f"median {np.quantile(sample, 0.5):.2f}, p95 {np.quantile(sample, 0.95):.2f}"
    if len(current) > LARGE_SAMPLE:
        scale = reference["std"] or 1.0
        value = float(stats.wasserstein_distance(sample, current) / scale)
        return ColumnDrift(
            column,
            "numeric",
            "Wasserstein (normed)",
            value,
            DISTANCE_THRESHOLD,
            value > DISTANCE_THRESHOLD,
            reference_summary,
            summary,
        )
    p_value = float(stats.ks_2samp(sample, current).pvalue)
    return ColumnDrift(
        column,
        "numeric",
        "K-S p-value",
        p_value,
        P_VALUE_THRESHOLD,
        p_value < P_VALUE_THRESHOLD,
        reference_summary,
        summary,
    )


def categorical_drift(column: str, reference: dict[str, Any], current: pd.Series) -> ColumnDrift:
    reference_counts = pd.Series(reference["counts"], dtype=np.float64)
    current_counts = current.astype(str).value_counts().astype(np.float64)
    categories = reference_counts.index.union(current_counts.index)
    ours = reference_counts.reindex(categories, fill_value=0.0)
    theirs = current_counts.reindex(categories, fill_value=0.0)
    new = int(theirs[ours == 0].sum())
    summary = f"{int(theirs.astype(bool).sum())} values, {new / theirs.sum():.1%} of rows in values training never had"
    reference_summary = f"{int(ours.astype(bool).sum())} values"
    if len(current) > LARGE_SAMPLE:
        value = float(jensenshannon(ours / ours.sum(), theirs / theirs.sum()))
        return ColumnDrift(
            column,
            "categorical",
            "Jensen-Shannon",
            value,
            DISTANCE_THRESHOLD,
            value > DISTANCE_THRESHOLD,
            reference_summary,
            summary,
        )
    # Chi-square needs an expected count in every category: training's shares, smoothed by one ride.
    expected = (ours + 1) / (ours + 1).sum() * theirs.sum()
    p_value = float(stats.chisquare(theirs, expected).pvalue)
    return ColumnDrift(
        column,
        "categorical",
        "chi-square p-value",
        p_value,
        P_VALUE_THRESHOLD,
        p_value < P_VALUE_THRESHOLD,
        reference_summary,
        summary,
    )


def read_scored(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except Exception as error:  # missing, unreadable, not parquet
        raise DriftReportError(f"{path}: cannot read it as parquet: {type(error).__name__}: {error}") from error
    missing = [name for name in SCORED_COLUMNS if name not in table.column_names]
    if missing:
        raise DriftReportError(
            f"{path} has no column(s) {', '.join(missing)}: give the predictions file the batch job wrote"
        )
    frame = table.select(list(SCORED_COLUMNS)).to_pandas()
    if frame.empty:
        raise DriftReportError(f"{path} has no rows")
    return frame


def check_same_model(frame: pd.DataFrame, model: Path, scored: Path) -> None:
    """The predictions must be the model's: another model's reference says nothing about them."""
    try:
        version = read_version(model)
    except ModelLoadError as error:
        raise DriftReportError(str(error)) from error
    others = sorted(set(frame["model_version"].astype(str)) - {version})
    if others:
        raise DriftReportError(f"{scored} holds predictions of model {others[0]}, not of {model} ({version})")


def read_reference_document(model: Path) -> dict[str, Any]:
    path = model / REFERENCE_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DriftReportError(
            f"{path}: cannot read the training reference ({error}); models trained before it existed have none: "
            "train again (make train)"
        ) from error
    if not isinstance(document, dict) or "features" not in document or "prediction" not in document:
        raise DriftReportError(f"{path} is not a training reference")
    return document


def domain_shares(frame: pd.DataFrame, reference: dict[str, Any]) -> dict[str, float]:
    """The stream's domain signals over the whole month (ride_scorer/core/signals.py, for scored rides)."""
    pairs = frame["PULocationID"].astype(str) + "_" + frame["DOLocationID"].astype(str)
    distance = frame["trip_distance"].astype(float)
    low, high = reference["trip_distance"]["min"], reference["trip_distance"]["max"]
    return {
        "unseen_pair_share": float((~pairs.isin(set(reference["seen_pairs"]))).mean()),
        "out_of_range_share": float((~distance.between(low, high)).mean()),
    }


def compare(frame: pd.DataFrame, reference: dict[str, Any]) -> list[ColumnDrift]:
    features = reference["features"]
    drifts = [categorical_drift(name, features[name], frame[name]) for name in CATEGORICAL]
    drifts += [numeric_drift(name, features[name], frame[name].to_numpy(np.float64)) for name in NUMERIC]
    drifts.append(numeric_drift(PREDICTION, reference["prediction"], frame[PREDICTION].to_numpy(np.float64)))
    return drifts


def _figure(frame: pd.DataFrame, reference: dict[str, Any]) -> str:
    """Reference against current for the distance and the prediction, as an inline PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for axis, (column, document) in zip(
        axes,
        [("trip_distance", reference["features"]["trip_distance"]), (PREDICTION, reference["prediction"])],
        strict=True,
    ):
        sample = np.asarray(document["sample"])
        upper = float(np.quantile(np.concatenate([sample, frame[column].to_numpy(np.float64)]), 0.99))
        bins = np.linspace(min(0.0, float(sample.min())), upper, 50)
        axis.hist(sample, bins=bins, density=True, alpha=0.5, label="training reference")
        axis.hist(frame[column], bins=bins, density=True, alpha=0.5, label="scored month")
        axis.set_title(column)
        axis.legend()
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def render(
    scored: Path, frame: pd.DataFrame, reference: dict[str, Any], drifts: list[ColumnDrift], shares: dict[str, float]
) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(d.column)}</td><td>{d.kind}</td><td>{html.escape(d.test)}</td><td>{d.value:.4f}</td>"
        f"<td>{d.threshold}</td><td>{'<b>drifted</b>' if d.drifted else 'no drift'}</td>"
        f"<td>{html.escape(d.reference_summary)}</td><td>{html.escape(d.current_summary)}</td></tr>"
        for d in drifts
    )
    drifted = sum(d.drifted for d in drifts)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Drift report</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:4px 8px}}
table{{border-collapse:collapse}}</style></head><body>
<h1>Drift report</h1>
<p>{html.escape(str(scored))}: {len(frame):,} scored rides against the training reference of
{reference["rows"]:,} rides. {drifted} of {len(drifts)} columns drifted.</p>
<p>Rides with a pickup/dropoff pair the model never saw: {shares["unseen_pair_share"]:.2%};
with a trip_distance beyond the training range: {shares["out_of_range_share"]:.2%}.</p>
<table><tr><th>column</th><th>type</th><th>test</th><th>value</th><th>threshold</th><th>result</th>
<th>training</th><th>scored month</th></tr>{rows}</table>
<img alt="distributions" src="data:image/png;base64,{_figure(frame, reference)}">
</body></html>"""


def main(argv: list[str] | None = None) -> int:
    parser = ToolParser(prog="python -m training.drift_report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scored", required=True, type=Path, help="the batch job's predictions file (parquet)")
    parser.add_argument("--model", required=True, type=Path, help="the model folder that scored it")
    parser.add_argument(
        "--output",
        required=True,
        type=functools.partial(output_file, create_folder=True),
        help="the HTML report to write (a local path or file: URI; its folder is created)",
    )
    arguments = parser.parse_args(argv)
    try:
        frame = read_scored(arguments.scored)
        check_same_model(frame, arguments.model, arguments.scored)
        reference = read_reference_document(arguments.model)
        drifts = compare(frame, reference)
        shares = domain_shares(frame, reference)
        report = render(arguments.scored, frame, reference, drifts, shares)
    except DriftReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(report, encoding="utf-8")
    for drift in drifts:
        verdict = "DRIFTED" if drift.drifted else "ok"
        print(f"{drift.column:14} {drift.test:22} {drift.value:8.4f} (threshold {drift.threshold}) {verdict}")
    print(
        f"unseen pairs {shares['unseen_pair_share']:.2%}, distance beyond training {shares['out_of_range_share']:.2%}; "
        f"{len(frame):,} rides; report: {arguments.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
