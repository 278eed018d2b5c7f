"""Drift, domain and shadow signals of a batch of rides: pure computation, shared by the stream (per batch,
as CloudWatch metrics) and the file modes (per run, in the summary).

- Domain: how many valid rides have a pickup/dropoff pair the model never saw in training (it silently gets
  the base prediction) or a `trip_distance` beyond the training range, per the model's training reference.
- Drift: the predictions over fixed buckets (so CloudWatch can give percentiles across batches), and how many
  lie above the training predictions' median (half of them, while live rides look like the training rides).
- Rejections by reason code.
- Shadow: the champion's and the challenger's predictions of the same rides, compared.

No numpy: the stream's batches are at most 10,000 rides and these are a few passes over Python lists.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ride_scorer.core.reference import TrainingReference
from ride_scorer.core.rides import ReadRide, Rejection, RideEvent
from ride_scorer.core.scoring import Outcome, Prediction

# Fixed prediction buckets, in minutes: one a minute up to an hour (the training window), five minutes
# wide to two hours; a prediction below 0 counts in the first, one of 120 or more in the last. A bucket is
# reported by its middle, so at most 72 values (EMF takes 100 per metric).
BUCKET_EDGES: tuple[float, ...] = (*range(0, 60), *range(60, 121, 5))
BUCKET_VALUES: tuple[float, ...] = tuple((low + high) / 2 for low, high in itertools.pairwise(BUCKET_EDGES))
# Rides whose predictions differ by more than this are counted as disagreeing.
DISAGREEMENT_MINUTES = 1.0


def bucket_index(minutes: float) -> int:
    """The bucket holding `minutes` (clamped to the first and the last)."""
    if minutes < 60:
        return max(0, math.floor(minutes))
    return min(len(BUCKET_VALUES) - 1, 60 + int((minutes - 60) // 5))


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0 <= q <= 1) with linear interpolation between order statistics: numpy's default
    method, so a test's `numpy.quantile` gives the same number."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    fraction = position - below
    return ordered[below] + (ordered[above] - ordered[below]) * fraction


@dataclass(frozen=True)
class BatchSignals:
    """Counts, so that batches add up (a file is many chunks); shares are taken when reported."""

    records: int
    rides: int  # valid rides: what the unseen-pair and out-of-range counts are shares of
    rejected_by_code: Mapping[str, int]
    predicted: int
    prediction_counts: tuple[int, ...]  # per BUCKET_VALUES
    # None without a training reference: the model cannot say what it saw.
    unseen_pairs: int | None = None
    out_of_range: int | None = None
    above_reference_median: int | None = None

    @property
    def unseen_pair_share(self) -> float | None:
        return _share(self.unseen_pairs, self.rides)

    @property
    def out_of_range_share(self) -> float | None:
        return _share(self.out_of_range, self.rides)

    @property
    def above_reference_median_share(self) -> float | None:
        return _share(self.above_reference_median, self.predicted)

    @property
    def rejection_shares(self) -> dict[str, float]:
        return {code: count / self.records for code, count in sorted(self.rejected_by_code.items())}

    def __add__(self, other: BatchSignals) -> BatchSignals:
        return BatchSignals(
            records=self.records + other.records,
            rides=self.rides + other.rides,
            rejected_by_code=dict(Counter(self.rejected_by_code) + Counter(other.rejected_by_code)),
            predicted=self.predicted + other.predicted,
            prediction_counts=tuple(
                a + b for a, b in zip(self.prediction_counts, other.prediction_counts, strict=True)
            ),
            unseen_pairs=_add(self.unseen_pairs, other.unseen_pairs),
            out_of_range=_add(self.out_of_range, other.out_of_range),
            above_reference_median=_add(self.above_reference_median, other.above_reference_median),
        )


def batch_signals(
    rides: Sequence[ReadRide], outcomes: Sequence[Outcome], reference: TrainingReference | None
) -> BatchSignals:
    """The signals of one batch: `rides` as read, `outcomes` as the core scored them (same order).

    It runs on every stream batch, so each count is one comprehension or a C-level pass (Counter, sum over
    booleans) rather than a Python loop with calls."""
    events = [ride.ride for ride in rides if type(ride) is RideEvent]
    predictions = [outcome.ride_duration for outcome in outcomes if type(outcome) is Prediction]
    # Counted by whole minutes (toward zero) in C, then the few minutes outside 0-59 moved to their buckets:
    # below zero to the first; from an hour on, the whole minutes give the same five-minute bucket.
    by_bucket: Counter[int] = Counter()
    for minutes, count in Counter(map(int, predictions)).items():
        by_bucket[minutes if 0 <= minutes < 60 else bucket_index(minutes)] += count
    counts = tuple(by_bucket.get(index, 0) for index in range(len(BUCKET_VALUES)))
    rejected = Counter([outcome.code for outcome in outcomes if type(outcome) is Rejection])
    by_code = {str(code): count for code, count in sorted(rejected.items())}
    signals = BatchSignals(len(outcomes), len(events), by_code, len(predictions), counts)
    if reference is None:
        return signals
    seen, low, high = reference.seen_pairs, reference.min_trip_distance, reference.max_trip_distance
    seen_ids, median = reference.seen_pair_ids, reference.prediction_median
    return BatchSignals(
        **{
            **signals.__dict__,
            # The pair as the model's feature spells it; integer ids are looked up as a tuple first.
            "unseen_pairs": sum(
                [
                    (ride.PULocationID, ride.DOLocationID) not in seen_ids
                    and f"{ride.PULocationID}_{ride.DOLocationID}" not in seen
                    for ride in events
                ]
            ),
            "out_of_range": sum([not low <= ride.trip_distance <= high for ride in events]),
            "above_reference_median": sum([value > median for value in predictions]),
        }
    )


@dataclass(frozen=True)
class ShadowComparison:
    """The challenger against the champion on one batch. Differences are over the rides both scored."""

    compared: int
    mean_abs_difference: float
    p95_abs_difference: float
    share_over_one_minute: float
    # Rides the champion scored and the challenger rejected, by reason code: the challenger's own rejections.
    challenger_rejections: Mapping[str, int] = field(default_factory=dict)

    @property
    def challenger_rejected(self) -> int:
        return sum(self.challenger_rejections.values())


def compare_shadow(champion: Sequence[Outcome], challenger: Sequence[Outcome]) -> ShadowComparison:
    """Comprehensions rather than one loop with branches: this runs on every batch with a challenger."""
    scored = [
        (ours.ride_duration, theirs)
        for ours, theirs in zip(champion, challenger, strict=True)
        if type(ours) is Prediction
    ]
    differences = [abs(theirs.ride_duration - ours) for ours, theirs in scored if type(theirs) is Prediction]
    own_rejections = Counter([str(theirs.code) for _, theirs in scored if type(theirs) is Rejection])
    compared = len(differences)
    return ShadowComparison(
        compared=compared,
        mean_abs_difference=math.fsum(differences) / compared if compared else math.nan,
        p95_abs_difference=quantile(differences, 0.95),
        share_over_one_minute=(
            sum([difference > DISAGREEMENT_MINUTES for difference in differences]) / compared if compared else math.nan
        ),
        challenger_rejections=dict(sorted(own_rejections.items())),
    )


def _share(count: int | None, total: int) -> float | None:
    if count is None:
        return None
    return count / total if total else 0.0


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b
