"""Score the records of one Lambda invocation: read all, score them through the core, write the predictions
in order, dead-letter the rejections, and say which records must be re-delivered.

Knows nothing of Lambda's runtime: the handler and the tests call `StreamScorer.score` with a `RecordBatch`
(the event's records read column-wise, no object per record). The core decides each ride's outcome; this
module only maps outcomes to the output stream and the dead-letter queue, and failed writes to the records
Lambda must deliver again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ride_scorer.core.interfaces import DeadLetter, DeadLetterSink, OutputRecord, PredictionSink, WriteResult
from ride_scorer.core.model import RideDurationModel
from ride_scorer.core.prediction_records import encode_predictions
from ride_scorer.core.rides import Rejection, read_kinesis_data
from ride_scorer.core.scoring import Prediction, score_rides
from ride_scorer.core.signals import BatchSignals, batch_signals
from ride_scorer.stream.kinesis_event import RecordBatch
from ride_scorer.stream.shadow import Shadow, ShadowResult, run_shadow


@dataclass(frozen=True)
class InvocationResult:
    """`failed_sequence_numbers` is in record order, from the earliest record that must be re-delivered."""

    records: int
    scored: int
    written: int
    invalid: int
    dead_lettered: int
    retried: int
    failed_sequence_numbers: list[str]
    scoring_seconds: float
    model_version: str
    # The model-health side of the batch (ride_scorer/stream/health_metrics.py makes them metrics).
    signals: BatchSignals | None = None
    champion_predict_seconds: float | None = None
    shadow: ShadowResult | None = None


@dataclass
class KeptOutputs:
    """A prediction sink and dead-letter sink that keep what they are given and write nothing: the
    deployment check's sinks (`StreamScorer.check`)."""

    predictions: list[OutputRecord] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def write(self, records: Sequence[OutputRecord]) -> WriteResult:
        self.predictions.extend(records)
        return WriteResult(first_unwritten=None)

    def send(self, letters: Sequence[DeadLetter]) -> list[int]:
        self.dead_letters.extend(letters)
        return []


@dataclass
class StreamScorer:
    model: RideDurationModel
    model_name: str
    sink: PredictionSink
    dead_letters: DeadLetterSink
    max_event_bytes: int
    # The shadow challenger, when one is configured: scored after the champion's outputs are written.
    shadow: Shadow | None = None

    def score(self, records: RecordBatch) -> InvocationResult:
        started = time.perf_counter()
        data, sequence_numbers = records.data, records.sequence_numbers
        max_bytes = self.max_event_bytes
        rides = [read_kinesis_data(item, max_bytes) for item in data]
        read = time.perf_counter()
        outcomes = score_rides(self.model, rides)
        scoring_seconds = time.perf_counter() - started
        champion_predict_seconds = time.perf_counter() - read

        predicted = [position for position, outcome in enumerate(outcomes) if type(outcome) is Prediction]
        scored: list[Prediction] = [outcomes[position] for position in predicted]  # type: ignore[misc]
        rejected = [
            (position, DeadLetter(data[position], outcome, records.origin(position)))
            for position, outcome in enumerate(outcomes)
            if type(outcome) is Rejection
        ]
        encoded = encode_predictions(
            self.model_name,
            self.model.version,
            [
                (prediction.ride_id, prediction.ride_duration, sequence_numbers[position])
                for prediction, position in zip(scored, predicted, strict=True)
            ],
        )
        outputs = [
            OutputRecord(output, str(prediction.ride_id)) for output, prediction in zip(encoded, scored, strict=True)
        ]

        written = self.sink.write(outputs)
        # Everything from the first unwritten prediction on is re-delivered, so only letters before it
        # are sent now; the rest would be sent twice.
        cutoff = len(data) if written.first_unwritten is None else predicted[written.first_unwritten]
        to_send = [(position, letter) for position, letter in rejected if position < cutoff]
        unsent = self.dead_letters.send([letter for _, letter in to_send])
        if unsent:
            cutoff = min(cutoff, to_send[unsent[0]][0])
        # After the writes, so the challenger never delays the champion's predictions.
        shadow = None if self.shadow is None else run_shadow(self.shadow, rides, outcomes)

        return InvocationResult(
            records=len(data),
            scored=len(outputs),
            written=len(outputs) if written.first_unwritten is None else written.first_unwritten,
            invalid=len(rejected),
            dead_lettered=len(to_send) - len(unsent),
            retried=written.retried,
            failed_sequence_numbers=list(sequence_numbers[cutoff:]),
            scoring_seconds=scoring_seconds,
            model_version=self.model.version,
            signals=batch_signals(rides, outcomes, self.model.reference),
            champion_predict_seconds=champion_predict_seconds,
            shadow=shadow,
        )

    def check(self, records: RecordBatch) -> dict[str, object]:
        """Score `records` exactly as `score` does, with this container's model and rules, but write nothing:
        the answer holds the prediction records and dead-letter bodies that `score` would have written.

        Why: the pre-traffic hook checks a new Lambda version on real-shaped rides before any traffic
        reaches it; going through the output stream and dead-letter queue would hand consumers rides that
        never happened (docs/rollout.md).
        """
        kept = KeptOutputs()
        result = StreamScorer(self.model, self.model_name, kept, kept, self.max_event_bytes).score(records)
        return {
            "records": result.records,
            "model_version": result.model_version,
            "predictions": [record.data.decode("utf-8") for record in kept.predictions],
            "dead_letters": [letter.body() for letter in kept.dead_letters],
        }
