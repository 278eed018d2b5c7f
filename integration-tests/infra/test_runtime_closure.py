"""The image's dependency set is complete: with only the locked requirements and a copy of
lambda_function/ on the path (no .venv), the handler imports, loads a real model from S3 and scores the
sample events against a real moto server; and it does so with scikit-learn, SciPy, joblib and the pickle
serializers made impossible to import, and unpickling made impossible (numpy imports `pickle` itself, for
`ndarray.dump`, so the module is there but its loaders raise).

This is what `docker build` + `sam local invoke` would prove, without a Docker engine.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.image_contents import environment as image_environment
from infra.image_contents import lay_out
from infra.provision import Resources, provision
from infra.runtime_closure import install_runtime_closure
from ride_scorer.core.model import load_model
from ride_scorer.core.rides import RideEvent, read_kinesis_data
from tests.shared.paths import EVENTS, ROOT
from tools.local.context import child_context_source
from tools.readers import read_dead_letters, read_stream
from training.publish import PublishResult, publish_model

MODEL_NAME = "ride_duration_prediction_model"

# Runs in a fresh interpreter: -I ignores PYTHON* variables and the user site, -S skips site-packages, so
# the only third-party code it can import is what the lock installed.
CHILD = """
import json, sys
closure, code, output, *events = sys.argv[1:]
sys.path[:0] = [closure, code]
allowed = (closure, code, sys.base_prefix)

BLOCKED = ("sklearn", "scipy", "joblib", "cloudpickle", "skops")
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: the Lambda scores without it")
sys.meta_path.insert(0, Blocker())
import pickle, _pickle
def no_unpickling(*args, **kwargs):
    raise RuntimeError("unpickling is blocked: the Lambda reads no pickle")
for module in (pickle, _pickle):
    module.load = module.loads = module.Unpickler = no_unpickling

from lambda_function.app import lambda_handler
CHILD_CONTEXT

results = [lambda_handler(json.load(open(path)), context) for path in events]
files = [getattr(module, "__file__", None) or "" for module in list(sys.modules.values())]
json.dump({
    "results": results,
    "site_packages": sorted({f for f in files if "site-packages" in f}),
    "outside": sorted({f for f in files if f and f != local_context.__file__ and not f.startswith(allowed)}),
    "unused": sorted({name.split(".")[0] for name in sys.modules} & {"mlflow", "boto3", "s3transfer", *BLOCKED}),
}, open(output, "w"))
"""
CHILD = CHILD.replace("CHILD_CONTEXT", child_context_source())


@pytest.fixture(scope="module")
def closure() -> Path:
    return install_runtime_closure()


@pytest.fixture
def published_model(aws_env: Any, trained_model_dir: Path) -> tuple[Resources, PublishResult]:
    """Infra from infra/templates/resources.yaml on moto, and the model published by training's own publish step."""
    resources = provision(f"closure-{os.urandom(3).hex()}", session=aws_env.session())
    published = publish_model(
        trained_model_dir, resources.model_bucket, run_id="production", s3_client=aws_env.client("s3")
    )
    return resources, published


def expected_predictions(event_path: Path, model_dir: Path, version: str) -> list[tuple[str, dict[str, Any]]]:
    """(partition key, record) the scorer must write for the valid rides of an event, in order."""
    model = load_model(model_dir)
    rides = []
    for item in json.loads(event_path.read_text(encoding="utf-8"))["Records"]:
        ride = read_kinesis_data(item["kinesis"]["data"], 16 * 1024)
        if isinstance(ride, RideEvent):
            rides.append((ride, item["kinesis"]["sequenceNumber"]))
    durations = model.predict([ride.ride.features() for ride, _ in rides])
    return [
        (
            str(ride.ride_id),
            {
                "model": MODEL_NAME,
                "version": version,
                "prediction": {"ride_duration": duration, "ride_id": ride.ride_id},
                "source_sequence_number": sequence_number,
            },
        )
        for (ride, sequence_number), duration in zip(rides, durations, strict=True)
    ]


@pytest.mark.slow
def test_locked_runtime_alone_scores_the_sample_events(
    closure: Path,
    published_model: tuple[Resources, PublishResult],
    aws_env: Any,
    trained_model_dir: Path,
    tmp_path: Path,
) -> None:
    resources, published = published_model
    code = tmp_path / "code"
    lay_out(ROOT / "Dockerfile", code)
    output = tmp_path / "child.json"
    environment = image_environment(ROOT / "Dockerfile") | {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TMPDIR": str(tmp_path),
        "AWS_ENDPOINT_URL": aws_env.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": aws_env.region,
        "MODEL_LOCATION": published.model_location,
        "MODEL_SHA256": published.sha256,
        "MODEL_NAME": MODEL_NAME,
        "PREDICTIONS_STREAM_NAME": resources.predictions_stream,
        "DEAD_LETTER_QUEUE_URL": resources.dead_letter_queue_url,
        "POWERTOOLS_SERVICE_NAME": "ride-scorer",
        "POWERTOOLS_METRICS_NAMESPACE": "RideScorer",
    }
    events = [EVENTS / "small.json", EVENTS / "poison.json"]
    subprocess.run(
        [sys.executable, "-I", "-S", "-c", CHILD, str(closure), str(code), str(output), *map(str, events)],
        env=environment,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=300,
    )
    child = json.loads(output.read_text(encoding="utf-8"))

    assert child["results"] == [{"batchItemFailures": []}, {"batchItemFailures": []}]
    assert child["site_packages"] == [], "the handler imported something from outside the locked closure"
    assert child["outside"] == []
    # Cold start: the scorer makes plain botocore clients; boto3 would also import s3transfer (~55 ms).
    assert child["unused"] == []

    version = load_model(trained_model_dir).version
    expected = [item for event in events for item in expected_predictions(event, trained_model_dir, version)]
    written = [
        (record.partition_key, json.loads(record.data))
        for record in read_stream(aws_env.client("kinesis"), resources.predictions_stream)
    ]
    assert [key for key, _ in written] == [key for key, _ in expected]
    assert len(written) == 10 + 3
    assert [got for _, got in written] == [want for _, want in expected]

    letters = sorted(
        read_dead_letters(aws_env.client("sqs"), resources.dead_letter_queue_url),
        key=lambda letter: letter["source"]["partition_key"],
    )
    poison = {
        item["kinesis"]["partitionKey"]: item for item in json.loads((EVENTS / "poison.json").read_text())["Records"]
    }
    assert [(letter["source"]["partition_key"], letter["reason_code"]) for letter in letters] == [
        ("bad-base64", "invalid_base64"),
        ("missing-distance", "invalid_schema"),
        ("negative-distance", "invalid_schema"),
        ("not-json", "invalid_json"),
        ("too-large", "payload_too_large"),
    ]
    for letter in letters:
        record = poison[letter["source"]["partition_key"]]
        assert letter["data"] == record["kinesis"]["data"]
        assert letter["source"]["sequence_number"] == record["kinesis"]["sequenceNumber"]
    assert base64.b64decode(poison["not-json"]["kinesis"]["data"]) == b"ride 43 -> 151, 1.01 miles"
