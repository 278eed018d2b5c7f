"""Read back what the scorer wrote to a real (emulated) endpoint, the way a consumer would."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambda_function.integrity import write_digest


def read_stream(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    """Every record on every shard, from the start, in shard order."""
    records: list[dict[str, Any]] = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            records.extend(page["Records"])
            if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                break
            iterator = page.get("NextShardIterator")
    return records


def drain_queue(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def upload_model(s3: Any, model_dir: Path, bucket: str, prefix: str, work: Path) -> str:
    """Publish a model directory with its digest, as the training CLI does; returns MODEL_LOCATION."""
    staged = shutil.copytree(model_dir, work / "staged-model")
    write_digest(staged)
    for path in sorted(p for p in staged.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(staged).as_posix()}")
    return f"s3://{bucket}/{prefix}"


@dataclass
class LambdaContextStub:
    """The context object Lambda passes; powertools reads these attributes for its log keys."""

    function_name: str = "ride-scorer"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ride-scorer"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/ride-scorer"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000
