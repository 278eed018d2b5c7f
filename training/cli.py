"""`python -m training train|publish|promote`: produce a model, put it where the scorer reads it, choose the champion.

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
from training.registry import CHALLENGER, CHAMPION, ResolvedModel, client_for, promote, record_publication, resolve
from training.tracking import REGISTERED_MODEL, TrackingError
from training.train import train

MODEL_KINDS: tuple[ModelKind, ...] = ("linear", "forest")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "train" and args.publish and not args.bucket:
        parser.error("train --publish needs --bucket")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # botocore's INFO lines ("Found credentials in environment variables.") are its own, not the run's progress.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "promote":
            return _promote(args)
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
        _print(
            REGISTERED_MODEL=f"{REGISTERED_MODEL}/{result.registered_version}",
            MODEL_ALIASES=",".join(result.aliases),
        )
    if args.publish:
        published = publish_model(result.model_dir, args.bucket, args.prefix, run_id=result.run_id)
        if result.registered_version:
            client, _ = client_for(result.tracking_uri)
            model = ResolvedModel(result.run_id, result.model_dir, REGISTERED_MODEL, result.registered_version)
            record_publication(client, model, *_location_and_pin(published))
        _print_published(published)
    else:
        # Unpublished, the local directory is itself a valid MODEL_LOCATION for a local scorer, pinned by
        # the same digest publishing would print.
        _print(MODEL_LOCATION=result.model_dir, MODEL_SHA256=directory_digest(result.model_dir))
    return 0


def _publish(args: argparse.Namespace) -> int:
    """The model named by a run id or a registry reference; its registry version(s) get the location and pin."""
    model = resolve(args.model or args.run_id, args.tracking_uri)
    _print(RUN_ID=model.run_id, MODEL_DIR=model.model_dir)
    published = publish_model(model.model_dir, args.bucket, args.prefix, run_id=model.run_id)
    client, _ = client_for(args.tracking_uri)
    tagged = record_publication(client, model, *_location_and_pin(published))
    if tagged:
        _print(REGISTERED_MODEL=",".join(tagged))
    _print_published(published)
    return 0


def _promote(args: argparse.Namespace) -> int:
    promotion = promote(args.version, args.name, args.tracking_uri)
    _print(
        REGISTERED_MODEL=f"{promotion.name}/{promotion.version}",
        CHAMPION=f"models:/{promotion.name}@{CHAMPION}",
        PREVIOUS_CHAMPION="" if promotion.previous is None else f"{promotion.name}/{promotion.previous}",
    )
    return 0


def _location_and_pin(published: PublishResult) -> tuple[str, str]:
    return published.model_location, published.sha256


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
        "publish",
        help="upload a model to S3, print MODEL_LOCATION and MODEL_SHA256 (the pin), tag its registry version",
    )
    which = publish.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--model",
        metavar="REF",
        help=f"a run id, models:/{REGISTERED_MODEL}/<version> or models:/{REGISTERED_MODEL}@<alias> (e.g. @{CHAMPION})",
    )
    which.add_argument("--run-id", help="the MLflow run whose model to publish (same as --model <run id>)")
    _add_s3_options(publish, bucket_required=True)
    _add_tracking_option(publish)

    promote_command = commands.add_parser(
        "promote", help=f"point @{CHAMPION} at a registered version (default: the @{CHALLENGER})"
    )
    promote_command.add_argument("--version", help=f"the version to promote (default: the one aliased @{CHALLENGER})")
    promote_command.add_argument("--name", default=REGISTERED_MODEL, help=f"registered model ({REGISTERED_MODEL})")
    _add_tracking_option(promote_command)
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
