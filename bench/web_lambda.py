"""The web Lambda's handler in-process: the first event (settings read, model loaded, app built) and warm
requests of 1, 100 and 1,000 real rides as API Gateway HTTP API events (base64 bodies), per request.

This is the compute a request bills on Lambda at one full vCPU (1,769 MB or more), without the network to
API Gateway. docs/web_on_aws.md bases its cost figures on it. The model is the one `make serve` uses
(MODEL_LOCATION and MODEL_SHA256 if set, else the bundled default, trained on first use); figures depend on
the machine and its load.

    .venv/bin/python bench/web_lambda.py [--requests N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ride_scorer.http_service import aws_lambda  # noqa: E402
from tests.shared.lambda_context import lambda_context  # noqa: E402
from tests.shared.web_events import web_event  # noqa: E402
from tools.default_model import default_model_sha256, ensure_default_model  # noqa: E402


def rides(count: int) -> bytes:
    rows = pq.read_table(ROOT / "data" / "green_tripdata_2023-01.parquet").slice(0, count).to_pylist()
    keys = ("PULocationID", "DOLocationID", "trip_distance")
    return json.dumps([{"ride": {k: row[k] for k in keys}, "ride_id": i} for i, row in enumerate(rows)]).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="warm requests per size")
    args = parser.parse_args()
    if not os.environ.get("MODEL_LOCATION", "").strip():
        os.environ["MODEL_LOCATION"] = str(ensure_default_model())
        os.environ["MODEL_SHA256"] = default_model_sha256()
    context = lambda_context()
    first = web_event("http-api-proxy", rides(1))
    started = time.perf_counter()
    assert aws_lambda.handler(first, context)["statusCode"] == 200
    print(
        f"first event (settings, model load from a local folder, app): {1000 * (time.perf_counter() - started):.0f} ms"
    )
    for count in (1, 100, 1000):
        event = web_event("http-api-proxy", rides(count))
        times = []
        for _ in range(args.requests):
            started = time.perf_counter()
            response = aws_lambda.handler(event, context)
            times.append(time.perf_counter() - started)
            assert response["statusCode"] == 200, response["body"][:200]
        times.sort()
        p50, p99 = statistics.median(times), times[int(0.99 * (len(times) - 1))]
        figures = f"median {1000 * p50:.2f} ms, p99 {1000 * p99:.2f} ms ({args.requests} requests)"
        print(f"{count:>5} rides per request: {figures}")


if __name__ == "__main__":
    main()
