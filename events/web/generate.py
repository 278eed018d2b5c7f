"""Write the web Lambda's sample events: an API Gateway HTTP API event made by the AWS SAM CLI and a Lambda
Function URL event built from AWS's documented example, both a POST /predict of one real ride.

    python events/web/generate.py [--sam .cache/sam-cli/bin/sam] [--output DIR]

The HTTP API event is exactly what `sam local generate-event apigateway http-api-proxy` prints (its body
base64-encoded, `isBase64Encoded: true`, as API Gateway may send it); the Function URL event has the same
payload format 2.0 with a plain-text body and IAM caller details (the example in the Lambda developer guide,
"Invoking Lambda function URLs", request payload). Tests adapt method, path, headers and body per case;
`sam local invoke WebFunction -t infra/templates/web.yaml -e events/web/http-api-proxy.json` uses them as they are.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WEB_EVENTS = Path(__file__).resolve().parent
SAM = ROOT / ".cache" / "sam-cli" / "bin" / "sam"
RIDE = {"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 256}
BODY = json.dumps(RIDE, separators=(",", ":"))


def http_api_event(sam: Path = SAM) -> dict[str, Any]:
    """What the SAM CLI generates for POST /predict with the sample ride."""
    environment = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    command = [str(sam), "local", "generate-event", "apigateway", "http-api-proxy", "--path", "predict"]
    result = subprocess.run(
        [*command, "--method", "POST", "--body", BODY], env=environment, capture_output=True, text=True, check=True
    )
    event: dict[str, Any] = json.loads(result.stdout)
    return event


def function_url_event() -> dict[str, Any]:
    """The Lambda developer guide's Function URL request payload (AWS_IAM auth), for POST /predict."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/predict",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "host": "abcdefghijklmnopqrstuvwxyz0123456.lambda-url.us-east-1.on.aws",
            "user-agent": "agent",
            "x-amzn-trace-id": "Root=1-5e6b1c9e-7bd8a6e2c4a0c8c0a0a0a0a0",
            "x-forwarded-for": "123.123.123.123",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdefghijklmnopqrstuvwxyz0123456",
            "authorizer": {
                "iam": {
                    "accessKey": "AKIAIOSFODNN7EXAMPLE",
                    "accountId": "111122223333",
                    "callerId": "AIDACKCEVSQ6C2EXAMPLE",
                    "cognitoIdentity": None,
                    "principalOrgId": None,
                    "userArn": "arn:aws:iam::111122223333:user/example-user",
                    "userId": "AIDACKCEVSQ6C2EXAMPLE",
                }
            },
            "domainName": "abcdefghijklmnopqrstuvwxyz0123456.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghijklmnopqrstuvwxyz0123456",
            "http": {
                "method": "POST",
                "path": "/predict",
                "protocol": "HTTP/1.1",
                "sourceIp": "123.123.123.123",
                "userAgent": "agent",
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1583348638390,
        },
        "body": BODY,
        "isBase64Encoded": False,
    }


def write(path: Path, event: dict[str, Any]) -> None:
    path.write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the web Lambda's sample events.")
    parser.add_argument("--sam", type=Path, default=SAM, help="the SAM CLI (make sam-cli installs it)")
    parser.add_argument("--output", type=Path, default=WEB_EVENTS)
    args = parser.parse_args()
    write(args.output / "http-api-proxy.json", http_api_event(args.sam))
    write(args.output / "function-url.json", function_url_event())


if __name__ == "__main__":
    main()
