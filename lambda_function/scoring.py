"""Score one batch of stream records: decode all, predict once, write in order, dead-letter the bad.

Knows nothing of Lambda: the handler, the local runner and the tests all call `StreamScorer.score` with
plain `StreamRecord`s and get back which records must be re-delivered.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from lambda_function.dead_letter import DeadLetter, DeadLetterSink, RecordOrigin
from lambda_function.model import RideDurationModel
from lambda_function.predictions import encode_record, prediction_record
from lambda_function.rides import InvalidRide, RejectedRecord, RejectionCode, RideEvent, decode_kinesis_data
from lambda_function.sink import OutputRecord, PredictionSink


@dataclass(frozen=True)
class StreamRecord:
    """One Kinesis record as delivered: `data` is the base64 text, exactly as received."""

    data: str
    origin: RecordOrigin


@dataclass(frozen=True)
class BatchResult:
    """`failed_sequence_numbers` is in batch order, from the earliest record that must be re-delivered."""

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

    def score(self, records: Sequence[StreamRecord]) -> BatchResult:
        valid: list[tuple[int, RideEvent]] = []
        rejected: list[tuple[int, DeadLetter]] = []
        for position, record in enumerate(records):
            try:
                valid.append((position, decode_kinesis_data(record.data, self.max_event_bytes)))
            except InvalidRide as invalid:
                rejected.append((position, DeadLetter(record.data, invalid.rejection, record.origin)))

        started = time.perf_counter()
        durations = self.model.predict([event.ride.features() for _, event in valid])
        scoring_seconds = time.perf_counter() - started
        valid, durations = self._publishable(records, valid, durations, rejected)

        outputs = [
            OutputRecord(
                encode_record(
                    prediction_record(
                        self.model_name,
                        self.model.version,
                        event.ride_id,
                        duration,
                        records[position].origin.sequence_number,
                    )
                ),
                partition_key=str(event.ride_id),
            )
            for (position, event), duration in zip(valid, durations, strict=True)
        ]
        written = self.sink.write(outputs)
        # Everything from the first unwritten prediction on is re-delivered, so only letters before it
        # are sent now; the rest would be sent twice.
        cutoff = len(records) if written.first_unwritten is None else valid[written.first_unwritten][0]
        to_send = [(position, letter) for position, letter in rejected if position < cutoff]
        unsent = self.dead_letters.send([letter for _, letter in to_send])
        if unsent:
            cutoff = min(cutoff, to_send[unsent[0]][0])

        return BatchResult(
            records=len(records),
            scored=len(valid),
            written=len(outputs) if written.first_unwritten is None else written.first_unwritten,
            invalid=len(rejected),
            dead_lettered=len(to_send) - len(unsent),
            retried=written.retried,
            failed_sequence_numbers=[record.origin.sequence_number for record in records[cutoff:]],
            scoring_seconds=scoring_seconds,
            model_version=self.model.version,
        )

    @staticmethod
    def _publishable(
        records: Sequence[StreamRecord],
        valid: list[tuple[int, RideEvent]],
        durations: list[float],
        rejected: list[tuple[int, DeadLetter]],
    ) -> tuple[list[tuple[int, RideEvent]], list[float]]:
        """A non-finite duration would be written as `Infinity`/`NaN`, which is not JSON: dead-letter it.
        `rejected` stays in batch order, which the cutoff logic relies on."""
        kept = [(item, duration) for item, duration in zip(valid, durations, strict=True) if math.isfinite(duration)]
        if len(kept) == len(valid):
            return valid, durations
        for (position, _), duration in zip(valid, durations, strict=True):
            if not math.isfinite(duration):
                reason = f"the model predicted {duration} minutes; only finite durations can be published"
                rejection = RejectedRecord(RejectionCode.NON_FINITE_PREDICTION, reason)
                rejected.append((position, DeadLetter(records[position].data, rejection, records[position].origin)))
        rejected.sort(key=lambda item: item[0])
        return [item for item, _ in kept], [duration for _, duration in kept]
