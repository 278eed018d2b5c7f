"""Pruning botocore's service models keeps exactly the services the scorer calls, and refuses to run on a
folder that lacks one of them (a botocore upgrade that moved its data must not ship a broken image)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.prune_botocore import KEPT_SERVICES, main, prune_service_models
from tests.shared.paths import ROOT


def botocore_folder(root: Path, services: list[str]) -> Path:
    data = root / "botocore" / "data"
    for service in services:
        (data / service / "2020-01-01").mkdir(parents=True)
        (data / service / "2020-01-01" / "service-2.json.gz").write_bytes(b"model")
    (data / "endpoints.json").write_text("{}", encoding="utf-8")
    return root


def test_keeps_the_called_services_and_the_shared_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = botocore_folder(tmp_path, [*KEPT_SERVICES, "ec2", "dynamodb"])
    main([str(folder)])
    data = folder / "botocore" / "data"
    assert sorted(path.name for path in data.iterdir()) == sorted([*KEPT_SERVICES, "endpoints.json"])
    assert (data / "kinesis" / "2020-01-01" / "service-2.json.gz").read_bytes() == b"model"
    assert "removed 2 other service models" in capsys.readouterr().out


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
