"""`python -m training train|publish`: one command to produce a model, one to roll it out.

Results go to stdout as KEY=VALUE lines, so a user can paste them into the Lambda's settings or a shell
(`eval "$(python -m training publish ...)"`); progress and MLflow's chatter go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ride_scorer.core.integrity import directory_digest
from training.data import TripDataError
from training.pipeline import DEFAULT_SERIALIZATION, SERIALIZATION_FORMATS, ModelKind
from training.publish import DEFAULT_PREFIX, PublishError, PublishResult, publish_model
from training.tracking import TrackingError, model_directory
from training.train import train

MODEL_KINDS: tuple[ModelKind, ...] = ("linear", "forest")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "train" and args.publish and not args.bucket:
        parser.error("train --publish needs --bucket")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        if args.command == "train":
            return _train(args)
        return _publish(args)
    except (TripDataError, TrackingError, PublishError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _train(args: argparse.Namespace) -> int:
    result = train(
        args.train,
        args.validate,
        kind=args.model,
        tracking_uri=args.tracking_uri,
        register=not args.no_register,
        serialization=args.serialization,
    )
    _print(RUN_ID=result.run_id, RMSE=f"{result.rmse:.4f}", MODEL_URI=result.model_uri, MODEL_DIR=result.model_dir)
    if result.registered_version:
        _print(REGISTERED_MODEL=f"ride-duration/{result.registered_version}")
    if args.publish:
        _print_published(publish_model(result.model_dir, args.bucket, args.prefix, run_id=result.run_id))
    else:
        # Unpublished, the local directory is itself a valid MODEL_LOCATION for a local scorer, pinned by
        # the same digest publishing would print.
        _print(MODEL_LOCATION=result.model_dir, MODEL_SHA256=directory_digest(result.model_dir))
    return 0


def _publish(args: argparse.Namespace) -> int:
    directory = model_directory(args.run_id, args.tracking_uri)
    _print(RUN_ID=args.run_id, MODEL_DIR=directory)
    _print_published(publish_model(directory, args.bucket, args.prefix, run_id=args.run_id))
    return 0


def _print_published(result: PublishResult) -> None:
    """MODEL_SHA256 is the pin: the scorer loads the model only with it, and `make deploy` requires it."""
    _print(MODEL_LOCATION=result.model_location, MODEL_SHA256=result.sha256)
    print(
        f"pin this model when deploying: make deploy MODEL_RUN_ID={result.run_id} MODEL_SHA256={result.sha256}",
        file=sys.stderr,
    )


def _print(**values: object) -> None:
    for key, value in values.items():
        print(f"{key}={value}", flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train_command = commands.add_parser("train", help="train, validate, log and register (optionally publish)")
    train_command.add_argument("--train", required=True, help="training month: local parquet file or s3://bucket/key")
    train_command.add_argument("--validate", required=True, help="validation month: local parquet or s3://bucket/key")
    train_command.add_argument("--model", choices=MODEL_KINDS, default="linear")
    train_command.add_argument(
        "--serialization",
        choices=SERIALIZATION_FORMATS,
        default=DEFAULT_SERIALIZATION,
        help="model file format (cloudpickle loads faster; skops loads only trusted types)",
    )
    train_command.add_argument("--no-register", action="store_true", help="log the run but do not register the model")
    train_command.add_argument("--publish", action="store_true", help="also upload the model to S3 (needs --bucket)")
    _add_s3_options(train_command, bucket_required=False)
    _add_tracking_option(train_command)

    publish = commands.add_parser(
        "publish", help="upload a run's model to S3 and print MODEL_LOCATION and MODEL_SHA256 (the pin)"
    )
    publish.add_argument("--run-id", required=True, help="the MLflow run whose model to publish")
    _add_s3_options(publish, bucket_required=True)
    _add_tracking_option(publish)
    return parser


def _add_s3_options(parser: argparse.ArgumentParser, bucket_required: bool) -> None:
    parser.add_argument("--bucket", required=bucket_required, help="S3 bucket the scorer reads models from")
    parser.add_argument(
        "--prefix", default=DEFAULT_PREFIX, help=f"key prefix; the run id is appended ({DEFAULT_PREFIX})"
    )


def _add_tracking_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else sqlite:///<project>/mlflow.db)",
    )
