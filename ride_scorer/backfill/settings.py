"""What one backfill run needs, read and checked once on the driver before Spark starts: the inputs, the two
output datasets, the model (MODEL_LOCATION, MODEL_SHA256, MODEL_NAME, ALLOW_UNPINNED_MODEL, as every mode
reads them) and how to run Spark. The executors get these settings from the driver, never from their own
environment, so every worker loads the same pinned model."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ride_scorer.columnar.command_line import positive_int
from ride_scorer.columnar.locations import Location, LocationError, Pattern
from ride_scorer.core.settings import ModelSettings

REJECTS_SUFFIX = ".rejects"


class BackfillLocationError(ValueError):
    """A location that cannot be named safely, or an output folder that is an input, inside one, holds one, or
    is the other output: refused before Spark starts (the CLI's exit 2), since Spark replaces or refuses whole
    folders."""


@dataclass(frozen=True)
class BackfillSettings:
    """`inputs`, `output` and `rejects` are canonical (`columnar.locations`), in the spelling Spark is given."""

    inputs: tuple[str, ...]
    output: str
    rejects: str
    model: ModelSettings
    id_column: str | None = None
    master: str | None = None
    partitions: int | None = None
    overwrite: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> BackfillSettings:
        """`--model`/`--model-sha256` override MODEL_LOCATION/MODEL_SHA256 (a cluster job passes them as
        arguments more easily than as driver environment); errors still name the variable. Every location is
        resolved to its canonical form first, and overlaps are refused (BackfillLocationError)."""
        env = dict(os.environ if environ is None else environ)
        if args.model:
            env["MODEL_LOCATION"] = args.model
        if args.model_sha256:
            env["MODEL_SHA256"] = args.model_sha256
        inputs = [_named("--input", text, Pattern.parse) for text in args.input]
        output = _named("--output", args.output, _folder)
        rejects = _named("--rejects", args.rejects, _folder) if args.rejects else default_rejects_folder(output)
        refuse_overlaps(inputs, output, rejects)
        return cls(
            inputs=tuple(pattern.for_spark for pattern in inputs),
            output=output.for_spark,
            rejects=rejects.for_spark,
            model=ModelSettings.from_env(env),
            id_column=args.id_column,
            master=args.master,
            partitions=args.partitions,
            overwrite=args.overwrite,
        )


def refuse_overlaps(inputs: Sequence[Pattern], output: Location, rejects: Location) -> None:
    """Spark replaces or refuses a whole folder: an output that is an input, inside one (or in what a glob
    may match), holding one, or the other output, would destroy data or mix predictions and rejects."""
    if output.overlaps(rejects):
        raise BackfillLocationError(
            f"--output {str(output)!r} and --rejects {str(rejects)!r} overlap: they need two separate folders"
        )
    for location, name in ((output, "--output"), (rejects, "--rejects")):
        for source in inputs:
            if source.may_hold(location):
                raise BackfillLocationError(
                    f"{name} {str(location)!r} overlaps the input {str(source)!r}: refusing to write there"
                )


def default_rejects_folder(output: Location) -> Location:
    """`out/predictions` -> `out/predictions.rejects`; `out/x.parquet` -> `out/x.rejects.parquet`, as the
    batch job names its rejects file."""
    return Location.parse(default_rejects_location(output.for_spark))


def default_rejects_location(output: str) -> str:
    stem = output.rstrip("/")
    if stem.endswith(".parquet"):
        return stem.removesuffix(".parquet") + REJECTS_SUFFIX + ".parquet"
    return stem + REJECTS_SUFFIX


def _folder(text: str) -> Location:
    if Pattern.parse(text).globs:
        raise LocationError(f"{text!r} holds glob characters (*?[{{): an output is one folder, not a pattern")
    location = Location.parse(text)
    if location.is_s3 and not location.path:
        raise LocationError(f"{text!r} is a whole bucket: Spark would replace it; name a folder in it")
    return location


_T = TypeVar("_T")


def _named(flag: str, text: str, parse: Callable[[str], _T]) -> _T:
    try:
        return parse(text)
    except LocationError as error:
        raise BackfillLocationError(f"{flag}: {error}") from None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ride_scorer.backfill",
        description="Score parquet datasets of rides on Apache Spark with the streaming model (MODEL_LOCATION, "
        "MODEL_SHA256, MODEL_NAME from the environment). Writes two parquet datasets (folders): predictions and "
        "rejects, with the batch job's columns plus input_file. Paths are local, s3:// or s3a://.",
    )
    parser.add_argument(
        "--input",
        required=True,
        action="append",
        help="parquet file, folder or glob (e.g. s3://bucket/rides/2023-*.parquet); repeat for more",
    )
    parser.add_argument("--output", required=True, help="folder to write the predictions dataset to")
    parser.add_argument("--rejects", help="folder for rows that cannot be scored (default: <output>.rejects)")
    parser.add_argument(
        "--id-column", help="column holding the ride id (default: none, the 0-based row number in its file)"
    )
    parser.add_argument("--model", help="model directory or s3:// prefix (default: $MODEL_LOCATION)")
    parser.add_argument("--model-sha256", help="the model's pinned digest (default: $MODEL_SHA256)")
    parser.add_argument(
        "--master", help="Spark master, e.g. local[2] (default: spark-submit's, or local[*] without it)"
    )
    parser.add_argument(
        "--partitions", type=positive_int, help="spread the rows over this many tasks first (default: Spark's splits)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing output and rejects folders")
    return parser.parse_args(argv)
