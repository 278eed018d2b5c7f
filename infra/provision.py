"""Create the resources of infra/templates/resources.yaml on an emulator (moto, LocalStack) or a sandbox account.

CloudFormation deploys that template to AWS; locally there is no CloudFormation engine we can rely on,
so this reads the same file and makes the same streams, bucket and queues with boto3. One source of
truth: a resource added to the template is created here too, or this fails naming its type.

Names follow the template, ${AWS::AccountId} included: it is the caller's account as STS reports it
(GetCallerIdentity, which needs no permission), so a sandbox account gets its own bucket name, LocalStack
000000000000 and moto 123456789012.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from ride_scorer.adapters.aws_clients import client
from tools.local.endpoints import explain

TEMPLATE = Path(__file__).parent / "templates" / "resources.yaml"
# Resources that have no meaning on a local emulator run: images are only pushed for a real deployment, and
# the model bucket's policy denies everything but TLS, which a plain-http emulator endpoint never is.
SKIPPED_LOCALLY = {"AWS::ECR::Repository", "AWS::S3::BucketPolicy"}


@dataclass(frozen=True)
class Resources:
    rides_stream: str
    predictions_stream: str
    model_bucket: str
    dead_letter_queue_url: str
    on_failure_queue_url: str


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a CloudFormation template")
    return document


def resolve(value: Any, parameters: dict[str, Any]) -> Any:
    """Resolve the few intrinsics the template uses (Ref, Fn::Sub, Fn::If on IsProvisioned)."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return parameters.get(argument)
        if key == "Fn::Sub":
            text = str(argument)
            for name, parameter in parameters.items():
                text = text.replace("${" + name + "}", str(parameter))
            return text
        if key == "Fn::If":
            condition, when_true, when_false = argument
            chosen = when_true if parameters.get(f"Condition:{condition}") else when_false
            return resolve(chosen, parameters)
    if isinstance(value, dict):
        return {key: resolve(item, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, parameters) for item in value]
    return value


def caller_account(session: Any = None) -> str:
    """The account CloudFormation would substitute for ${AWS::AccountId}: the one whose credentials we use."""
    return str(client("sts", session).get_caller_identity()["Account"])


def resolved_resources(
    template: dict[str, Any], prefix: str, account: str, region: str, shard_count: int = 1
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each resource's type and properties as CloudFormation would resolve them for this prefix, account and
    region: what `provision` creates, and where `infra.sam_env` reads the names the function is given."""
    parameters: dict[str, Any] = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
    parameters.update(
        {
            "Prefix": prefix,
            "ShardCount": shard_count,
            "StreamMode": "PROVISIONED",
            "Condition:IsProvisioned": True,
            "AWS::AccountId": account,
            "AWS::Region": region,
        }
    )
    return {
        logical_id: (resource["Type"], resolve(resource.get("Properties", {}), parameters))
        for logical_id, resource in template["Resources"].items()
    }


def provision(
    prefix: str = "ride-scorer",
    shard_count: int = 1,
    session: Any = None,
    template_path: Path = TEMPLATE,
    timeout: float = 60.0,
) -> Resources:
    """Create what is missing (an existing stream, bucket or queue is kept), so it can be run again."""
    template = load_template(template_path)
    kinesis, s3, sqs = (client(name, session) for name in ("kinesis", "s3", "sqs"))
    resources = resolved_resources(
        template, prefix, caller_account(session), kinesis.meta.region_name, shard_count=shard_count
    )
    names: dict[str, str] = {}
    for logical_id, (kind, properties) in resources.items():
        if kind in SKIPPED_LOCALLY:
            continue
        if kind == "AWS::Kinesis::Stream":
            names[logical_id] = _create_stream(kinesis, properties, timeout)
        elif kind == "AWS::S3::Bucket":
            names[logical_id] = _create_bucket(s3, properties)
        elif kind == "AWS::SQS::Queue":
            names[logical_id] = _create_queue(sqs, properties)
        else:
            raise ValueError(f"{template_path}: resource {logical_id} of type {kind} cannot be created locally")
    return Resources(
        rides_stream=names["RidesStream"],
        predictions_stream=names["PredictionsStream"],
        model_bucket=names["ModelBucket"],
        dead_letter_queue_url=names["DeadLetterQueue"],
        on_failure_queue_url=names["OnFailureQueue"],
    )


def _create_stream(kinesis: Any, properties: dict[str, Any], timeout: float) -> str:
    name = properties["Name"]
    try:
        kinesis.create_stream(StreamName=name, ShardCount=int(properties.get("ShardCount") or 1))
    except kinesis.exceptions.ResourceInUseException:
        pass
    deadline = time.monotonic() + timeout
    while True:
        status = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
        if status == "ACTIVE":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"stream {name} still {status} after {timeout}s")
        time.sleep(0.1)
    hours = int(properties.get("RetentionPeriodHours", 24))
    if hours > 24:
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=hours)
    return str(name)


def _create_bucket(s3: Any, properties: dict[str, Any]) -> str:
    name = properties["BucketName"]
    region = s3.meta.region_name
    arguments: dict[str, Any] = {"Bucket": name}
    if region and region != "us-east-1":
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**arguments)
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass
    if "VersioningConfiguration" in properties:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=properties["VersioningConfiguration"])
    if "PublicAccessBlockConfiguration" in properties:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"]
        )
    return str(name)


def _create_queue(sqs: Any, properties: dict[str, Any]) -> str:
    attributes = {}
    if "MessageRetentionPeriod" in properties:
        attributes["MessageRetentionPeriod"] = str(properties["MessageRetentionPeriod"])
    return str(sqs.create_queue(QueueName=properties["QueueName"], Attributes=attributes)["QueueUrl"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create ride-scorer's resources on the endpoint boto3 points at.")
    parser.add_argument("--prefix", default="ride-scorer")
    parser.add_argument("--shards", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        resources = provision(args.prefix, args.shards)
    except (BotoCoreError, ClientError) as error:
        print(f"error: {explain(error, None, f'the resources of {args.prefix!r}')}", file=sys.stderr)
        return 2
    except TimeoutError as error:
        endpoint = os.environ.get("AWS_ENDPOINT_URL") or "AWS's own endpoints"
        print(f"error: could not provision {args.prefix!r} at {endpoint}: {error}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(resources), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
