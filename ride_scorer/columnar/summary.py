"""What a run over parquet reports, the same for the batch job and the Spark backfill."""

from __future__ import annotations

import json
import sys
from array import array
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ride_scorer.core.signals import BatchSignals

# The prediction quantiles a summary reports (the same in every mode that reads files).
SUMMARY_QUANTILES = {"p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95}


@dataclass(frozen=True)
class ScoringSummary:
    """What a scheduler logs and an operator checks: every row is either scored or rejected."""

    rows: int
    scored: int
    rejected: int
    rejected_by_code: dict[str, int]
    model_name: str
    model_version: str
    seconds: float
    output: str
    rejects: str
    # Drift and domain signals against the model's training reference (None when the model has none):
    # shares of the valid rides; quantiles of the predictions, in minutes.
    unseen_pair_share: float | None = None
    out_of_range_share: float | None = None
    prediction_quantiles: dict[str, float] = field(default_factory=dict)
    rows_per_second: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows_per_second", self.rows / self.seconds if self.seconds > 0 else 0.0)

    def report(self) -> None:
        """One line for the operator on stderr, and the summary as JSON on stdout for the logs and a scheduler."""
        by_code = f" {self.rejected_by_code}" if self.rejected_by_code else ""
        print(
            f"scored {self.scored} of {self.rows} rows, rejected {self.rejected}{by_code} in {self.seconds:.1f}s "
            f"({self.rows_per_second:,.0f} rows/s) with model {self.model_version}",
            file=sys.stderr,
        )
        if self.unseen_pair_share is not None and self.out_of_range_share is not None:
            median = self.prediction_quantiles.get("p50", float("nan"))
            print(
                f"unseen zone pairs {self.unseen_pair_share:.2%}, trip_distance beyond training "
                f"{self.out_of_range_share:.2%}, predictions p50 {median:.2f} min",
                file=sys.stderr,
            )
        print(json.dumps(asdict(self)))


def drift_fields(signals: BatchSignals | None, predictions: array) -> dict[str, Any]:
    """The summary's drift fields from the run's signals and every prediction it made (an `array("d")`:
    8 bytes a ride)."""
    quantiles: dict[str, float] = {}
    if len(predictions):
        values = np.quantile(np.frombuffer(predictions, dtype=np.float64), list(SUMMARY_QUANTILES.values()))
        quantiles = {name: float(value) for name, value in zip(SUMMARY_QUANTILES, values, strict=True)}
    return {
        "unseen_pair_share": None if signals is None else signals.unseen_pair_share,
        "out_of_range_share": None if signals is None else signals.out_of_range_share,
        "prediction_quantiles": quantiles,
    }
