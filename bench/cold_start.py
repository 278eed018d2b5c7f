"""Runtime size and cold start of the Lambda image's dependency set against full MLflow's.

Why: the image carries only what scoring needs; MLflow's model format stays the contract, MLflow itself
does not ship. This measures whether that pays: the installed size of the locked runtime closure against
full MLflow's, and a cold start (a new process -> model fetched from S3 and loaded -> first event scored
and written) of the real handler against the usual `mlflow.pyfunc.load_model` handler. Both run in an
isolated interpreter (`python -I -S`) that sees only its own closure, against the same moto server on
127.0.0.1, the same model and the same event. It also records the memory and time figures template.yaml's
MemorySize and Timeout are chosen from.

Targets: closure <= 40% of full MLflow's, cold start <= 50% of the mlflow.pyfunc path. Exits 1 if missed.

    .venv/bin/python bench/cold_start.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import compileall
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from importlib.metadata import version
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from infra.image_contents import lay_out
from infra.provision import Resources, provision
from infra.runtime_closure import (
    RUNTIME_LOCK,
    folder_bytes,
    install_runtime_closure,
    install_target,
    lock_hash,
)
from ride_scorer.core.integrity import write_digest
from ride_scorer.tools.local.context import child_context_source

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
RESULTS = ROOT / "bench-results"
MODEL_PREFIX = "models/ride-duration/production"
TRAIN_ROWS = 10_000
SIZE_TARGET = 0.40
COLD_START_TARGET = 0.50

# The real handler: the image's CMD, exactly. Later events show warm-batch time and peak memory.
RUNTIME_CHILD = """
import json, sys, time
closure, code, output, *events = sys.argv[1:]
sys.path[:0] = [closure, code]
from lambda_function.app import lambda_handler
CHILD_CONTEXT

seconds = []
for path in events:
    event = json.load(open(path))
    started = time.perf_counter()
    result = lambda_handler(event, context)
    seconds.append(time.perf_counter() - started)
    first_event_done_at = first_event_done_at if seconds[1:] else time.time()
    assert result == {"batchItemFailures": []}, result
# VmHWM, not ru_maxrss: the latter keeps the forking parent's peak across exec.
maxrss_mb = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
json.dump({"event_seconds": seconds, "maxrss_mb": maxrss_mb, "first_event_done_at": first_event_done_at},
          open(output, "w"))
"""
RUNTIME_CHILD = RUNTIME_CHILD.replace("CHILD_CONTEXT", child_context_source())

# The usual MLflow handler: mlflow.pyfunc.load_model from S3, decode, predict, PutRecords.
MLFLOW_CHILD = """
import base64, json, os, sys, time
closure, output, event_path = sys.argv[1:]
sys.path[:0] = [closure]
import boto3
import mlflow.pyfunc

model = mlflow.pyfunc.load_model(os.environ["MODEL_LOCATION"])
kinesis = boto3.client("kinesis")
event = json.load(open(event_path))
rides = [json.loads(base64.b64decode(record["kinesis"]["data"])) for record in event["Records"]]
features = [
    {"PU_DO": f"{r['ride']['PULocationID']}_{r['ride']['DOLocationID']}", "trip_distance": r["ride"]["trip_distance"]}
    for r in rides
]
predictions = model.predict(features)
records = [
    {"Data": json.dumps({"model": "ride_duration_prediction_model", "version": model.metadata.run_id,
                         "prediction": {"ride_duration": float(p), "ride_id": r["ride_id"]}}).encode(),
     "PartitionKey": str(r["ride_id"])}
    for r, p in zip(rides, predictions)
]
response = kinesis.put_records(StreamName=os.environ["PREDICTIONS_STREAM_NAME"], Records=records)
assert response["FailedRecordCount"] == 0
first_event_done_at = time.time()
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
json.dump({"maxrss_mb": int(hwm.split()[1]) / 1024, "first_event_done_at": first_event_done_at}, open(output, "w"))
"""

# What both sides must pay: import scikit-learn, unpickle the local model file, predict once. The rest of
# each side's cold start is its own (runtime: botocore, powertools, pydantic, the S3 fetch, the write).
FLOOR_CHILD = """
import pickle, sys, time
closure, model_file, output = sys.argv[1:]
sys.path[:0] = [closure]
import sklearn.pipeline
with open(model_file, "rb") as handle:
    model = pickle.load(handle)
model.predict([{"PU_DO": "1_2", "trip_distance": 1.0}])
open(output, "w").write('{"first_event_done_at": %r}' % time.time())
"""


def mlflow_closure() -> Path:
    """Full MLflow (the version training uses) plus the same locked runtime packages."""
    pins = re.findall(r"^([A-Za-z0-9_.-]+==[^\s\\]+)", RUNTIME_LOCK.read_text(encoding="utf-8"), re.MULTILINE)
    mlflow = f"mlflow=={version('mlflow')}"
    return install_target("mlflow", f"{version('mlflow')}-{lock_hash()}", [mlflow, "--only-binary", ":all:", *pins])


def train_model(directory: Path) -> Path:
    """The linear model the tests use, trained on real TLC rides, saved by MLflow with a digest."""
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import Model

    from ride_scorer.core.features import features_from_columns
    from training.pipeline import DEFAULT_SERIALIZATION, build_pipeline

    frame = pd.read_parquet(ROOT / "data" / "green_tripdata_2021-01.parquet").head(TRAIN_ROWS)
    features = features_from_columns(frame["PULocationID"], frame["DOLocationID"], frame["trip_distance"])
    pipeline = build_pipeline("linear").fit(features, frame["duration"].astype(float).tolist())
    mlflow.sklearn.save_model(
        pipeline,
        str(directory),
        mlflow_model=Model(run_id=uuid.uuid4().hex),
        serialization_format=DEFAULT_SERIALIZATION,  # the format training publishes
    )
    write_digest(directory)
    return directory


def publish(model: Path, session: boto3.session.Session, endpoint: str, bucket: str) -> None:
    s3 = session.client("s3", endpoint_url=endpoint)
    for path in sorted(p for p in model.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, f"{MODEL_PREFIX}/{path.relative_to(model).as_posix()}")


def timed_child(arguments: list[str], environment: dict[str, str], output: Path) -> tuple[float, dict[str, Any]]:
    """Wall time from spawning the interpreter to the first event scored and written: the cold start a
    Lambda caller waits for. Interpreter teardown is left out (a Lambda process does not exit per event)."""
    started = time.time()
    subprocess.run([sys.executable, "-I", "-S", *arguments], env=environment, check=True, timeout=600)
    result = json.loads(output.read_text(encoding="utf-8"))
    return result["first_event_done_at"] - started, result


def child_environment(endpoint: str, resources: Resources, workdir: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "AWS_ENDPOINT_URL": endpoint,
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MODEL_LOCATION": f"s3://{resources.model_bucket}/{MODEL_PREFIX}",
        "PREDICTIONS_STREAM_NAME": resources.predictions_stream,
        "DEAD_LETTER_QUEUE_URL": resources.dead_letter_queue_url,
        "POWERTOOLS_SERVICE_NAME": "ride-scorer",
        "POWERTOOLS_METRICS_NAMESPACE": "RideScorer",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


def large_event(workdir: Path) -> Path:
    path = EVENTS / "large.json"
    if not path.exists():
        subprocess.run([sys.executable, str(EVENTS / "generate.py"), "--output", str(workdir)], check=True)
        path = workdir / "large.json"
    return path


def measure(repeats: int) -> dict[str, Any]:
    runtime, full = install_runtime_closure(), mlflow_closure()
    sizes = {"runtime_mb": folder_bytes(runtime) / 1e6, "mlflow_mb": folder_bytes(full) / 1e6}
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        with tempfile.TemporaryDirectory(prefix="ride-scorer-bench-") as temporary:
            workdir = Path(temporary)
            # provision() reaches the emulator through boto3's standard settings, as users do.
            os.environ.update(
                {
                    "AWS_ENDPOINT_URL": endpoint,
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1",
                }
            )
            session = boto3.session.Session(region_name="us-east-1")
            resources = provision(f"bench-{uuid.uuid4().hex[:8]}", session=session)
            model = train_model(workdir / "model")
            publish(model, session, endpoint, resources.model_bucket)
            environment = child_environment(endpoint, resources, workdir)
            code = workdir / "code"
            lay_out(ROOT / "Dockerfile", code)
            # As the Dockerfile does: bytecode compiled at build time, not on the first cold start.
            compileall.compile_dir(str(code), quiet=1)
            small, large = str(EVENTS / "small.json"), str(large_event(workdir))
            output = workdir / "child.json"
            runtime_runs, mlflow_runs, floor_runs = [], [], []
            floor = ["-c", FLOOR_CHILD, str(runtime), str(model / "model.pkl"), str(output)]
            for _ in range(repeats):  # interleaved, so load on the shared machine hits all alike
                floor_runs.append(timed_child(floor, environment, output)[0])
                runtime_runs.append(
                    timed_child(["-c", RUNTIME_CHILD, str(runtime), str(code), str(output), small], environment, output)
                )
                mlflow_runs.append(
                    timed_child(["-c", MLFLOW_CHILD, str(full), str(output), small], environment, output)
                )
            _, batch = timed_child(
                ["-c", RUNTIME_CHILD, str(runtime), str(code), str(output), small, large], environment, output
            )
    finally:
        server.stop()
    return {
        **sizes,
        "runtime_cold_start_s": statistics.median(seconds for seconds, _ in runtime_runs),
        "mlflow_cold_start_s": statistics.median(seconds for seconds, _ in mlflow_runs),
        "sklearn_floor_s": statistics.median(floor_runs),
        "runtime_cold_maxrss_mb": max(child["maxrss_mb"] for _, child in runtime_runs),
        "mlflow_cold_maxrss_mb": max(child["maxrss_mb"] for _, child in mlflow_runs),
        "warm_large_batch_records": 5000,
        "warm_large_batch_s": batch["event_seconds"][1],
        "large_batch_maxrss_mb": batch["maxrss_mb"],
        "repeats": repeats,
    }


def report(figures: dict[str, Any]) -> bool:
    size_ratio = figures["runtime_mb"] / figures["mlflow_mb"]
    start_ratio = figures["runtime_cold_start_s"] / figures["mlflow_cold_start_s"]
    size_ok, start_ok = size_ratio <= SIZE_TARGET, start_ratio <= COLD_START_TARGET
    print(f"runtime closure        {figures['runtime_mb']:8.1f} MB   full MLflow {figures['mlflow_mb']:8.1f} MB")
    print(f"  ratio                {size_ratio:8.2f}      target <= {SIZE_TARGET:.2f}  {'PASS' if size_ok else 'FAIL'}")
    print(
        f"cold start (median {figures['repeats']}) {figures['runtime_cold_start_s']:6.2f} s    "
        f"mlflow.pyfunc {figures['mlflow_cold_start_s']:6.2f} s"
    )
    print(
        f"  ratio                {start_ratio:8.2f}      "
        f"target <= {COLD_START_TARGET:.2f}  {'PASS' if start_ok else 'FAIL'}"
    )
    floor = figures["sklearn_floor_s"]
    print(
        f"  of which shared      {floor:6.2f} s    (import scikit-learn, unpickle, predict): runtime adds "
        f"{figures['runtime_cold_start_s'] - floor:.2f} s, mlflow.pyfunc {figures['mlflow_cold_start_s'] - floor:.2f} s"
    )
    print(
        f"peak RSS, cold start   {figures['runtime_cold_maxrss_mb']:8.1f} MB   "
        f"mlflow.pyfunc {figures['mlflow_cold_maxrss_mb']:8.1f} MB"
    )
    print(
        f"warm batch of {figures['warm_large_batch_records']} rides {figures['warm_large_batch_s']:6.2f} s, "
        f"peak RSS {figures['large_batch_maxrss_mb']:.1f} MB"
    )
    RESULTS.mkdir(exist_ok=True)
    document = {**figures, "size_ratio": size_ratio, "cold_start_ratio": start_ratio}
    (RESULTS / "cold_start.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return size_ok and start_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    sys.exit(0 if report(measure(args.repeats)) else 1)


if __name__ == "__main__":
    main()
