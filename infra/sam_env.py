"""Write the function's environment for running its image locally: `sam local invoke --env-vars` and
`docker run --env-file`.

The values depend on the run that was published and its digest, and on the account the resources were
named with, so they are generated rather than committed: a committed file could only hold placeholders,
and a placeholder reaches the function as a wrong value. Names come from infra/templates/resources.yaml as
`infra.provision` resolves them, so they are the ones it created.

    python -m infra.sam_env --run-id RUN --sha256 DIGEST --endpoint http://localstack:4566

`--endpoint` is the AWS endpoint as the function's container reaches it (LocalStack's container on a Docker
network); without it the function uses AWS.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.provision import TEMPLATE, caller_account, load_template, resolved_resources
from tools.local.endpoints import AwsUnavailable, explain, tool_client

FUNCTION = "ScorerFunction"  # the logical id in template.yaml: SAM matches --env-vars overrides by it
DEFAULT_MODEL_PREFIX = "models/ride-duration"
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "events"
# LocalStack takes any credentials; these are the ones its documentation uses.
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
_DIGEST = re.compile(r"[0-9a-f]{64}")
_RUN_ID = re.compile(r"[A-Za-z0-9_.-]+")


def function_variables(
    *,
    prefix: str,
    run_id: str,
    sha256: str,
    account: str,
    region: str,
    endpoint: str | None = None,
    model_prefix: str = DEFAULT_MODEL_PREFIX,
    template: dict[str, Any] | None = None,
) -> dict[str, str]:
    """The variables template.yaml gives the function, with the values the stack would give it.

    Only variables the template declares: `sam local invoke` ignores an override of any other. The queue
    URL is written as the function reaches the queue: SQS's own form on AWS, the endpoint's
    `/<account>/<queue>` form on an emulator (LocalStack resolves either).
    """
    if not _RUN_ID.fullmatch(run_id):
        raise ValueError(f"run id {run_id!r} is not a published run id (letters, digits, _ . -)")
    if not _DIGEST.fullmatch(sha256):
        raise ValueError(f"MODEL_SHA256 {sha256!r} must be 64 lowercase hexadecimal characters (a SHA-256 digest)")
    resources = resolved_resources(template or load_template(TEMPLATE), prefix, account, region)
    queue = resources["DeadLetterQueue"][1]["QueueName"]
    queue_host = endpoint.rstrip("/") if endpoint else f"https://sqs.{region}.amazonaws.com"
    return {
        "MODEL_LOCATION": f"s3://{resources['ModelBucket'][1]['BucketName']}/{model_prefix.strip('/')}/{run_id}",
        "MODEL_NAME": "ride_duration_prediction_model",
        "MODEL_SHA256": sha256,
        "PREDICTIONS_STREAM_NAME": resources["PredictionsStream"][1]["Name"],
        "DEAD_LETTER_QUEUE_URL": f"{queue_host}/{account}/{queue}",
        "POWERTOOLS_SERVICE_NAME": "ride-scorer-local",
        "POWERTOOLS_METRICS_NAMESPACE": "RideScorerLocal",
    }


def container_variables(variables: dict[str, str], region: str, endpoint: str | None) -> dict[str, str]:
    """What `docker run --env-file` needs besides: the region, and on an emulator its endpoint and test
    credentials (on AWS, pass your own with `-e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY ...`)."""
    extra = {"AWS_DEFAULT_REGION": region}
    if endpoint:
        extra |= {"AWS_ENDPOINT_URL": endpoint, **EMULATOR_CREDENTIALS}
    return variables | extra


def write(output: Path, variables: dict[str, str], container: dict[str, str]) -> tuple[Path, Path]:
    output.mkdir(parents=True, exist_ok=True)
    sam_file, docker_file = output / "env.json", output / "function.env"
    sam_file.write_text(json.dumps({FUNCTION: variables}, indent=2) + "\n", encoding="utf-8")
    docker_file.write_text("".join(f"{name}={value}\n" for name, value in container.items()), encoding="utf-8")
    return sam_file, docker_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.sam_env",
        description="Write events/env.json (sam local invoke --env-vars) and events/function.env (docker run "
        "--env-file) for a published model. The account is the caller's, as for python -m infra.provision.",
    )
    parser.add_argument("--run-id", required=True, help="the run make publish-model published")
    parser.add_argument("--sha256", required=True, help="the digest make publish-model printed")
    parser.add_argument("--prefix", default="ride-scorer", help="resource name prefix, as given to infra.provision")
    parser.add_argument("--model-prefix", default=DEFAULT_MODEL_PREFIX)
    parser.add_argument(
        "--endpoint", default="", help="AWS endpoint as the function's container reaches it (default: AWS itself)"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="folder for env.json and function.env")
    args = parser.parse_args(argv)
    endpoint = args.endpoint.strip() or None
    sts = None
    try:
        sts = tool_client("sts")
        region = sts.meta.region_name
        variables = function_variables(
            prefix=args.prefix,
            run_id=args.run_id,
            sha256=args.sha256,
            account=caller_account(),
            region=region,
            endpoint=endpoint,
            model_prefix=args.model_prefix,
        )
    except (ValueError, AwsUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:  # the account names the bucket: it asks STS who is calling
        print(f"error: {explain(error, sts, 'STS (GetCallerIdentity: the account names the bucket)')}", file=sys.stderr)
        return 2
    sam_file, docker_file = write(args.output, variables, container_variables(variables, region, endpoint))
    location, queue = variables["MODEL_LOCATION"], variables["DEAD_LETTER_QUEUE_URL"]
    print(f"wrote {sam_file} and {docker_file}: model {location}, dead letters {queue}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
