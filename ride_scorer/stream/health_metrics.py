"""A batch's model health as one CloudWatch embedded-metric-format (EMF) document: drift and domain signals,
rejection shares, and the shadow challenger's comparison with the champion.

Written here rather than through powertools' Metrics for two things it cannot express: the predictions'
distribution as an EMF histogram, `Values`/`Counts` over fixed buckets with their `Max`, `Min`, `Count` and
`Sum` (the shape AWS's own aws-embedded-metrics libraries write; CloudWatch computes percentiles from it
across batches), and a second dimension set. Every metric is published per version (service,
function_version, model_version, as the dashboard's other lines) and per service alone, which is what the
template's alarms watch: an alarm cannot follow a dimension whose value changes with each deployment.
"""

from __future__ import annotations

import math
from typing import Any

from ride_scorer.core.rides import RejectionCode
from ride_scorer.core.signals import BUCKET_VALUES, BatchSignals
from ride_scorer.stream.shadow import ShadowResult

PER_VERSION = ["service", "function_version", "model_version"]
PER_SERVICE = ["service"]
PREDICTIONS_METRIC = "PredictedMinutes"


def health_document(
    signals: BatchSignals,
    shadow: ShadowResult | None,
    champion_seconds: float | None,
    *,
    namespace: str,
    dimensions: dict[str, str],
    timestamp_ms: int,
) -> dict[str, Any] | None:
    """The EMF document of one batch, or None for a batch without records. `dimensions` holds the values of
    PER_VERSION."""
    if signals.records == 0:
        return None
    values: dict[str, tuple[Any, str]] = {}

    def put(name: str, value: float | int | None, unit: str = "None") -> None:
        if value is not None and math.isfinite(value):
            values[name] = (value, unit)

    put("UnseenPairShare", signals.unseen_pair_share)
    put("OutOfRangeShare", signals.out_of_range_share)
    put("PredictionsAboveReferenceMedianShare", signals.above_reference_median_share)
    shares = signals.rejection_shares
    for code in RejectionCode:
        put(f"RejectionShare.{code}", shares.get(str(code), 0.0))
    put("ChampionScoringTime", None if champion_seconds is None else champion_seconds * 1000, "Milliseconds")
    if shadow is not None:
        put("ChallengerFailures", int(shadow.failed), "Count")
        if shadow.comparison is not None:
            comparison = shadow.comparison
            put("ShadowMeanAbsDifference", comparison.mean_abs_difference)
            put("ShadowP95AbsDifference", comparison.p95_abs_difference)
            put("ShadowDisagreementShare", comparison.share_over_one_minute)
            put("ChallengerRejections", comparison.challenger_rejected, "Count")
        if shadow.scoring_seconds is not None:
            put("ChallengerScoringTime", shadow.scoring_seconds * 1000, "Milliseconds")
    document: dict[str, Any] = {name: value for name, (value, _) in values.items()}
    definitions = [{"Name": name, "Unit": unit} for name, (_, unit) in values.items()]
    if signals.predicted:
        buckets = [
            (value, count) for value, count in zip(BUCKET_VALUES, signals.prediction_counts, strict=True) if count
        ]
        document[PREDICTIONS_METRIC] = histogram(buckets)
        definitions.append({"Name": PREDICTIONS_METRIC, "Unit": "None"})
    return {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {"Namespace": namespace, "Dimensions": [PER_VERSION, PER_SERVICE], "Metrics": definitions}
            ],
        },
        **{name: dimensions[name] for name in PER_VERSION},
        **(
            {}
            if shadow is None or shadow.challenger_version is None
            else {"challenger_version": shadow.challenger_version}
        ),
        **({} if shadow is None or shadow.error is None else {"challenger_error": shadow.error}),
        **document,
    }


def histogram(buckets: list[tuple[float, int]]) -> dict[str, Any]:
    """An EMF histogram of (bucket value, count) pairs, counts above zero: at most 100 of them."""
    values, counts = [value for value, _ in buckets], [count for _, count in buckets]
    return {
        "Values": values,
        "Counts": counts,
        "Max": max(values),
        "Min": min(values),
        "Count": sum(counts),
        "Sum": math.fsum(value * count for value, count in buckets),
    }
