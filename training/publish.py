"""Put a logged MLflow model in S3 where the scorer's MODEL_LOCATION points, and return its digest.

The scorer loads what it downloads, so the digest is computed here, from the exact files uploaded, and
returned for the deployment to pin (MODEL_SHA256): the scorer loads nothing without that pin. A manifest
of the files (`model.sha256`) is published beside them so that the scorer can refuse any object it does
not list; it is checked against the pin, never trusted in its place.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from ride_scorer.adapters.aws_clients import client
from ride_scorer.core.integrity import MLFLOW_LOAD_METADATA, ModelIntegrityError, write_digest
from ride_scorer.core.model import read_version
from tools.local.endpoints import explain
from training.scoring_form import check_before_publishing

DEFAULT_PREFIX = "models/ride-duration"
MLMODEL = "MLmodel"


class PublishError(RuntimeError):
    """The model could not be put in S3; the message names the bucket and key."""


@dataclass(frozen=True)
class PublishResult:
    model_location: str
    sha256: str
    run_id: str = ""
    keys: tuple[str, ...] = ()


def publish_model(
    model_dir: Path,
    bucket: str,
    prefix: str = DEFAULT_PREFIX,
    run_id: str | None = None,
    s3_client: Any = None,
) -> PublishResult:
    """Upload `model_dir` to s3://bucket/prefix/<run_id>/ and return that location and the model's digest.

    Nothing is uploaded unless the model's scoring form gives its pipeline's own predictions exactly
    (training/scoring_form.py). MLmodel goes last: the scorer treats a prefix without MLmodel as "no model",
    so a reader never sees a half-uploaded model as complete. Objects left there by an earlier publish of the
    same run are removed.
    """
    version = run_id or read_version(Path(model_dir))
    key_prefix = "/".join(part for part in (prefix.strip("/"), version) if part)
    s3 = s3_client or client("s3")
    with tempfile.TemporaryDirectory(prefix="ride-duration-publish-") as work:
        staged = Path(shutil.copytree(model_dir, Path(work) / "model"))
        for name in MLFLOW_LOAD_METADATA:  # MLflow's, left by a loader; not covered by the digest
            (staged / name).unlink(missing_ok=True)
        check_before_publishing(staged)
        try:  # the loader's own name rule (core.integrity): nothing is published that it would refuse
            digest = write_digest(staged)
        except ModelIntegrityError as error:
            raise PublishError(f"cannot publish {model_dir}: {error}".replace(str(staged), str(model_dir))) from None
        files = sorted((p for p in staged.rglob("*") if p.is_file()), key=lambda p: p.name == MLMODEL)
        keys = tuple(f"{key_prefix}/{path.relative_to(staged).as_posix()}" for path in files)
        for path, key in zip(files, keys, strict=True):
            try:
                s3.upload_file(str(path), bucket, key)
            except (BotoCoreError, ClientError) as error:  # no endpoint, no credentials: the tools' one line
                raise PublishError(f"cannot upload s3://{bucket}/{key}: {explain(error, s3, 'S3')}") from error
            except S3UploadFailedError as error:
                raise PublishError(f"cannot upload s3://{bucket}/{key}: {error}") from error
    _remove_stale(s3, bucket, key_prefix, set(keys))
    return PublishResult(model_location=f"s3://{bucket}/{key_prefix}", sha256=digest, run_id=version, keys=keys)


def _remove_stale(s3: Any, bucket: str, key_prefix: str, published: set[str]) -> None:
    """A file left from an earlier upload would change the directory the scorer downloads and its digest."""
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix + "/")
        stale = [item["Key"] for page in pages for item in page.get("Contents", []) if item["Key"] not in published]
        for start in range(0, len(stale), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in stale[start : start + 1000]]})
    except (BotoCoreError, ClientError) as error:
        raise PublishError(f"cannot clean s3://{bucket}/{key_prefix}/ of older files: {error}") from error
