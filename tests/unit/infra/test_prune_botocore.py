"""Pruning botocore's service models keeps exactly the services the scorer calls, and refuses to run on a
folder that lacks one of them (a botocore upgrade that moved its data must not ship a broken image); the
kept models are slimmed to what a client reads. That a slimmed botocore still calls S3, Kinesis and SQS is
integration-tests/infra/test_runtime_closure.py's to show: the handler runs on exactly this folder there."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from infra.prune_botocore import KEPT_SERVICES, main, prune_service_models, slim_kept_models
from tests.shared.paths import ROOT

SERVICE_MODEL = {
    "documentation": "<p>Long prose.</p>",
    "shapes": {"Key": {"type": "string", "documentation": "<p>More.</p>"}},
    "clientContextParams": {"Accelerate": {"type": "boolean", "documentation": "botocore indexes this key"}},
}


def botocore_folder(root: Path, services: list[str]) -> Path:
    data = root / "botocore" / "data"
    for service in services:
        (data / service / "2020-01-01").mkdir(parents=True)
        (data / service / "2020-01-01" / "service-2.json.gz").write_bytes(
            gzip.compress(json.dumps(SERVICE_MODEL).encode())
        )
        (data / service / "2020-01-01" / "paginators-1.json").write_text('{"pagination": {}}', encoding="utf-8")
    partition = {"partition": "aws", "services": {service: {"endpoints": {}} for service in services}}
    (data / "endpoints.json").write_text(json.dumps({"partitions": [partition], "version": 3}), encoding="utf-8")
    return root


def test_keeps_the_called_services_and_the_shared_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = botocore_folder(tmp_path, [*KEPT_SERVICES, "ec2", "dynamodb"])
    main([str(folder)])
    data = folder / "botocore" / "data"
    assert sorted(path.name for path in data.iterdir()) == sorted([*KEPT_SERVICES, "endpoints.json"])
    assert "removed 2 other service models" in capsys.readouterr().out


def test_kept_models_are_plain_json_without_documentation_and_endpoints_list_only_them(tmp_path: Path) -> None:
    folder = botocore_folder(tmp_path, [*KEPT_SERVICES, "ec2"])
    prune_service_models(folder)
    assert slim_kept_models(folder) > 0
    data = folder / "botocore" / "data"
    version = data / "s3" / "2020-01-01"
    assert sorted(path.name for path in version.iterdir()) == ["paginators-1.json", "service-2.json"]
    assert json.loads((version / "service-2.json").read_text(encoding="utf-8")) == {
        "documentation": "",
        "shapes": {"Key": {"type": "string", "documentation": ""}},
        "clientContextParams": {"Accelerate": {"type": "boolean", "documentation": ""}},
    }
    endpoints = json.loads((data / "endpoints.json").read_text(encoding="utf-8"))
    assert endpoints["version"] == 3
    assert sorted(endpoints["partitions"][0]["services"]) == sorted(KEPT_SERVICES)


def test_refuses_a_folder_without_a_kept_service(tmp_path: Path) -> None:
    folder = botocore_folder(tmp_path, ["kinesis", "s3", "ec2"])
    with pytest.raises(FileNotFoundError, match="no model for sqs, sts"):
        prune_service_models(folder)
    assert (folder / "botocore" / "data" / "ec2").is_dir(), "nothing is removed when the check fails"


def test_refuses_a_folder_without_botocore(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="is botocore installed"):
        prune_service_models(tmp_path)


def test_the_scorer_only_makes_clients_the_image_keeps() -> None:
    """Every service the Lambda path names must survive pruning (the stream's wiring is where clients are chosen)."""
    wiring = ROOT / "ride_scorer" / "stream" / "wiring.py"
    source = wiring.read_text(encoding="utf-8")
    named = set(re.findall(r'api_client\("([a-z0-9-]+)"', source))
    assert named == {"kinesis", "s3", "sqs"}
    assert named <= set(KEPT_SERVICES)
