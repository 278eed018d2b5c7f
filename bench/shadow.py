"""What the shadow challenger costs the stream: the handler with a challenger against the same handler
without, on the same real rides, next to the challenger's own scoring.

Issue 26's goal: the challenger adds at most its own scoring on top. The ratio printed is
(handler with challenger - handler without) / the challenger's own scoring of the batch through the core
(`score_rides`: its features, one predict, its output rules); at most 1.15, else this exits 1: the margin is
the comparison and the metrics (~3% at 10,000 rides) and the challenger running after the champion, with
colder caches than when it is timed alone. CPU time, the runs interleaved: the machine may be shared. The
challenger's bare `predict` is printed too, for scale. The champion is the linear model with its training
reference (so the champion-only run computes the drift signals too), the challenger the forest: the costly
candidate. In-memory Kinesis and SQS clients, one thread, medians.

    .venv/bin/python bench/shadow.py [--sizes 1000 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scoring import (  # noqa: E402  (bench.scoring sets the handler's environment first)
    handler,
    install_scorer,
    rides_event,
    timed_invocations,
    train,
)
from lambda_function import app  # noqa: E402
from ride_scorer.core.integrity import directory_digest  # noqa: E402
from ride_scorer.core.rides import read_kinesis_data  # noqa: E402
from ride_scorer.core.scoring import score_rides  # noqa: E402

GOAL = 1.15
SIZES = (1_000, 10_000)
REPEATS = {1_000: 60, 10_000: 12}


def with_reference(model_dir: Path, directory: Path) -> Path:
    """The champion as training logs it: with its training reference (the drift signals' baseline)."""
    import mlflow.sklearn
    import pandas as pd

    from training.data import read_trips
    from training.reference import write_reference

    shutil.copytree(model_dir, directory)
    trips: pd.DataFrame = read_trips(ROOT / "data" / "green_tripdata_2021-01.parquet").head(20_000)
    write_reference(directory, mlflow.sklearn.load_model(str(model_dir)), trips)
    (directory / "model.sha256").unlink(missing_ok=True)
    return directory


def interleaved(actions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median CPU seconds of each action, run in turns (A, B, C, A, B, C, ...): on a shared machine a
    neighbour's load then weighs on every action alike, and CPU time leaves out the waits it causes."""
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats + 1):
        for name, action in actions.items():
            times[name].append(timed_invocations(action, 1)[1][0])
    return {name: statistics.median(values[1:]) for name, values in times.items()}  # the first run warms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ride-shadow-bench-"))
    print("training the models on 20,000 rides of 2021-01 ...", flush=True)
    champion = with_reference(train("linear", work / "linear"), work / "champion")
    challenger = train("forest", work / "forest")
    os.environ["CHALLENGER_MODEL_LOCATION"] = str(challenger)
    os.environ["CHALLENGER_MODEL_SHA256"] = directory_digest(challenger)
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        install_scorer(champion)
    scorer = app.get_scorer()
    shadow = scorer.shadow
    assert shadow is not None and shadow.model is not None, "the challenger did not load"
    challenger_model = shadow.model
    print(
        f"\n{'records':>8} {'champion only':>14} {'with challenger':>16} {'added':>9} {'challenger scoring':>19}"
        f" {'its predict':>12} {'added/scoring':>14} {'goal':>6}   (CPU ms, medians)"
    )
    missed = []
    for size in args.sizes:
        event = rides_event(size)
        invoke = handler(event)
        rides = [read_kinesis_data(record["kinesis"]["data"], 1 << 20) for record in event["Records"]]
        features = [ride.ride.features() for ride in rides]  # type: ignore[union-attr]

        def alone(invoke: Callable[[], object] = invoke) -> object:
            scorer.shadow = None
            return invoke()

        def shadowed(invoke: Callable[[], object] = invoke) -> object:
            scorer.shadow = shadow
            return invoke()

        seconds = interleaved(
            {
                "alone": alone,
                "shadowed": shadowed,
                "own": lambda rides=rides: score_rides(challenger_model, rides),  # type: ignore[misc]
                "bare": lambda features=features: challenger_model.predict(features),  # type: ignore[misc]
            },
            REPEATS.get(size, 20),
        )
        added = seconds["shadowed"] - seconds["alone"]
        ratio = added / seconds["own"]
        print(
            f"{size:>8} {seconds['alone'] * 1000:>14.1f} {seconds['shadowed'] * 1000:>16.1f} {added * 1000:>9.1f}"
            f" {seconds['own'] * 1000:>19.1f} {seconds['bare'] * 1000:>12.1f} {ratio:>14.2f} {GOAL:>6}"
        )
        if ratio > GOAL:
            missed.append(f"{size} records: the challenger added {ratio:.2f}x its own scoring (goal {GOAL})")
    shutil.rmtree(work, ignore_errors=True)
    if missed:
        print("\nmissed: " + "; ".join(missed))
        sys.exit(1)


if __name__ == "__main__":
    main()
