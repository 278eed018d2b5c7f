"""Scoring close to the CPU's limit: the Lambda handler against a lower bound written here, and its tail.

"Scoring alone" is the image's real handler (powertools' logger and metrics, reading the event, validation,
one predict, the output rules, encoding, the real Kinesis and SQS adapters with their chunking) with
clients that answer in memory instead of over the network. One thread, real 2023 rides, median of repeats.

The lower bound is the least work that gives the same predictions, written in this file, as issue 12 left
it: msgspec decodes the three fields with no validation, and msgspec encodes. In between, for the linear
model, the vectorizer's columns are looked up directly and the prediction is one dot product; for the
forest, scikit-learn's trees score the rides, called directly as the scorer did before it read the scoring
form (`sklearn_model_call`, kept here as that reference). The handler now scores with the scoring form in
numpy. Whether that is at least as fast as issue 12's handler (242k and 49k rec/s at 1,000 rides on its
machine) is measured in this run: the same handler is also timed with issue 12's scikit-learn call in place
of the form, interleaved call by call, and handler / issue 12's handler is the goal; handler / bound is printed
beside it.

The tail: 200 invocations of 500 records, p99/p50 of the handler's time, with the container's objects
frozen after the model loads (as the handler does) and, for comparison, without.

Goals (issues 12 and 24), ratios from this run; exits 1 if one is missed, naming it on the last line:
  handler / the same handler with issue 12's model call >= 1.0 at 1,000 records (linear and forest);
  p99/p50 <= 1.2 over 200 invocations x 500 records, over what the machine shows for the bound (see `tail`).

    .venv/bin/python bench/scoring.py [--kinds linear forest] [--sizes 100 1000 10000]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import gc
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(
    POWERTOOLS_SERVICE_NAME="ride-scorer",
    POWERTOOLS_METRICS_NAMESPACE="RideScorerBench",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    PREDICTIONS_STREAM_NAME="predictions",
    DEAD_LETTER_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/dead-letters",
)

from lambda_function import app  # noqa: E402
from ride_scorer.adapters.kinesis import KinesisPredictionSink  # noqa: E402
from ride_scorer.adapters.sqs import SqsDeadLetterQueue  # noqa: E402
from ride_scorer.core.integrity import directory_digest  # noqa: E402
from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record, ride_event_bytes  # noqa: E402
from tools.local.context import LocalLambdaContext  # noqa: E402

RIDES = ROOT / "data" / "green_tripdata_2023-01.parquet"
SIZES = (100, 1_000, 10_000)
# The handler with the scoring form / the same handler with issue 12's scikit-learn call, in this run.
GOALS = {("linear", 1_000): 1.0, ("forest", 1_000): 1.0}
TAIL_GOAL = 1.2
TAIL_INVOCATIONS, TAIL_RECORDS = 200, 500
MIN_SECONDS_PER_SIZE = 1.0
MODEL_NAME = "ride_duration_prediction_model"

# Trains in a child so that MLflow's and pandas' objects are not in this process's heap: the tail is
# measured on a heap shaped like the Lambda's.
TRAIN_CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from bench.models import train_model
from ride_scorer.core.integrity import write_digest
from pathlib import Path
write_digest(train_model(sys.argv[2], 20_000, Path(sys.argv[3])))
"""


class InMemoryKinesis:
    """put_records that keeps nothing: the network is not what this bench measures."""

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        return {"FailedRecordCount": 0, "Records": [{"SequenceNumber": "1", "ShardId": "s"} for _ in Records]}


class InMemorySqs:
    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}


class Ride(msgspec.Struct):
    PULocationID: int | str
    DOLocationID: int | str
    trip_distance: float


class RideEvent(msgspec.Struct):
    ride: Ride
    ride_id: int | str


class LowerBound:
    """The least work for the same predictions: no validation, no rejection, no adapters."""

    def __init__(self, model_dir: Path) -> None:
        with (model_dir / "model.pkl").open("rb") as handle:  # the bench's own model, trained above
            pipeline = pickle.load(handle)
        self.vocabulary: dict[str, int] = pipeline[0].vocabulary_
        self.estimator = pipeline[-1]
        self.linear = hasattr(self.estimator, "coef_")
        self.trees = sklearn_model_call(pipeline)
        self.decoder = msgspec.json.Decoder(RideEvent)
        self.encoder = msgspec.json.Encoder()

    def __call__(self, event: dict[str, Any]) -> list[bytes]:
        records = event["Records"]
        decoded = [self.decoder.decode(base64.b64decode(record["kinesis"]["data"])) for record in records]
        rides = [ride_event.ride for ride_event in decoded]
        if self.linear:
            coef, vocabulary = self.estimator.coef_, self.vocabulary
            columns = np.array([vocabulary.get(f"PU_DO={r.PULocationID}_{r.DOLocationID}", -1) for r in rides])
            distances = np.array([r.trip_distance for r in rides])
            values = self.estimator.intercept_ + coef[vocabulary["trip_distance"]] * distances
            values += np.where(columns >= 0, coef[columns], 0.0)
            durations = values.tolist()
        else:
            durations = self.trees(
                [{"PU_DO": f"{r.PULocationID}_{r.DOLocationID}", "trip_distance": r.trip_distance} for r in rides]
            )
        encode = self.encoder.encode
        return [
            encode(
                {
                    "model": MODEL_NAME,
                    "version": "v",
                    "prediction": {"ride_duration": duration, "ride_id": ride_event.ride_id},
                    "source_sequence_number": record["kinesis"]["sequenceNumber"],
                }
            )
            for duration, ride_event, record in zip(durations, decoded, records, strict=True)
        ]


def sklearn_model_call(pipeline: Any) -> Callable[[list[dict[str, Any]]], list[float]]:
    """Issue 12's direct call of a `[DictVectorizer, estimator]` pipeline, the same floats as its own predict:
    the vectorizer's CSR matrix built with numpy from its vocabulary, then the linear model's predict, or each
    tree's predict summed in order and divided, as `ForestRegressor.predict` does without joblib's per-tree
    overhead. What the handler called before it read the scoring form."""
    from scipy import sparse

    vectorizer, estimator = pipeline[0], pipeline[-1]
    vocabulary, prefix = vectorizer.vocabulary_, "PU_DO" + vectorizer.separator
    number_column, width = vocabulary["trip_distance"], len(vocabulary)
    text = {name[len(prefix) :]: column for name, column in vocabulary.items() if name.startswith(prefix)}
    trees = list(getattr(estimator, "estimators_", []))

    def predict(features: list[dict[str, Any]]) -> list[float]:
        columns = np.array([text.get(ride["PU_DO"], -1) for ride in features], dtype=np.intc)
        numbers = np.array([ride["trip_distance"] for ride in features], dtype=np.float64)
        known = columns >= 0
        indptr = np.zeros(len(features) + 1, dtype=np.intc)
        np.cumsum(known.astype(np.intc) + 1, out=indptr[1:])
        starts = indptr[:-1]
        indices, values = np.empty(indptr[-1], dtype=np.intc), np.empty(indptr[-1], dtype=np.float64)
        text_first = known & (columns < number_column)
        number_slot = starts + text_first
        indices[number_slot], values[number_slot] = number_column, numbers
        text_slot = np.where(text_first, starts, starts + 1)[known]
        indices[text_slot], values[text_slot] = columns[known], 1
        matrix = sparse.csr_array((values, indices, indptr), shape=(len(features), width))
        if not trees:
            return np.asarray(estimator.predict(matrix), dtype=np.float64).tolist()
        checked = estimator._validate_X_predict(matrix)
        total = np.zeros(len(features), dtype=np.float64)
        for tree in trees:
            total += tree.predict(checked, check_input=False)
        total /= len(trees)
        return total.tolist()

    return predict


class IssueTwelveCall:
    """The model call of issue 12's handler, for the same handler to be timed with it in this run."""

    def __init__(self, model_dir: Path) -> None:
        with (model_dir / "model.pkl").open("rb") as handle:  # the bench's own model, trained above
            self.predict = sklearn_model_call(pickle.load(handle))


def rides_event(count: int) -> dict[str, Any]:
    table = pq.read_table(RIDES, columns=["PULocationID", "DOLocationID", "trip_distance"]).slice(0, count)
    columns = table.to_pydict()
    now = time.time()
    return kinesis_event(
        kinesis_record(KinesisRecordSpec(ride_event_bytes(i, pu, do, float(distance)), str(i), f"4960{i:020d}", now))
        for i, (pu, do, distance) in enumerate(
            zip(columns["PULocationID"], columns["DOLocationID"], columns["trip_distance"], strict=True)
        )
    )


def timings(action: Callable[[], object], repeats: int) -> list[float]:
    """Wall seconds per call. powertools writes a log line and an EMF document per invocation to stdout, as
    in a Lambda; here they go to /dev/null so that the tables stay readable."""
    return timed_invocations(action, repeats)[0]


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    return statistics.median(timings(action, repeats))


def install_scorer(model_dir: Path) -> None:
    """The handler's own cold path (settings, load, gc.freeze), then clients that answer in memory."""
    os.environ["MODEL_LOCATION"] = str(model_dir)
    os.environ["MODEL_SHA256"] = directory_digest(model_dir)
    app.reset()
    gc.unfreeze()
    scorer = app.get_scorer()
    scorer.sink = KinesisPredictionSink(InMemoryKinesis(), "predictions")
    scorer.dead_letters = SqsDeadLetterQueue(InMemorySqs(), os.environ["DEAD_LETTER_QUEUE_URL"])


def handler(event: dict[str, Any]) -> Callable[[], object]:
    context = LocalLambdaContext("bench", "us-east-1", "123456789012")

    def invoke() -> object:
        result = app.lambda_handler(event, context)
        assert result == {"batchItemFailures": []}, result
        return result

    return invoke


def throughput(kind: str, model_dir: Path, sizes: list[int]) -> list[str]:
    install_scorer(model_dir)
    bound = LowerBound(model_dir)
    scorer = app.get_scorer()
    form_model = scorer.model
    issue_12_model = dataclasses.replace(form_model, regressor=IssueTwelveCall(model_dir))
    missed = []
    print(f"\nscoring alone, {kind}: handler with in-memory clients vs the lower bound, one thread")
    print(
        f"{'records':>8} {'handler rec/s':>14} {'lower bound':>12} {'handler/bound':>14} "
        f"{'issue 12 handler':>17} {'handler/issue 12':>17} {'goal':>12}"
    )
    for size in sizes:
        event = rides_event(size)
        invoke = handler(event)
        check = bound(event)
        assert len(check) == size
        repeats = max(3, int(MIN_SECONDS_PER_SIZE / max(median_seconds(invoke, 1), 1e-4)))
        # One call of each in turn, so that the machine's load, which moves within a second on a shared host,
        # weighs on every side of the ratios alike. The same handler is timed with issue 12's model call.
        times: dict[str, list[float]] = {"form": [], "issue 12": [], "bound": []}
        for _ in range(repeats):
            for side, model in (("form", form_model), ("issue 12", issue_12_model)):
                scorer.model = model
                times[side] += timings(invoke, 1)
            times["bound"] += timings(lambda event=event: bound(event), 1)
        scorer.model = form_model
        rate, issue_12_rate, bound_rate = (size / statistics.median(times[side]) for side in times)
        goal, ratio = GOALS.get((kind, size)), rate / issue_12_rate
        verdict = "" if goal is None else f">={goal:.2f} {'PASS' if ratio >= goal else 'FAIL'}"
        if goal is not None and ratio < goal:
            missed.append(f"{kind} {size} records: handler / issue 12's {ratio:.2f} < {goal:.2f}")
        print(
            f"{size:>8} {rate:>14,.0f} {bound_rate:>12,.0f} {rate / bound_rate:>14.2f} "
            f"{issue_12_rate:>17,.0f} {ratio:>17.2f} {verdict:>12}"
        )
    return missed


def tail(model_dir: Path) -> list[str]:
    """p99/p50 of the handler's wall time, next to the same figure for the lower bound run on the same event
    between the handler's invocations.

    On this shared machine the compute alone is not flat: the forest's trees take 1.25-1.45x their median
    time in the slowest 1% of runs with no collection at all (the host's other tenants share its cores and
    caches). The bound, interleaved, sees the same machine; so the goal is checked on the handler's ratio
    over the bound's, and the full collections during the run are counted and timed, which is what
    gc.freeze() is for."""
    install_scorer(model_dir)  # frozen, as in the Lambda
    event = rides_event(TAIL_RECORDS)
    invoke, bound = handler(event), LowerBound(model_dir)
    median_seconds(invoke, 10)
    full: list[float] = []

    def on_collection(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            full.append(time.perf_counter() * (1 if phase == "stop" else -1))

    rows = []
    gc.callbacks.append(on_collection)
    try:
        for label in ("gc.freeze() after load", "without gc.freeze()"):
            full.clear()
            handler_times, bound_times = [], []
            for _ in range(TAIL_INVOCATIONS):
                handler_times += timings(invoke, 1)
                bound_times += timings(lambda: bound(event), 1)
            pauses = [full[i] + full[i + 1] for i in range(0, len(full) - 1, 2)]
            rows.append((label, np.percentile(handler_times, [50, 99]), np.percentile(bound_times, [50, 99]), pauses))
            gc.unfreeze()
    finally:
        gc.callbacks.remove(on_collection)
    print(f"\ntail, {TAIL_INVOCATIONS} invocations x {TAIL_RECORDS} records (forest), wall time")
    names = ("p50 ms", "p99 ms", "p99/p50", "bound p50", "p99 ms", "p99/p50", "excess")
    print(f"{'':>24} " + " ".join(f"{name:>9}" for name in names) + "  full collections")
    for label, (h50, h99), (b50, b99), pauses in rows:
        longest = f", longest {max(pauses) * 1000:.0f} ms" if pauses else ""
        print(
            f"{label:>24} {h50 * 1000:>9.1f} {h99 * 1000:>9.1f} {h99 / h50:>9.2f} {b50 * 1000:>9.1f} "
            f"{b99 * 1000:>9.1f} {b99 / b50:>9.2f} {(h99 / h50) / (b99 / b50):>9.2f}  {len(pauses)}{longest}"
        )
    (_, (h50, h99), (b50, b99), _) = rows[0]
    excess = (h99 / h50) / max(1.0, b99 / b50)
    verdict = excess <= TAIL_GOAL
    print(f"goal with gc.freeze(): handler p99/p50 over the bound's <= {TAIL_GOAL}: {'PASS' if verdict else 'FAIL'}")
    return [] if verdict else [f"tail: handler p99/p50 {h99 / h50:.2f} is {excess:.2f}x the bound's"]


def timed_invocations(invoke: Callable[[], object], count: int) -> tuple[list[float], list[float]]:
    wall, cpu = [], []
    log_stream = app.logger.registered_handler
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        real = log_stream.setStream(sink)
        try:
            for _ in range(count):
                started, cpu_started = time.perf_counter(), time.process_time()
                invoke()
                wall.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
        finally:
            log_stream.setStream(real)
    return wall, cpu


def train(kind: str, directory: Path) -> Path:
    subprocess.run([sys.executable, "-c", TRAIN_CHILD, str(ROOT), kind, str(directory)], check=True)
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kinds", nargs="*", default=["linear", "forest"], choices=["linear", "forest"])
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--skip-tail", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ride-scoring-bench-"))
    print("training the models on 20,000 rides of 2021-01 ...", flush=True)
    models = {kind: train(kind, work / kind) for kind in {*args.kinds, "forest"}}
    missed: list[str] = []
    for kind in args.kinds:
        missed += throughput(kind, models[kind], args.sizes)
    if not args.skip_tail:
        missed += tail(models["forest"])
    if missed:
        print("\nmissed: " + "; ".join(missed))
        sys.exit(1)


if __name__ == "__main__":
    main()
