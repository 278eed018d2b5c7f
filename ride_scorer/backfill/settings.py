"""What one backfill run needs, read and checked once on the driver before Spark starts: the inputs, the two
output datasets, the model (MODEL_LOCATION, MODEL_SHA256, MODEL_NAME, ALLOW_UNPINNED_MODEL, as every mode
reads them) and how to run Spark. The executors get these settings from the driver, never from their own
environment, so every worker loads the same pinned model."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ride_scorer.core.settings import ModelSettings

REJECTS_SUFFIX = ".rejects"


class BackfillLocationError(ValueError):
    """An output folder is an input, inside one, or the other output: refused before anything is read
    (the CLI's exit 2), since Spark replaces or refuses whole folders."""


@dataclass(frozen=True)
class BackfillSettings:
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
        arguments more easily than as driver environment); errors still name the variable."""
        env = dict(os.environ if environ is None else environ)
        if args.model:
            env["MODEL_LOCATION"] = args.model
        if args.model_sha256:
            env["MODEL_SHA256"] = args.model_sha256
        output = args.output.rstrip("/")
        rejects = (args.rejects or default_rejects_location(output)).rstrip("/")
        return cls(
            inputs=tuple(args.input),
            output=output,
            rejects=rejects,
            model=ModelSettings.from_env(env),
            id_column=args.id_column,
            master=args.master,
            partitions=args.partitions,
            overwrite=args.overwrite,
        )

    def refuse_colliding_locations(self) -> None:
        """Spark replaces or refuses a whole folder: an output that is an input, or inside one, or the other
        output, would destroy data or mix predictions and rejects. Compared by spelling after normalising
        (file:, trailing slashes, s3a:// as s3://): the folders Spark writes are named, not resolved."""
        output, rejects = _normal(self.output), _normal(self.rejects)
        if output == rejects:
            raise BackfillLocationError(f"--output and --rejects are the same folder {self.output!r}: they need two")
        for location, name in ((output, "--output"), (rejects, "--rejects")):
            for source in self.inputs:
                normal = _normal(source)
                if location == normal or location.startswith(normal + "/") or normal.startswith(location + "/"):
                    raise BackfillLocationError(
                        f"{name} {location!r} overlaps the input {source!r}: refusing to write there"
                    )


def default_rejects_location(output: str) -> str:
    """`out/predictions` -> `out/predictions.rejects`; `out/x.parquet` -> `out/x.rejects.parquet`, as the
    batch job names its rejects file."""
    stem = output.rstrip("/")
    if stem.endswith(".parquet"):
        return stem.removesuffix(".parquet") + REJECTS_SUFFIX + ".parquet"
    return stem + REJECTS_SUFFIX


def _normal(location: str) -> str:
    text = location.rstrip("/")
    if text.startswith("s3a://") or text.startswith("s3n://"):
        return "s3://" + text[len("s3a://") :]
    if "://" in text:
        return text
    return os.path.abspath(text.removeprefix("file:"))


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


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
        "--partitions", type=positive, help="spread the rows over this many tasks first (default: Spark's splits)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing output and rejects folders")
    return parser.parse_args(argv)
