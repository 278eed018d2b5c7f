"""The rollout check set: real rides and every kind of bad record, with the exact outcome this model gives each.

The pre-traffic hook (infra/functions/pre_traffic) sends these records to a new Lambda version before traffic
reaches it and compares the answer with the outcomes written here: every prediction once with exactly this
float, every dead letter once with exactly this reason code, nothing else. A plausibility range could not
tell a doubled prediction, or a duration of 1e-300 minutes, from a good answer; the exact answer can.

The outcomes are computed when the model is saved, by the scorer's own check path (`StreamScorer.check`, what
the Lambda runs on the hook's event) on the model as saved, so they are what a sound deployment of this model
answers. The file lives in the model's folder (`scorer/check_set.json`), so the pin (MODEL_SHA256) covers it:
the hook trusts it only once the published manifest matches the pin.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from infra.functions.pre_traffic.app import CHECK_EVENT_KEY, CHECK_SET_FILE, check_event, sequence_number
from ride_scorer.core.integrity import directory_digest
from ride_scorer.core.model import load_model
from ride_scorer.stream.kinesis_event import KinesisEventRecords
from ride_scorer.stream.scorer import KeptOutputs, StreamScorer
from ride_scorer.stream.settings import DEFAULT_MAX_EVENT_BYTES
from tools.event_factory import ride_event_bytes
from tools.local.ride_source import poison_records, read_rides

RIDES_FILE = Path(__file__).resolve().parents[1] / "data" / "green_tripdata_2023-01.parquet"
# One real ride per band of trip distance (miles), so short, ordinary, long and airport-length rides are all
# checked: a model broken for one range only would pass a check made of one kind of ride.
DISTANCE_BANDS = ((0.0, 1.0), (1.0, 2.0), (2.0, 5.0), (5.0, 10.0), (10.0, 20.0), (20.0, float("inf")))
# Rows of the month read to find them: the bands are all filled well within it.
ROWS_READ = 5000
# Base64 no decoder accepts: Kinesis always encodes, so only a hand-built event can carry it.
NOT_BASE64 = "!!! not base64 !!!"


def check_records(rides_file: Path = RIDES_FILE) -> list[str]:
    """The check's records as Kinesis `data` (base64), in the order they are sent: real rides, then poison."""
    rides = read_rides(rides_file, ROWS_READ)
    chosen = []
    for low, high in DISTANCE_BANDS:
        ride = next(ride for ride in rides if low <= ride.trip_distance < high)
        name = f"pre-traffic-check-{ride.ride_id}"
        chosen.append(ride_event_bytes(name, ride.pickup, ride.dropoff, ride.trip_distance))
    beyond_any_model = ride_event_bytes("pre-traffic-check-far", 74, 75, 1e300)  # out of range, or non-finite
    poison = [record.data for record in poison_records(6)]  # one of each kind the producer sends
    encoded = [base64.b64encode(data).decode("ascii") for data in [*chosen, beyond_any_model, *poison]]
    return [*encoded, NOT_BASE64]


def expected_outcomes(model_dir: Path, records: list[str]) -> dict[str, Any]:
    """What the scorer's check path answers on `records` with the model in `model_dir`, position by position."""
    model = load_model(model_dir, directory_digest(model_dir))
    kept = KeptOutputs()
    checker = StreamScorer(model, "check", kept, kept, DEFAULT_MAX_EVENT_BYTES)
    answer: dict[str, Any] = checker.check(KinesisEventRecords(check_event(records)[CHECK_EVENT_KEY]))
    positions = {sequence_number(position): position for position in range(len(records))}
    outcomes: list[dict[str, Any]] = [{} for _ in records]
    for text in answer["predictions"]:
        prediction = json.loads(text)
        outcomes[positions[prediction["source_sequence_number"]]] = {"prediction": prediction["prediction"]}
    for text in answer["dead_letters"]:
        letter = json.loads(text)
        outcomes[positions[letter["source"]["sequence_number"]]] = {"reason_code": letter["reason_code"]}
    return {
        "model_version": answer["model_version"],
        "records": [{"data": data, "expected": outcome} for data, outcome in zip(records, outcomes, strict=True)],
    }


def write_check_set(model_dir: Path) -> Path:
    """Write `scorer/check_set.json` into the saved model's folder (after every other file of the model)."""
    path = Path(model_dir) / CHECK_SET_FILE
    document = expected_outcomes(Path(model_dir), check_records())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return path
