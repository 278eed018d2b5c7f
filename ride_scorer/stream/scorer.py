"""Score the records of one Lambda invocation: read all, score them through the core, write the predictions
in order, dead-letter the rejections, and say which records must be re-delivered.

Knows nothing of Lambda: the handler, the local runner and the tests all call `StreamScorer.score` with
plain `StreamRecord`s. The core decides each ride's outcome; this module only maps outcomes to the output
stream and the dead-letter queue, and failed writes to the records Lambda must deliver again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from ride_scorer.core.interfaces import DeadLetter, DeadLetterSink, OutputRecord, PredictionSink, RecordOrigin
from ride_scorer.core.model import RideDurationModel
from ride_scorer.core.prediction_records import encode_record, prediction_record
from ride_scorer.core.scoring import Prediction, read_kinesis_data, score_rides


@dataclass(frozen=True)
class StreamRecord:
    """One Kinesis record as delivered: `data` is the base64 text, exactly as received."""

    data: str
    origin: RecordOrigin


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


@dataclass
class StreamScorer:
    model: RideDurationModel
    model_name: str
    sink: PredictionSink
    dead_letters: DeadLetterSink
    max_event_bytes: int

    def score(self, records: Sequence[StreamRecord]) -> InvocationResult:
        started = time.perf_counter()
        outcomes = score_rides(self.model, [read_kinesis_data(record.data, self.max_event_bytes) for record in records])
        scoring_seconds = time.perf_counter() - started

        predicted: list[int] = []
        outputs: list[OutputRecord] = []
        rejected: list[tuple[int, DeadLetter]] = []
        for position, (record, outcome) in enumerate(zip(records, outcomes, strict=True)):
            if isinstance(outcome, Prediction):
                predicted.append(position)
                outputs.append(self._output(outcome, record.origin.sequence_number))
            else:
                rejected.append((position, DeadLetter(record.data, outcome, record.origin)))

        written = self.sink.write(outputs)
        # Everything from the first unwritten prediction on is re-delivered, so only letters before it
        # are sent now; the rest would be sent twice.
        cutoff = len(records) if written.first_unwritten is None else predicted[written.first_unwritten]
        to_send = [(position, letter) for position, letter in rejected if position < cutoff]
        unsent = self.dead_letters.send([letter for _, letter in to_send])
        if unsent:
            cutoff = min(cutoff, to_send[unsent[0]][0])

        return InvocationResult(
            records=len(records),
            scored=len(outputs),
            written=len(outputs) if written.first_unwritten is None else written.first_unwritten,
            invalid=len(rejected),
            dead_lettered=len(to_send) - len(unsent),
            retried=written.retried,
            failed_sequence_numbers=[record.origin.sequence_number for record in records[cutoff:]],
            scoring_seconds=scoring_seconds,
            model_version=self.model.version,
        )

    def _output(self, prediction: Prediction, sequence_number: str) -> OutputRecord:
        record = prediction_record(
            self.model_name, self.model.version, prediction.ride_id, prediction.ride_duration, sequence_number
        )
        return OutputRecord(encode_record(record), partition_key=str(prediction.ride_id))
