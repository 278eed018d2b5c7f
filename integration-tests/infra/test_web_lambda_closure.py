"""The web Lambda's dependency set is complete: with only the batch/HTTP image's lock installed and the image's
code laid out as Dockerfile.batch copies it (no .venv), the function's command starts. AWS's runtime client
(`python -m awslambdaric`, the ImageConfig EntryPoint) imports, and its handler loads a real model from S3
(moto's server) and answers the sample HTTP API and Function URL events.

This is what `docker build -f Dockerfile.batch` + a Lambda invoke would prove, without Docker or AWS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.image_contents import lay_out
from infra.runtime_closure import install_target, lock_hash
from infra.sam_translate import load_sam_template
from ride_scorer.core.model import load_model
from ride_scorer.core.prediction_records import prediction_record
from tests.shared.paths import ROOT
from tests.shared.web_events import WEB_EVENTS
from tools.local.context import child_context_source
from training.publish import PublishResult, publish_model

LOCK = ROOT / "requirements" / "batch-http.txt"
MODEL_NAME = "ride_duration_prediction_model"

# A fresh interpreter: -I ignores PYTHON* variables and the user site, -S skips site-packages, so the only
# third-party code it can import is what the lock installed. The handler is found as awslambdaric finds it.
CHILD = """
import importlib, json, sys
closure, code, output, handler_name, *events = sys.argv[1:]
sys.path[:0] = [closure, code]
allowed = (closure, code, sys.base_prefix)
import awslambdaric.__main__, awslambdaric.bootstrap
module_name, _, function_name = handler_name.rpartition(".")
handler = getattr(importlib.import_module(module_name), function_name)
CHILD_CONTEXT

results = [handler(json.load(open(path)), context) for path in events]
files = [getattr(module, "__file__", None) or "" for module in list(sys.modules.values())]
json.dump({
    "results": results,
    "site_packages": sorted({f for f in files if "site-packages" in f}),
    "outside": sorted({f for f in files if f and f != local_context.__file__ and not f.startswith(allowed)}),
}, open(output, "w"))
"""
CHILD = CHILD.replace("CHILD_CONTEXT", child_context_source("ride-scorer-web"))


@pytest.fixture(scope="module")
def closure() -> Path:
    """The lock installed as Dockerfile.batch installs it (hashes required, wheels only, no resolution)."""
    arguments = ["--require-hashes", "--no-deps", "--only-binary", ":all:", "-r", str(LOCK)]
    return install_target("batch-http", lock_hash(LOCK), arguments)


@pytest.fixture
def published_model(aws_env: Any, unique_prefix: str, trained_model_dir: Path) -> PublishResult:
    """The model in a bucket on moto with its digest, published by training's own publish step."""
    bucket = f"{unique_prefix}-models"
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket=bucket)
    return publish_model(trained_model_dir, bucket, run_id="web", s3_client=s3)


@pytest.mark.slow
def test_the_locked_image_alone_answers_the_sample_events(
    closure: Path, published_model: PublishResult, aws_env: Any, trained_model_dir: Path, tmp_path: Path
) -> None:
    code = tmp_path / "code"
    lay_out(ROOT / "Dockerfile.batch", code)
    web = load_sam_template(ROOT / "infra" / "templates" / "web.yaml")
    config = web["Resources"]["WebFunction"]["Properties"]["ImageConfig"]
    assert config["EntryPoint"] == ["python", "-m", "awslambdaric"]
    (handler_name,) = config["Command"]
    output = tmp_path / "child.json"
    environment = {  # what infra/templates/web.yaml gives the function, with the endpoint pointed at moto
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TMPDIR": str(tmp_path),
        "AWS_ENDPOINT_URL": aws_env.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": aws_env.region,
        "MODEL_LOCATION": published_model.model_location,
        "MODEL_SHA256": published_model.sha256,
        "MODEL_NAME": MODEL_NAME,
        "MAX_REQUEST_BYTES": "1048576",
    }
    events = [WEB_EVENTS / "http-api-proxy.json", WEB_EVENTS / "function-url.json"]
    command = [sys.executable, "-I", "-S", "-c", CHILD, str(closure), str(code), str(output), handler_name]
    subprocess.run(
        [*command, *map(str, events)], env=environment, cwd=tmp_path, check=True, capture_output=True, timeout=300
    )
    child = json.loads(output.read_text(encoding="utf-8"))

    assert child["site_packages"] == [], "the handler imported something from outside the locked closure"
    assert child["outside"] == []
    model = load_model(trained_model_dir)
    duration = float(model.regressor.predict([{"PU_DO": "130_205", "trip_distance": 3.66}])[0])
    for result in child["results"]:
        assert (result["statusCode"], result["headers"]["content-type"]) == (200, "application/json")
        assert json.loads(result["body"]) == prediction_record(MODEL_NAME, model.version, 256, duration)
