"""`python -m training train|publish|models|promote`: produce a model, put it where the scorer reads it, see
the registry, choose the champion.

Results go to stdout as KEY=VALUE lines, so a user can paste them into the Lambda's settings or a shell
(`eval "$(python -m training publish ...)"`); progress, MLflow's chatter and promote's comparison go to
stderr. `models` prints its table on stdout: the table is its result.

Each command imports what it uses: `models` and `promote` read a local store without MLflow, scikit-learn
or matplotlib, and promote imports MLflow only to move the alias.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from training.pipeline import DEFAULT_SERIALIZATION, SERIALIZATION_FORMATS, ModelKind
from training.promotion import PromotionError
from training.registry_store import (
    CHALLENGER,
    CHAMPION,
    PROJECT_ROOT,
    REGISTERED_MODEL,
    StoredVersion,
    TrackingError,
    tracking_uri,
)

if TYPE_CHECKING:
    from training.publish import PublishResult

MODEL_KINDS: tuple[ModelKind, ...] = ("linear", "forest")
# The newest bundled month: the 2021 models train on 2021-01 and validate on 2021-02.
DEFAULT_HOLDOUT = PROJECT_ROOT / "data" / "green_tripdata_2023-02.parquet"
DEFAULT_PREFIX = "models/ride-duration"  # training.publish.DEFAULT_PREFIX, without importing boto3 for --help
EXIT_REFUSED = 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "train" and args.publish and not args.bucket:
        parser.error("train --publish needs --bucket")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # botocore's INFO lines ("Found credentials in environment variables.") are its own, not the run's progress.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    commands = {"train": _train, "publish": _publish, "models": _models, "promote": _promote}
    try:
        return commands[args.command](args)
    except (TrackingError, PromotionError, ValueError) as error:  # training.data's TripDataError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        from training.publish import PublishError  # imported already if publishing raised it

        if not isinstance(error, PublishError):
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2


def _train(args: argparse.Namespace) -> int:
    from ride_scorer.core.integrity import directory_digest
    from training.publish import publish_model
    from training.registry import ResolvedModel, client_for, record_publication
    from training.train import train

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
    from training.publish import publish_model
    from training.registry import client_for, record_publication, resolve

    model = resolve(args.model or args.run_id, args.tracking_uri)
    _print(RUN_ID=model.run_id, MODEL_DIR=model.model_dir)
    published = publish_model(model.model_dir, args.bucket, args.prefix, run_id=model.run_id)
    client, _ = client_for(args.tracking_uri)
    tagged = record_publication(client, model, *_location_and_pin(published))
    if tagged:
        _print(REGISTERED_MODEL=",".join(tagged))
    _print_published(published)
    return 0


def _models(args: argparse.Namespace) -> int:
    from training.registry_view import list_versions, versions_table

    store = tracking_uri(args.tracking_uri)
    versions = list_versions(store, args.name)
    if not versions:
        print(f"no versions of {args.name} in {store}: make train registers one", file=sys.stderr)
        return 0
    print(f"{args.name} in {store}: validation errors in minutes, each on its own validation month")
    print(versions_table(versions))
    return 0


def _promote(args: argparse.Namespace) -> int:
    """Show the two models side by side, on their validation months, on a held-out month and in the shadow;
    move `@champion` only when the candidate is not worse on the held-out month, or with --yes."""
    from training.promotion import check_held_out, compare_on_holdout
    from training.registry_view import list_versions, versions_table
    from training.shadow_metrics import read_shadow_metrics

    store = tracking_uri(args.tracking_uri)
    versions = list_versions(store, args.name)
    candidate = _find(versions, args.version, CHALLENGER)
    if candidate is None:
        wanted = f"/{args.version}" if args.version else f"@{CHALLENGER}"
        raise PromotionError(f"models:/{args.name}{wanted} is not in the registry of {store}")
    champion = _find(versions, None, CHAMPION)
    if champion is not None and champion.version == candidate.version:
        print(f"version {candidate.version} of {args.name} is already @{CHAMPION}: nothing to do", file=sys.stderr)
        return 0
    if champion is not None:
        check_held_out(args.holdout, (champion, candidate))
    _report(versions_table([version for version in (candidate, champion) if version is not None]))
    if champion is not None:
        comparison = compare_on_holdout(args.holdout, champion, candidate, store)
        _report("", comparison.table(), "", *read_shadow_metrics().lines(), "")
        if comparison.candidate_is_worse and not args.yes:
            print(
                f"error: not promoted: {comparison.verdict()}; promote it anyway with --yes (make promote YES=1)",
                file=sys.stderr,
            )
            return EXIT_REFUSED
        _report(f"promoting: {comparison.verdict()}{' (--yes)' if comparison.candidate_is_worse else ''}")
    from training.registry import promote  # imports MLflow: only to move the alias

    promotion = promote(candidate.version, args.name, store)
    _print(
        REGISTERED_MODEL=f"{promotion.name}/{promotion.version}",
        CHAMPION=f"models:/{promotion.name}@{CHAMPION}",
        PREVIOUS_CHAMPION="" if promotion.previous is None else f"{promotion.name}/{promotion.previous}",
    )
    return 0


def _find(versions: list[StoredVersion], version: str | None, alias: str) -> StoredVersion | None:
    """The version numbered `version`; without a number, the one with `alias`."""
    if version is not None:
        return next((stored for stored in versions if stored.version == version), None)
    return next((stored for stored in versions if alias in stored.aliases), None)


def _report(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr, flush=True)


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

    models = commands.add_parser("models", help="list the registered versions, their aliases and their errors")
    models.add_argument("--name", default=REGISTERED_MODEL, help=f"registered model ({REGISTERED_MODEL})")
    _add_tracking_option(models)

    promote_command = commands.add_parser(
        "promote",
        help=f"compare a version with @{CHAMPION} on a held-out month, then point @{CHAMPION} at it "
        f"(default: the @{CHALLENGER})",
    )
    promote_command.add_argument("--version", help=f"the version to promote (default: the one aliased @{CHALLENGER})")
    promote_command.add_argument("--name", default=REGISTERED_MODEL, help=f"registered model ({REGISTERED_MODEL})")
    promote_command.add_argument(
        "--holdout",
        default=str(DEFAULT_HOLDOUT.relative_to(PROJECT_ROOT)),
        help="a month neither model was trained or validated on: local parquet or s3://bucket/key (%(default)s)",
    )
    promote_command.add_argument(
        "--yes", action="store_true", help="promote even when the version is worse on the held-out month"
    )
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
