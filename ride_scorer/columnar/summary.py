"""What a run over parquet reports, the same for the batch job and the Spark backfill."""

from __future__ import annotations

from dataclasses import dataclass, field


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
