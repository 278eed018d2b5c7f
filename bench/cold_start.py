"""Runtime size and cold start of the Lambda image's dependency set against a floor and full MLflow's.

Why: the image carries only what scoring needs (numpy and the scoring form, no scikit-learn); MLflow's
model format stays the contract, MLflow itself does not ship. This measures whether that pays: the installed
size of the locked runtime closure, and a cold start (a new process -> model fetched from S3 and loaded ->
first event scored and written) of the real handler against two others run interleaved in the same run:
- the floor: a fresh interpreter that imports numpy and botocore, makes the scorer's three clients
  (S3, Kinesis, SQS) and writes one PutRecords, the least any Python scorer of this stream must do;
- the usual `mlflow.pyfunc.load_model` handler.
Each runs in an isolated interpreter (`python -I -S`) that sees only its own closure, against the same moto
server on 127.0.0.1, the same model and the same event, with the same environment: the Lambda image's ENV
(OPENBLAS_NUM_THREADS=1, which spares the MLflow side's numpy as much) and the function's settings. It also
records the memory and time figures template.yaml's MemorySize and Timeout are chosen from: peak RSS and
wall and CPU time of a warm event of 10,000 real rides (January 2023 TLC green taxi), and from those the
Lambda cost per million rides.

Goals (issue 24), each a ratio measured in this run or a size: cold start (median) <= 1.5x the floor's and
<= 0.15x the mlflow.pyfunc path's; closure <= 90 MB; peak RSS with a 10,000-ride event <= 100 MB. Exits 1
if one is missed, naming it on the last line.

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
from datetime import UTC
from importlib.metadata import version
from pathlib import Path
from typing import Any

import boto3
import yaml
from moto.server import ThreadedMotoServer

from infra.image_contents import environment as image_environment
from infra.image_contents import lay_out
from infra.provision import Resources, provision
from infra.runtime_closure import (
    RUNTIME_LOCK,
    folder_bytes,
    install_runtime_closure,
    install_target,
    lock_hash,
)
from ride_scorer.core.integrity import directory_digest, write_digest
from tools.event_factory import KinesisRecordSpec, kinesis_event, kinesis_record, ride_event_bytes
from tools.local.context import child_context_source

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
RESULTS = ROOT / "bench-results"
TEMPLATE = ROOT / "template.yaml"
LARGE_EVENT_RIDES = ROOT / "data" / "green_tripdata_2023-01.parquet"
LARGE_EVENT_RECORDS = 10_000
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/ride-scorer-rides"
FIRST_SEQUENCE_NUMBER = 49590338271490256608559692538361571095921575989136588898
MODEL_PREFIX = "models/ride-duration/production"
TRAIN_ROWS = 10_000
FLOOR_RATIO_GOAL = 1.5
MLFLOW_RATIO_GOAL = 0.15
CLOSURE_GOAL_MB = 90.0
LARGE_EVENT_RSS_GOAL_MB = 100.0
# Lambda list prices, x86, us-east-1.
USD_PER_GB_SECOND = 0.0000166667
USD_PER_MILLION_REQUESTS = 0.20
# Lambda gives a function one full vCPU at 1,769 MB, a proportional share below.
FULL_VCPU_MB = 1769
# An event source mapping's batch is at most 10,000 records and at most 6 MB (the invocation payload limit).
LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024

# The real handler: the image's CMD, exactly. Later events show warm-batch time, CPU time and peak memory.
# CPU time is the whole process's (all threads), as Lambda bills it.
RUNTIME_CHILD = """
import json, sys, time
closure, code, output, *events = sys.argv[1:]
sys.path[:0] = [closure, code]
from lambda_function.app import lambda_handler
CHILD_CONTEXT

seconds, cpu_seconds = [], []
for path in events:
    event = json.load(open(path))
    started, cpu_started = time.perf_counter(), time.process_time()
    result = lambda_handler(event, context)
    seconds.append(time.perf_counter() - started)
    cpu_seconds.append(time.process_time() - cpu_started)
    first_event_done_at = first_event_done_at if seconds[1:] else time.time()
    assert result == {"batchItemFailures": []}, result
# VmHWM, not ru_maxrss: the latter keeps the forking parent's peak across exec.
maxrss_mb = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
json.dump({"event_seconds": seconds, "event_cpu_seconds": cpu_seconds, "maxrss_mb": maxrss_mb,
           "first_event_done_at": first_event_done_at}, open(output, "w"))
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

# The floor: what any Python scorer of this stream pays before its first write, with nothing of its own:
# numpy and botocore imported, the three clients made from one session, one PutRecords.
FLOOR_CHILD = """
import os, sys, time
closure, output = sys.argv[1:]
sys.path[:0] = [closure]
import numpy
import botocore.session
session = botocore.session.get_session()
s3, kinesis, sqs = (session.create_client(name) for name in ("s3", "kinesis", "sqs"))
kinesis.put_records(
    StreamName=os.environ["PREDICTIONS_STREAM_NAME"], Records=[{"Data": b"{}", "PartitionKey": "floor"}]
)
open(output, "w").write('{"first_event_done_at": %r}' % time.time())
"""


def mlflow_closure() -> Path:
    """Full MLflow (the version training uses) plus the same locked runtime packages, and the scikit-learn and
    SciPy training uses (MLflow's sklearn flavour needs them; the runtime's lock no longer has them)."""
    pins = re.findall(r"^([A-Za-z0-9_.-]+==[^\s\\]+)", RUNTIME_LOCK.read_text(encoding="utf-8"), re.MULTILINE)
    pins += [f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "scipy", "cloudpickle")]
    return install_target("mlflow", f"{version('mlflow')}-{lock_hash()}", ["--only-binary", ":all:", *pins])


def train_model(directory: Path) -> Path:
    """The linear model the tests use, trained on real TLC rides, saved by MLflow with its scoring form (as
    training's save_model writes it) and a digest."""
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import Model

    from ride_scorer.core.features import features_from_columns
    from training.pipeline import DEFAULT_SERIALIZATION, build_pipeline
    from training.scoring_form import write_scoring_form

    frame = pd.read_parquet(ROOT / "data" / "green_tripdata_2021-01.parquet").head(TRAIN_ROWS)
    features = features_from_columns(frame["PULocationID"], frame["DOLocationID"], frame["trip_distance"])
    pipeline = build_pipeline("linear").fit(features, frame["duration"].astype(float).tolist())
    mlflow.sklearn.save_model(
        pipeline,
        str(directory),
        mlflow_model=Model(run_id=uuid.uuid4().hex),
        serialization_format=DEFAULT_SERIALIZATION,  # the format training publishes
    )
    write_scoring_form(pipeline, directory)
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
    # The children's own chatter (MLflow's notes on the model's requirements, 15 times) is shown only if one fails.
    child = subprocess.run(
        [sys.executable, "-I", "-S", *arguments], env=environment, capture_output=True, text=True, timeout=600
    )
    if child.returncode != 0:
        sys.stderr.write(child.stdout + child.stderr)
        raise subprocess.CalledProcessError(child.returncode, child.args)
    result = json.loads(output.read_text(encoding="utf-8"))
    return result["first_event_done_at"] - started, result


def child_environment(endpoint: str, resources: Resources, workdir: Path) -> dict[str, str]:
    return image_environment(ROOT / "Dockerfile") | {
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


def large_event(workdir: Path, count: int = LARGE_EVENT_RECORDS) -> tuple[Path, int]:
    """A Kinesis event of the first `count` real rides of January 2023, built as Lambda delivers it.

    Ids, sequence numbers and arrival times follow events/generate.py (arrival = the real pickup time)."""
    import pyarrow.parquet as pq

    columns = ["lpep_pickup_datetime", "PULocationID", "DOLocationID", "trip_distance"]
    rows = pq.read_table(LARGE_EVENT_RIDES, columns=columns).slice(0, count).to_pylist()
    records = []
    for position, ride in enumerate(rows):
        ride_id = f"green-2023-01-{position:06d}"
        data = ride_event_bytes(ride_id, int(ride["PULocationID"]), int(ride["DOLocationID"]), ride["trip_distance"])
        spec = KinesisRecordSpec(
            data=data,
            partition_key=ride_id,
            sequence_number=str(FIRST_SEQUENCE_NUMBER + position),
            # Naive timestamps in the file are UTC, as pandas reads them in events/generate.py.
            approximate_arrival_timestamp=round(ride["lpep_pickup_datetime"].replace(tzinfo=UTC).timestamp(), 3),
        )
        records.append(kinesis_record(spec, stream_arn=STREAM_ARN))
    path = workdir / f"rides-{len(records)}.json"
    path.write_text(json.dumps(kinesis_event(records)), encoding="utf-8")
    return path, len(records)


def memory_size_mb(template: Path = TEMPLATE) -> int:
    """The scorer's MemorySize from template.yaml (the stack also holds the pre-traffic hook's function): the
    MemorySize parameter's default, which make deploy passes unless SCORER_MEMORY_SIZE is given."""
    template_document = yaml.safe_load(template.read_text(encoding="utf-8"))
    memory = template_document["Resources"]["ScorerFunction"]["Properties"]["MemorySize"]
    if isinstance(memory, dict):
        memory = template_document["Parameters"][memory["Ref"]]["Default"]
    return int(memory)


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
            environment = child_environment(endpoint, resources, workdir) | {"MODEL_SHA256": directory_digest(model)}
            code = workdir / "code"
            lay_out(ROOT / "Dockerfile", code)
            # As the Dockerfile does: bytecode compiled at build time, not on the first cold start.
            compileall.compile_dir(str(code), quiet=1)
            large_path, large_records = large_event(workdir)
            small, large = str(EVENTS / "small.json"), str(large_path)
            output = workdir / "child.json"
            runtime_runs, mlflow_runs, floor_runs = [], [], []
            floor = ["-c", FLOOR_CHILD, str(runtime), str(output)]
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
            large_path_bytes = large_path.stat().st_size
    finally:
        server.stop()
    return {
        **sizes,
        "runtime_cold_start_s": statistics.median(seconds for seconds, _ in runtime_runs),
        "mlflow_cold_start_s": statistics.median(seconds for seconds, _ in mlflow_runs),
        "floor_cold_start_s": statistics.median(floor_runs),
        "runtime_cold_maxrss_mb": max(child["maxrss_mb"] for _, child in runtime_runs),
        "mlflow_cold_maxrss_mb": max(child["maxrss_mb"] for _, child in mlflow_runs),
        "warm_large_batch_records": large_records,
        "warm_large_batch_bytes": large_path_bytes,
        "warm_large_batch_s": batch["event_seconds"][1],
        "warm_large_batch_cpu_s": batch["event_cpu_seconds"][1],
        "large_batch_maxrss_mb": batch["maxrss_mb"],
        "repeats": repeats,
    }


def cost(figures: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    """Lambda cost per million rides from the CPU time per record of the warm large batch.

    Lambda bills duration, and below 1,769 MB a function gets that fraction of one vCPU, so CPU-bound work
    lasts cpu_time * 1769 / MemorySize. The wall time measured here is mostly the emulator answering
    PutRecords in this same machine, which is not what AWS bills; the waits on Kinesis and SQS in AWS add
    to the duration and are best read from the function's own Duration metric."""
    records = figures["warm_large_batch_records"]
    wall, cpu = figures["warm_large_batch_s"] / records, figures["warm_large_batch_cpu_s"] / records
    billed_per_record = cpu * max(1.0, FULL_VCPU_MB / memory_mb)
    gb_seconds = memory_mb / 1024 * billed_per_record * 1e6
    requests_usd = 1e6 / records * USD_PER_MILLION_REQUESTS / 1e6
    return {
        "memory_size_mb": memory_mb,
        "wall_s_per_record": wall,
        "cpu_s_per_record": cpu,
        "billed_s_per_record": billed_per_record,
        "gb_s_per_million_rides": gb_seconds,
        "compute_usd_per_million_rides": gb_seconds * USD_PER_GB_SECOND,
        "requests_usd_per_million_rides": requests_usd,
        "usd_per_million_rides": gb_seconds * USD_PER_GB_SECOND + requests_usd,
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(figures: dict[str, Any]) -> list[str]:
    """Print each figure next to its goal; return the goals missed."""
    floor, runtime, mlflow = (figures[f"{side}_cold_start_s"] for side in ("floor", "runtime", "mlflow"))
    checks = {
        "cold start / floor": (runtime / floor, FLOOR_RATIO_GOAL),
        "cold start / mlflow.pyfunc": (runtime / mlflow, MLFLOW_RATIO_GOAL),
        "closure MB": (figures["runtime_mb"], CLOSURE_GOAL_MB),
        "peak RSS MB, 10,000-ride event": (figures["large_batch_maxrss_mb"], LARGE_EVENT_RSS_GOAL_MB),
    }
    missed = [f"{name} {value:.2f} > {goal:g}" for name, (value, goal) in checks.items() if value > goal]
    costs = cost(figures, memory_size_mb())
    print(
        f"runtime closure        {figures['runtime_mb']:8.1f} MB   goal <= {CLOSURE_GOAL_MB:g} MB  "
        f"{verdict(figures['runtime_mb'] <= CLOSURE_GOAL_MB)}   (full MLflow {figures['mlflow_mb']:.1f} MB)"
    )
    print(
        f"cold start, median of {figures['repeats']}: runtime {runtime:.2f} s, floor {floor:.2f} s "
        f"(numpy + botocore, three clients, one write), mlflow.pyfunc {mlflow:.2f} s"
    )
    for name in ("cold start / floor", "cold start / mlflow.pyfunc"):
        value, goal = checks[name]
        print(f"  {name:<26} {value:6.3f}   goal <= {goal:g}  {verdict(value <= goal)}")
    print(
        f"peak RSS, cold start   {figures['runtime_cold_maxrss_mb']:8.1f} MB   "
        f"mlflow.pyfunc {figures['mlflow_cold_maxrss_mb']:8.1f} MB"
    )
    rss = figures["large_batch_maxrss_mb"]
    print(
        f"warm batch of {figures['warm_large_batch_records']} rides ({figures['warm_large_batch_bytes'] / 1e6:.1f} MB "
        f"event) {figures['warm_large_batch_s']:.2f} s wall, {figures['warm_large_batch_cpu_s']:.2f} s CPU, "
        f"peak RSS {rss:.1f} MB   goal <= {LARGE_EVENT_RSS_GOAL_MB:g} MB  {verdict(rss <= LARGE_EVENT_RSS_GOAL_MB)}"
    )
    if figures["warm_large_batch_bytes"] > LAMBDA_PAYLOAD_LIMIT_BYTES:
        fits = int(figures["warm_large_batch_records"] * LAMBDA_PAYLOAD_LIMIT_BYTES / figures["warm_large_batch_bytes"])
        print(
            f"  note: the event exceeds Lambda's {LAMBDA_PAYLOAD_LIMIT_BYTES / 1e6:.0f} MB invocation payload; "
            f"a real Kinesis batch of these rides holds at most ~{fits}"
        )
    print(
        f"cost per million rides at MemorySize {costs['memory_size_mb']} MB: CPU {costs['cpu_s_per_record'] * 1e3:.3f} "
        f"ms/ride, billed {costs['billed_s_per_record'] * 1e3:.3f} ms/ride at {costs['memory_size_mb']}/{FULL_VCPU_MB} "
        f"of a vCPU (wall here {costs['wall_s_per_record'] * 1e3:.3f} ms/ride, mostly the emulator)"
    )
    print(
        f"  {costs['gb_s_per_million_rides']:.1f} GB-s, ${costs['usd_per_million_rides']:.4f} "
        f"(compute ${costs['compute_usd_per_million_rides']:.4f} at ${USD_PER_GB_SECOND:.10f}/GB-s + requests "
        f"${costs['requests_usd_per_million_rides']:.6f} at {figures['warm_large_batch_records']} rides/invocation, "
        f"x86 us-east-1)"
    )
    RESULTS.mkdir(exist_ok=True)
    document = {
        **figures,
        **costs,
        "ratios": {name: value for name, (value, _) in checks.items()},
        "goals": {name: goal for name, (_, goal) in checks.items()},
        "missed": missed,
    }
    (RESULTS / "cold_start.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    missed = report(measure(args.repeats))
    if missed:
        print("missed: " + "; ".join(missed))
        sys.exit(1)


if __name__ == "__main__":
    main()
