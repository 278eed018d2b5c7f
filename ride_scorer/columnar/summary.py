"""What a run over parquet reports, the same for the batch job and the Spark backfill."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field


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
        print(json.dumps(asdict(self)))
