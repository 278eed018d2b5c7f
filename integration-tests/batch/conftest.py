"""Fixtures for the batch job against S3 on moto's server: a bucket holding a real TLC month, and the
trained test model pinned in the environment as a deployment pins it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.shared.emulators import Endpoint
from tests.shared.paths import DATA

MONTH_KEY = "rides/2023-01.parquet"


@dataclass(frozen=True)
class RidesBucket:
    s3: Any
    name: str

    def uri(self, key: str) -> str:
        return f"s3://{self.name}/{key}"

    def objects(self) -> dict[str, bytes]:
        """Every object in the bucket with its bytes: what a user would find there after the run."""
        listed = self.s3.list_objects_v2(Bucket=self.name).get("Contents", [])
        return {item["Key"]: self.s3.get_object(Bucket=self.name, Key=item["Key"])["Body"].read() for item in listed}


@pytest.fixture
def rides_bucket(aws_env: Endpoint, unique_prefix: str, pinned_model: Path) -> RidesBucket:
    """A fresh bucket with the published 2023-01 month at `rides/2023-01.parquet`."""
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket=unique_prefix)
    s3.put_object(Bucket=unique_prefix, Key=MONTH_KEY, Body=(DATA / "green_tripdata_2023-01.parquet").read_bytes())
    return RidesBucket(s3, unique_prefix)


INCOMING = "incoming/"


@pytest.fixture
def incoming_bucket(aws_env: Endpoint, unique_prefix: str, pinned_model: Path) -> RidesBucket:
    """A fresh bucket with two small real slices of 2023-01 under `incoming/` (one a folder deeper), as a
    day's drop of files would land, and a `_SUCCESS` marker that is not a parquet file."""
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket=unique_prefix)
    month = pq.read_table(DATA / "green_tripdata_2023-01.parquet")
    for key, rows in {"2023-01-01.parquet": (0, 200), "day2/2023-01-02.parquet": (200, 150)}.items():
        body = io.BytesIO()
        pq.write_table(month.slice(*rows), body)
        s3.put_object(Bucket=unique_prefix, Key=INCOMING + key, Body=body.getvalue())
    s3.put_object(Bucket=unique_prefix, Key=INCOMING + "_SUCCESS", Body=b"")
    return RidesBucket(s3, unique_prefix)
