"""The backfill's output folders before Spark starts: without --overwrite, a folder that already exists is
refused in a second, not after Spark's start-up (tens of seconds) or after the scoring."""

from __future__ import annotations

import os
from typing import Any

from ride_scorer.adapters.aws_clients import client
from ride_scorer.columnar.locations import Location


class BackfillError(RuntimeError):
    """The run cannot finish (an input missing or unreadable, a column missing, an output in the way, a
    worker's model refused); the message is one line naming the cause."""


def refuse_existing(settings: Any, s3_client: Any = None) -> None:
    """Raise BackfillError naming the first of the rejects and output folders that exists (`settings` is a
    BackfillSettings): Spark would refuse it only when it reaches that write."""
    for location, name in ((settings.rejects, "rejects"), (settings.output, "output")):
        if exists(Location.parse(location), s3_client):
            raise BackfillError(f"{name} {location!r} already exists; pass --overwrite to replace it")


def exists(location: Location, s3_client: Any = None) -> bool:
    """A local file or folder (a dangling link too), or an S3 object of that key or any object under it."""
    if not location.is_s3:
        return os.path.lexists(location.path)
    s3 = s3_client or client("s3")
    try:
        for prefix in (location.path + "/", location.path):
            listed = s3.list_objects_v2(Bucket=location.bucket, Prefix=prefix, MaxKeys=1).get("Contents", [])
            if any(item["Key"] == location.path or item["Key"].startswith(location.path + "/") for item in listed):
                return True
    except Exception as error:  # botocore raises many types; all mean "cannot tell"
        raise BackfillError(f"cannot list {str(location)!r}: {' '.join(str(error).split())}") from error
    return False
