"""Reading a TLC month from an `s3://` URI through AWS_ENDPOINT_URL (moto's server), and the error that
names a missing object. The local-file cases are in tests/unit/training/test_data.py."""

import re

import pytest

from tests.shared.trips import real_rows, records
from training.data import TripDataError, read_trips


def test_reads_s3_uri_through_aws_endpoint_url(aws_env, unique_prefix, tmp_path):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket=unique_prefix)
    local = real_rows("2023-02", [0, 1], tmp_path)
    s3.upload_file(str(local), unique_prefix, "tlc/green_tripdata_2023-02.parquet")
    uri = f"s3://{unique_prefix}/tlc/green_tripdata_2023-02.parquet"
    assert read_trips(uri).to_dict("records") == records(local)
    with pytest.raises(TripDataError, match=re.escape(f"s3://{unique_prefix}/tlc/missing.parquet")):
        read_trips(f"s3://{unique_prefix}/tlc/missing.parquet")
