"""`make sam-env` (python -m infra.sam_env) writes the function's environment for a published model, and
that environment works: the handler, given exactly the variables of function.env (what `docker run
--env-file` passes), scores events/poison.json against moto's server, predictions out and dead letters in
the queue. Docker itself is not available here; this is everything short of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.provision import provision
from infra.sam_env import main
from lambda_function import app
from tests.shared.emulators import Endpoint
from tests.shared.lambda_context import lambda_context
from tests.shared.paths import EVENTS
from training.publish import publish_model


def read_env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines())


def stream_data(kinesis, stream: str) -> list[dict]:
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return [json.loads(record["Data"]) for record in records]


def test_generated_environment_scores_the_sample_event(
    aws_env: Endpoint,
    unique_prefix: str,
    trained_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    resources = provision(prefix=unique_prefix)
    published = publish_model(trained_model_dir, resources.model_bucket, s3_client=aws_env.client("s3"))

    code = main(
        [
            *("--run-id", published.run_id, "--sha256", published.sha256, "--prefix", unique_prefix),
            *("--endpoint", aws_env.url, "--output", str(tmp_path)),
        ]
    )

    assert code == 0
    assert f"wrote {tmp_path / 'env.json'} and {tmp_path / 'function.env'}" in capsys.readouterr().out
    variables = json.loads((tmp_path / "env.json").read_text(encoding="utf-8"))["ScorerFunction"]
    assert variables["MODEL_LOCATION"] == published.model_location
    assert variables["MODEL_SHA256"] == published.sha256
    container = read_env_file(tmp_path / "function.env")
    assert container == variables | {
        "AWS_ENDPOINT_URL": aws_env.url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }

    for name, value in container.items():
        monkeypatch.setenv(name, value)
    app.reset()
    try:
        response = app.lambda_handler(json.loads((EVENTS / "poison.json").read_text()), lambda_context())
    finally:
        app.reset()

    assert response == {"batchItemFailures": []}
    assert len(stream_data(aws_env.client("kinesis"), resources.predictions_stream)) == 3
    sqs = aws_env.client("sqs")
    messages = sqs.receive_message(QueueUrl=resources.dead_letter_queue_url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run-id", "abc", "--sha256", "3f0c"], "error: MODEL_SHA256 '3f0c' must be 64 lowercase hexadecimal"),
        (["--run-id", "../x", "--sha256", "0" * 64], "error: run id '../x' is not a published run id"),
    ],
)
def test_bad_run_or_digest_is_one_line(
    aws_env: Endpoint, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
):
    assert main([*args, "--output", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(message)
    assert not list(tmp_path.iterdir())
