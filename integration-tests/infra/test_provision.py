"""`python -m infra.provision` names resources as CloudFormation would in the account whose credentials it
runs with (STS GetCallerIdentity), on moto's server: here an account reached by assuming a role in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.shared.emulators import Endpoint
from tests.shared.paths import ROOT

OTHER_ACCOUNT = "111122223333"


def provision_cli(*args: str, endpoint: str, credentials: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env |= {"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1", **credentials}
    return subprocess.run(
        [sys.executable, "-m", "infra.provision", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_bucket_is_named_with_the_callers_account(moto_endpoint: Endpoint, unique_prefix: str):
    role = f"arn:aws:iam::{OTHER_ACCOUNT}:role/deployer"
    assumed = moto_endpoint.client("sts").assume_role(RoleArn=role, RoleSessionName="provision")["Credentials"]
    credentials = {
        "AWS_ACCESS_KEY_ID": assumed["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": assumed["SecretAccessKey"],
        "AWS_SESSION_TOKEN": assumed["SessionToken"],
    }

    result = provision_cli("--prefix", unique_prefix, endpoint=moto_endpoint.url, credentials=credentials)

    assert result.returncode == 0, result.stderr
    resources = json.loads(result.stdout)
    assert resources["model_bucket"] == f"{unique_prefix}-models-{OTHER_ACCOUNT}-us-east-1"
    assert f"/{OTHER_ACCOUNT}/{unique_prefix}-dead-letters" in resources["dead_letter_queue_url"]
