"""Backfill: score parquet datasets of rides on Apache Spark with the same core as every other mode.

    python -m ride_scorer.backfill --input PATH|GLOB [--input ...] --output DIR [--rejects DIR] [--master local[2]]
    spark-submit ... ride_scorer/backfill/__main__.py --input s3://... --output s3://...

For re-scoring years of TLC months after a model change: Spark reads the files (a file, a folder, a glob;
local, s3:// on EMR, s3a:// elsewhere), hands Arrow batches of the ride columns to `mapInArrow`, where each
Python worker loads the pinned model once and scores with the batch job's own columnar code; the driver
writes two parquet datasets with the batch job's columns (plus `input_file`): predictions, and rejects
with their reason codes. The driver verifies the model before Spark starts, so a model that fails its
digest stops the job in seconds with one `error:` line.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import time
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from py4j.protocol import Py4JError
from pyspark import StorageLevel
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema
from pyspark.sql.types import StructType

from ride_scorer.adapters.model_store import STARTUP_ERRORS, load_model_from
from ride_scorer.backfill.outputs import BackfillError, refuse_existing
from ride_scorer.backfill.scoring import FILE_COLUMN, INPUT_FILE, ROW_COLUMN, combined_schema, score_batches
from ride_scorer.backfill.session import spark_session
from ride_scorer.backfill.settings import BackfillLocationError, BackfillSettings, parse_args
from ride_scorer.columnar.chunks import PREDICTION_COLUMNS, REJECT_COLUMNS, RIDE_COLUMNS
from ride_scorer.columnar.command_line import fail
from ride_scorer.columnar.summary import SUMMARY_QUANTILES, ScoringSummary
from ride_scorer.core.reference import TrainingReference
from ride_scorer.core.rides import MODEL_REJECTIONS
from ride_scorer.core.settings import ConfigError

logger = logging.getLogger(__name__)

# The last Python exception line of a worker's traceback, as PySpark passes it to the driver.
_TRACEBACK = "Traceback (most recent call last):"
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt): .*$", re.M)
# Spark's own errors carry an error class, e.g. [FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH] ...
_ERROR_CLASS = re.compile(r"\[[A-Z][A-Z0-9_]*(?:\.[A-Z0-9_]+)*\] .*")
MAX_ERROR_CHARS = 2000
# What stops the driver before Spark starts: a setting, the model, an output already there.
REFUSALS: tuple[type[Exception], ...] = (*STARTUP_ERRORS, BackfillError)


def run(
    spark: SparkSession, settings: BackfillSettings, model_version: str, reference: TrainingReference | None = None
) -> ScoringSummary:
    """Score every row of the inputs into the two datasets: the rejects first, the predictions last, so
    the predictions' `_SUCCESS` marker tells a scheduler the whole run is done. Scoring runs once: its
    result is persisted (memory, spilling to disk) for the two writes and the counts. If the run fails,
    the folders it had started writing are removed again: nothing is left that looks complete or that
    would make the same command's rerun ask for --overwrite."""
    started = time.perf_counter()
    started_writing: list[str] = []
    try:
        rides = _read_rides(spark, settings)
        if settings.partitions:
            rides = rides.repartition(settings.partitions)
        score = functools.partial(score_batches, model=settings.model, id_column=settings.id_column)
        outcomes = rides.mapInArrow(score, spark_schema(rides.schema, settings.id_column))
        outcomes = outcomes.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            mode = "overwrite" if settings.overwrite else "errorifexists"
            writes = (
                ("rejects", settings.rejects, REJECT_COLUMNS, F.col("reason_code").isNotNull()),
                ("output", settings.output, PREDICTION_COLUMNS, F.col("reason_code").isNull()),
            )
            for name, location, columns, chosen in writes:
                if not settings.overwrite and _exists(spark, location):  # someone else's: never removed
                    raise BackfillError(f"{name} {location!r} already exists; pass --overwrite to replace it")
                started_writing.append(location)
                outcomes.where(chosen).select(*columns, INPUT_FILE).write.mode(mode).parquet(location)
            by_code = outcomes.groupBy("reason_code").count().collect()
            counts = {row["reason_code"]: int(row["count"]) for row in by_code}
            drift = _drift_fields(spark, outcomes, reference)
        finally:
            outcomes.unpersist()
    except (PySparkException, Py4JError) as error:
        _remove(spark, started_writing)
        raise BackfillError(one_line(error)) from error
    except BaseException:
        _remove(spark, started_writing)
        raise
    scored = counts.pop(None, 0)
    rejected_by_code = {str(code): count for code, count in sorted(counts.items())}
    rows = scored + sum(rejected_by_code.values())
    return ScoringSummary(
        rows=rows,
        scored=scored,
        rejected=rows - scored,
        rejected_by_code=rejected_by_code,
        model_name=settings.model.model_name,
        model_version=model_version,
        seconds=time.perf_counter() - started,
        output=settings.output,
        rejects=settings.rejects,
        **drift,
    )


def _hadoop_path(spark: SparkSession, location: str) -> tuple[Any, Any]:
    """Hadoop's file system and path for a location, so that local folders and s3a:// prefixes are alike."""
    path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(location)  # type: ignore[union-attr]
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def _exists(spark: SparkSession, location: str) -> bool:
    filesystem, path = _hadoop_path(spark, location)
    return bool(filesystem.exists(path))


def _remove(spark: SparkSession, locations: list[str]) -> None:
    """Delete the output folders a failed run wrote into: each did not exist when the run began writing it,
    or --overwrite had given it up."""
    try:
        for location in locations:
            filesystem, path = _hadoop_path(spark, location)
            filesystem.delete(path, True)
    except (PySparkException, Py4JError) as error:  # the run's own error is the one to report
        logger.warning("could not remove the partial outputs %s: %s", ", ".join(locations), one_line(error))


# approxQuantile's relative error: within 0.01% of the rank.
_QUANTILE_ERROR = 1e-4


def _drift_fields(spark: SparkSession, outcomes: DataFrame, reference: TrainingReference | None) -> dict:
    """The summary's drift fields (as the batch job's: ride_scorer/core/signals.py), computed by Spark: the
    shares of valid rides whose zone pair the model never saw or whose distance is beyond training, and the
    predictions' quantiles (approximate, within `_QUANTILE_ERROR` of the rank)."""
    predicted = outcomes.where(F.col("reason_code").isNull())
    values = predicted.approxQuantile("ride_duration", list(SUMMARY_QUANTILES.values()), _QUANTILE_ERROR)
    fields: dict = {"prediction_quantiles": dict(zip(SUMMARY_QUANTILES, values, strict=True)) if values else {}}
    if reference is None:
        return fields
    model_codes = [str(code) for code in sorted(MODEL_REJECTIONS)]
    valid = outcomes.where(F.col("reason_code").isNull() | F.col("reason_code").isin(*model_codes))
    # The pair as the core's features spell it: the ids as the ride gave them, joined by "_".
    pair = F.concat_ws("_", F.col("PULocationID").cast("string"), F.col("DOLocationID").cast("string"))
    seen = spark.createDataFrame([(name, True) for name in sorted(reference.seen_pairs)], "pair string, seen boolean")
    low, high = reference.min_trip_distance, reference.max_trip_distance
    row = (
        valid.select(pair.alias("pair"), F.col("trip_distance"))
        .join(F.broadcast(seen), "pair", "left")
        .agg(
            F.count(F.lit(1)).alias("rides"),
            F.sum(F.when(F.col("seen").isNull(), 1).otherwise(0)).alias("unseen"),
            F.sum(F.when(F.col("trip_distance").between(low, high), 0).otherwise(1)).alias("beyond"),
        )
        .first()
    )
    rides, unseen, beyond = (0, 0, 0) if row is None else (int(row["rides"]), row["unseen"] or 0, row["beyond"] or 0)
    fields["unseen_pair_share"] = unseen / rides if rides else 0.0
    fields["out_of_range_share"] = beyond / rides if rides else 0.0
    return fields


def _read_rides(spark: SparkSession, settings: BackfillSettings) -> DataFrame:
    """The ride (and id) columns, with each row's file and 0-based row number in it (Spark's hidden
    `_metadata` columns of parquet sources)."""
    source = spark.read.parquet(*settings.inputs)
    wanted = list(dict.fromkeys([*RIDE_COLUMNS, *([settings.id_column] if settings.id_column else [])]))
    missing = [name for name in wanted if name not in source.columns]
    if missing:
        raise BackfillError(
            f"input {', '.join(settings.inputs)} has no column(s) {', '.join(missing)}; a ride needs "
            f"{', '.join(RIDE_COLUMNS)} (columns present: {', '.join(source.columns)})"
        )
    return source.select(
        *wanted,
        F.col("_metadata.row_index").alias(ROW_COLUMN),
        F.col("_metadata.file_path").alias(FILE_COLUMN),
    )


def spark_schema(rides: StructType, id_column: str | None) -> StructType:
    """Spark's side of `scoring.combined_schema` (the columnar layout plus the input file), converted from
    the Arrow schema so that the layout is written once: ride columns as read, the id column's type or a long."""
    inputs = to_arrow_schema(rides)
    return from_arrow_schema(combined_schema(inputs.field(id_column).type if id_column else pa.int64(), inputs))


def one_line(error: BaseException) -> str:
    """The cause in one line: for a worker's failure, the last exception line of its Python traceback (a
    model refused by its digest reads as that refusal, not as Spark's stage failure); for Spark's own, its
    first error-class message (not py4j's "An error occurred while calling o121.parquet."); else the first
    line."""
    text = str(error)
    found = None
    if _TRACEBACK in text:
        found = _EXCEPTION_LINE.search(text[text.rindex(_TRACEBACK) :])
    found = found or _ERROR_CLASS.search(text)  # the first, outermost Spark error, not the JVM's wrapper
    if found:
        text = found.group(0)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    message = lines[0] if lines else type(error).__name__
    return message[:MAX_ERROR_CHARS]


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when every row was scored or rejected; 1 with one `error:` line when the run cannot finish
    (a bad setting, a model that fails its digest, an output in the way, an input problem); 2 on bad
    arguments, including locations that cannot be named safely or that overlap. Every refusal that needs no
    Spark comes before Spark starts."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)  # its INFO lines narrate the gateway's connections
    args = parse_args(argv)
    try:
        settings = BackfillSettings.from_args(args)
    except BackfillLocationError as error:
        return fail(error, code=2)
    except ConfigError as error:
        return fail(error)
    try:
        if not settings.overwrite:
            refuse_existing(settings)
        # Once on the driver, before Spark starts: a refused model fails the job in seconds, not per task.
        model = load_model_from(settings.model)
    except REFUSALS as error:
        return fail(error)
    spark = spark_session(settings.master)
    try:
        summary = run(spark, settings, model.version, model.reference)
    except BackfillError as error:
        return fail(error)
    finally:
        spark.stop()
    summary.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
