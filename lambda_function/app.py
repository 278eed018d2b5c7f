"""Lambda entry point: hands the Kinesis event's records to the stream scorer and reports partial batch
failures. The image's only entry point (`lambda_function.app.lambda_handler`).

Thin on purpose: what a ride's outcome is lives in the core (`ride_scorer.core`), shared with the batch and
HTTP modes; how outcomes reach Kinesis and SQS lives in `ride_scorer.stream` and its adapters.
"""

from __future__ import annotations

import gc

# A cold start makes hundreds of thousands of objects (botocore, powertools, then numpy and the model)
# that live as long as the container; collecting while they are made finds nothing and cost 0.1-0.2 s of
# every cold start here. The collector is off while they are made: here for the imports, in `get_scorer`
# for the model, which then freezes them all.
gc.disable()

import json
import os
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ride_scorer.stream.health_metrics import health_document
from ride_scorer.stream.kinesis_event import KinesisEventRecords
from ride_scorer.stream.scorer import InvocationResult, StreamScorer
from ride_scorer.stream.settings import ScorerSettings
from ride_scorer.stream.wiring import AwsClients, build_scorer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "ride-scorer")
# X-Ray: with the template's Tracing=Active (POWERTOOLS_TRACE_DISABLED=false) every S3, Kinesis and SQS call
# is a subsegment of the invocation's trace. Importing the X-Ray SDK and patching botocore costs ~0.25 s of
# cold start, so nothing of it is imported otherwise (powertools' Tracer imports the SDK even when disabled).
TRACED = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in {"false", "0"}
if TRACED:
    from aws_lambda_powertools import Tracer

    tracer: Tracer | None = Tracer(service=SERVICE)
else:
    tracer = None

gc.enable()

logger = Logger(service=SERVICE)
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "RideScorer")
FUNCTION_VERSION = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
# During a rollout two Lambda versions score at once: each metric names the version that emitted it (and,
# once loaded, its model's run id), so the dashboard and alarms can tell them apart (docs/rollout.md).
metrics.set_default_dimensions(function_version=FUNCTION_VERSION)
# The pre-traffic hook's event (infra/functions/pre_traffic): Kinesis-shaped records under this key, scored but
# never written. Lambda's event source mapping never sends this key.
CHECK_EVENT_KEY = "ride_scorer_check"

_scorer: StreamScorer | None = None


def get_scorer() -> StreamScorer:
    """Settings and model are loaded once per container; a failure raises so Lambda retries the batch."""
    global _scorer
    if _scorer is None:
        gc.disable()
        try:
            _scorer = build_scorer(ScorerSettings.from_env(), AwsClients.from_environment())
        finally:
            # Frozen, the container's long-lived objects are never walked again: full collections over them
            # took 48-60 ms and hit about one invocation in twenty, the whole p99. (No gc.collect() first:
            # it found nothing to free and cost 80 ms of cold start.)
            gc.freeze()
            gc.enable()
        metrics.set_default_dimensions(model_version=_scorer.model.version)
        metrics.add_metric(name="ModelLoadTime", unit=MetricUnit.Seconds, value=_scorer.model.load_seconds)
        logger.info(
            "model loaded",
            model_version=_scorer.model.version,
            model_digest=_scorer.model.metadata.digest,
            load_seconds=round(_scorer.model.load_seconds, 3),
            challenger_version=None if _scorer.shadow is None else _scorer.shadow.version,
        )
        if _scorer.shadow is not None and _scorer.shadow.load_error is not None:
            logger.warning(
                "challenger not loaded; the champion scores alone", challenger_error=_scorer.shadow.load_error
            )
    return _scorer


def reset() -> None:
    """Forget the cached scorer and the model's metric dimension (a new container, as far as the handler can tell)."""
    global _scorer
    _scorer = None
    metrics.clear_default_dimensions()
    metrics.clear_metrics()
    metrics.set_default_dimensions(function_version=FUNCTION_VERSION)


def _traced(handler: Any) -> Any:
    return handler if tracer is None else tracer.capture_lambda_handler(handler, capture_response=False)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@_traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if CHECK_EVENT_KEY in event:
        # Side-effect free: nothing reaches the output stream or the dead-letter queue, and no record counts.
        return {CHECK_EVENT_KEY: get_scorer().check(KinesisEventRecords(event[CHECK_EVENT_KEY]))}
    result = get_scorer().score(KinesisEventRecords(event))
    _report(result)
    return {"batchItemFailures": [{"itemIdentifier": number} for number in result.failed_sequence_numbers]}


def _report(result: InvocationResult) -> None:
    for name, value in (
        ("RecordsReceived", result.records),
        ("RecordsScored", result.scored),
        ("RecordsInvalid", result.invalid),
        ("RecordsDeadLettered", result.dead_lettered),
        ("PutRecordsRetried", result.retried),
        ("BatchItemFailures", len(result.failed_sequence_numbers)),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.add_metric(name="ScoringLatency", unit=MetricUnit.Milliseconds, value=result.scoring_seconds * 1000)
    logger.info(
        "batch scored",
        batch_size=result.records,
        scored=result.scored,
        written=result.written,
        invalid=result.invalid,
        dead_lettered=result.dead_lettered,
        retried=result.retried,
        batch_item_failures=len(result.failed_sequence_numbers),
        model_version=result.model_version,
    )
    _report_health(result)


def _report_health(result: InvocationResult) -> None:
    """The batch's drift, domain and shadow metrics: one EMF document of their own (health_metrics.py)."""
    if result.signals is None:
        return
    document = health_document(
        result.signals,
        result.shadow,
        result.champion_predict_seconds,
        namespace=NAMESPACE,
        dimensions={"service": SERVICE, "function_version": FUNCTION_VERSION, "model_version": result.model_version},
        timestamp_ms=int(time.time() * 1000),
    )
    if document is not None:
        print(json.dumps(document, separators=(",", ":")), flush=True)
    if result.shadow is not None and result.shadow.failed:
        logger.warning(
            "the challenger did not score this batch",
            challenger_version=result.shadow.challenger_version,
            challenger_error=result.shadow.error,
        )
