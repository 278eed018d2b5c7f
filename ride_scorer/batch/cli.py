"""The batch job's command line: `python -m ride_scorer.batch` (console script `ride-scorer-batch`).

    python -m ride_scorer.batch --input PATH [--output PATH] [--rejects PATH] [--id-column NAME]
    python -m ride_scorer.batch --input-prefix PREFIX --output-prefix PREFIX [--rescore]

It turns the arguments into a `job.BatchJob` (or a `prefix.PrefixJob`), checks every location once before
the model is loaded (`job.check_locations`), loads the pinned model and runs the job; failures are one
`error:` line (exit 1), bad arguments exit 2.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Any

from ride_scorer.adapters.aws_clients import client
from ride_scorer.adapters.model_store import STARTUP_ERRORS, load_model_from
from ride_scorer.batch.files import BatchIOError, default_rejects_location
from ride_scorer.batch.job import (
    DEFAULT_CHUNK_ROWS,
    BatchInputError,
    BatchJob,
    BatchLocationError,
    check_locations,
    score_file,
)
from ride_scorer.batch.ledger import model_identity
from ride_scorer.batch.prefix import PrefixJob, run_prefix
from ride_scorer.columnar.command_line import fail, positive_int
from ride_scorer.columnar.locations import Location, LocationError
from ride_scorer.core.model import RideDurationModel
from ride_scorer.core.settings import ConfigError, ModelSettings

# Where one file's predictions go without --output: a folder `.gitignore` ignores.
DEFAULT_OUTPUT_FOLDER = ".cache/batch"
NO_MODEL = (
    "no model: pass --model DIR|s3://bucket/prefix and --model-sha256 DIGEST (or set MODEL_LOCATION and "
    "MODEL_SHA256); `make batch BATCH_INPUT=...` picks the registered ride-duration@champion, else the bundled "
    "default model, and says which"
)


def opened_as(text: str) -> str:
    """The spelling the job opens: a `file:` URI as its local path, an S3 URI (s3a://, repeated slashes) in
    its canonical form (`columnar.locations`); a plain local path as the user wrote it, so that messages name
    it as given (comparisons still resolve it)."""
    location = Location.parse(text)
    if location.is_s3 or text.lower().startswith("file:"):
        return str(location)
    return text


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ride_scorer.batch",
        description="Score a parquet file of rides with the streaming model (--model and --model-sha256, or "
        "MODEL_LOCATION, MODEL_SHA256 and MODEL_NAME from the environment). Locations are local paths, file: URIs "
        "or s3:// (s3a://) URIs; see docs/batch_and_http.md.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="parquet file of rides, e.g. a TLC month as published")
    source.add_argument("--input-prefix", help="s3://bucket/prefix/ or a local folder: score every *.parquet under it")
    destination = parser.add_mutually_exclusive_group()
    destination.add_argument(
        "--output", help=f"parquet file of predictions to write (default: {DEFAULT_OUTPUT_FOLDER}/<input name>)"
    )
    destination.add_argument("--output-prefix", help="where --input-prefix's predictions/, rejects/ and markers/ go")
    parser.add_argument("--rescore", action="store_true", help="with --input-prefix: score files already scored too")
    parser.add_argument("--rejects", help="parquet file of rows that cannot be scored (default: <output>.rejects)")
    parser.add_argument(
        "--id-column", help="column holding the ride id (default: none, the 0-based row number is the ride_id)"
    )
    parser.add_argument("--model", help="model directory or s3:// prefix (default: $MODEL_LOCATION)")
    parser.add_argument("--model-sha256", help="the model's pinned digest (default: $MODEL_SHA256)")
    parser.add_argument("--chunk-rows", type=positive_int, default=DEFAULT_CHUNK_ROWS, help="rows per chunk")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (e.g. in scheduled jobs)")
    args = parser.parse_args(argv)
    if (args.input_prefix is None) != (args.output_prefix is None) or (args.input is None and args.output):
        parser.error("--input goes with --output, --input-prefix with --output-prefix")
    if args.input is not None and args.output is None:
        args.output = default_output(args.input)
    if args.input_prefix is not None and args.rejects is not None:
        parser.error("--rejects is for one --input; with --input-prefix rejects go under --output-prefix")
    if args.input is not None and args.rescore:
        parser.error("--rescore is for --input-prefix; one --input is always scored")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when the file was scored (rejects included); 1 when it could not be, with one `error:` line
    and neither output written; 2 on bad arguments, including files that collide, refused before anything
    is read."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    if args.input_prefix is not None:
        return main_prefix(args)
    try:
        source, output = opened_as(args.input), opened_as(args.output)
        rejects = opened_as(args.rejects) if args.rejects else default_rejects_location(output)
    except LocationError as error:
        return fail(error, code=2)
    job = BatchJob(
        input=source,
        output=output,
        rejects=rejects,
        id_column=args.id_column,
        chunk_rows=args.chunk_rows,
        progress=not args.no_progress,
    )
    try:
        check_locations(job, ("--input", "--output", "--rejects" if args.rejects else "the default --rejects"))
    except BatchLocationError as error:
        return fail(error, code=2)
    except BatchIOError as error:
        return fail(error)
    s3_client = functools.cache(lambda: client("s3"))
    try:
        with _stop_on_sigterm():
            settings, model = _load_model(args)
            summary = score_file(job, model, settings.model_name, s3_client)
    except (*STARTUP_ERRORS, BatchIOError, BatchInputError) as error:  # type: ignore[misc]
        return fail(error)
    except KeyboardInterrupt:
        return fail("stopped before the end (interrupted); nothing was written")
    summary.report()
    return 0


def main_prefix(args: argparse.Namespace) -> int:
    """`--input-prefix`: exit 0 when every file was scored or skipped; 1 when any failed (one `error:` line
    each, the others still scored) or nothing could start (one line); 2 when the prefixes overlap."""
    try:
        job = PrefixJob(Location.parse(args.input_prefix), Location.parse(args.output_prefix), args.rescore)
    except LocationError as error:
        return fail(error, code=2)
    if job.input_prefix.overlaps(job.output_prefix):
        return fail(
            f"--output-prefix {str(job.output_prefix)!r} and --input-prefix {str(job.input_prefix)!r} "
            "overlap: the outputs would be listed as inputs",
            code=2,
        )
    s3_client = functools.cache(lambda: client("s3"))

    def score_one(
        source: str, output: str, rejects: str, written: dict[str, str], expected: Mapping[str, str]
    ) -> dict[str, Any]:
        progress = not args.no_progress
        one = BatchJob(source, output, rejects, args.id_column, args.chunk_rows, progress, expected=expected)
        check_locations(one)
        return asdict(score_file(one, model, settings.model_name, s3_client, written))

    try:
        with _stop_on_sigterm():
            settings, model = _load_model(args)
            identity = model_identity(model.metadata.digest, model.version)
            report = functools.partial(print, file=sys.stderr, flush=True)
            summary = run_prefix(job, identity, settings.model_name, model.version, score_one, report, s3_client)
    except (*STARTUP_ERRORS, BatchIOError) as error:  # type: ignore[misc]
        return fail(error)
    except KeyboardInterrupt:
        return fail("stopped before the end (interrupted); the files scored so far are complete, the rest are not")
    print(
        f"{summary.scored_files} of {summary.files} files scored, {summary.skipped_files} skipped, "
        f"{summary.failed_files} failed: {summary.scored} of {summary.rows} rows scored, {summary.rejected} rejected "
        f"in {summary.seconds:.1f}s with model {summary.model_version}; per file: {summary.report or '(no report)'}",
        file=sys.stderr,
    )
    print(json.dumps(summary.counts()))
    return 1 if summary.failed_files else 0


def default_output(source: str) -> str:
    """`<DEFAULT_OUTPUT_FOLDER>/<input name>`, the folder made if missing: ignored by git in a clone, so a
    first try leaves nothing untracked in the repository."""
    folder = Path(DEFAULT_OUTPUT_FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    name = source.rstrip("/").rsplit("/", 1)[-1] or "predictions.parquet"
    return str(folder / name)


def _load_model(args: argparse.Namespace) -> tuple[ModelSettings, RideDurationModel]:
    """The model settings from the environment, `--model`/`--model-sha256` standing in for MODEL_LOCATION and
    MODEL_SHA256, and the model. Product code chooses no model itself (the registry and the bundled default
    are tools, which it may not import): without one, the error says how to give one."""
    environ = dict(os.environ)
    if args.model:
        environ["MODEL_LOCATION"] = args.model
    if args.model_sha256:
        environ["MODEL_SHA256"] = args.model_sha256
    if not environ.get("MODEL_LOCATION", "").strip():
        raise ConfigError(NO_MODEL)
    settings = ModelSettings.from_env(environ)
    return settings, load_model_from(settings)


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """A scheduler stops a container with SIGTERM; by default Python dies at once and leaves the temporary
    outputs behind. Raising KeyboardInterrupt instead unwinds the job, which removes them."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: signals cannot be handled here, keep the default
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
