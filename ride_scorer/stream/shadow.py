"""The shadow challenger: a second model scored on the same rides as the champion, through the same core,
whose predictions only become metrics. Nothing it does reaches the output stream or the dead-letter queue,
and nothing it does fails a batch: a challenger that cannot be loaded or that raises is counted and logged.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from ride_scorer.core.model import RideDurationModel
from ride_scorer.core.rides import ReadRide
from ride_scorer.core.scoring import Outcome, score_rides
from ride_scorer.core.signals import ShadowComparison, compare_shadow


@dataclass(frozen=True)
class Shadow:
    """The configured challenger: its loaded model, or why it could not be loaded (then every batch counts
    one challenger failure until a new container tries again)."""

    model: RideDurationModel | None
    load_error: str | None = None

    @property
    def version(self) -> str | None:
        return None if self.model is None else self.model.version


@dataclass(frozen=True)
class ShadowResult:
    """One batch's comparison, or the failure that prevented it."""

    challenger_version: str | None
    comparison: ShadowComparison | None
    scoring_seconds: float | None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


def run_shadow(shadow: Shadow, rides: Sequence[ReadRide], champion: Sequence[Outcome]) -> ShadowResult:
    """Score `rides` with the challenger and compare with the champion's outcomes of the same rides."""
    if shadow.model is None:
        return ShadowResult(None, None, None, f"the challenger could not be loaded: {shadow.load_error}")
    started = time.perf_counter()
    try:
        outcomes = score_rides(shadow.model, rides)
    except Exception as error:  # the challenger's failure is never the batch's (the handler logs it)
        return ShadowResult(shadow.version, None, None, f"{type(error).__name__}: {error}")
    seconds = time.perf_counter() - started
    return ShadowResult(shadow.version, compare_shadow(champion, outcomes), seconds)
