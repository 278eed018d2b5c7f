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

from py4j.protocol import Py4JError
from pyspark import StorageLevel
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, DoubleType, LongType, StringType, StructField, StructType

from ride_scorer.adapters.model_store import load_model_from
from ride_scorer.backfill.scoring import (
    FILE_COLUMN,
    PREDICTION_COLUMNS,
    REJECT_COLUMNS,
    ROW_COLUMN,
    score_batches,
)
from ride_scorer.backfill.session import spark_session
from ride_scorer.backfill.settings import BackfillLocationError, BackfillSettings, parse_args
from ride_scorer.columnar.chunks import RIDE_COLUMNS
from ride_scorer.columnar.summary import SUMMARY_QUANTILES, ScoringSummary
from ride_scorer.core.integrity import ModelIntegrityError
from ride_scorer.core.model import ModelLoadError
from ride_scorer.core.reference import TrainingReference
from ride_scorer.core.rides import RejectionCode
from ride_scorer.core.settings import ConfigError

logger = logging.getLogger(__name__)

# The last Python exception line of a worker's traceback, as PySpark passes it to the driver.
_TRACEBACK = "Traceback (most recent call last):"
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt): .*$", re.M)
# Spark's own errors carry an error class, e.g. [FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH] ...
_ERROR_CLASS = re.compile(r"\[[A-Z][A-Z0-9_]*(?:\.[A-Z0-9_]+)*\] .*")
MAX_ERROR_CHARS = 2000


class BackfillError(RuntimeError):
    """The run cannot finish (an input missing or unreadable, a column missing, an output in the way, a
    worker's model refused); the message is one line naming the cause."""


def run(
    spark: SparkSession, settings: BackfillSettings, model_version: str, reference: TrainingReference | None = None
) -> ScoringSummary:
    """Score every row of the inputs into the two datasets: the rejects first, the predictions last, so
    the predictions' `_SUCCESS` marker tells a scheduler the whole run is done. Scoring runs once: its
    result is persisted (memory, spilling to disk) for the two writes and the counts."""
    started = time.perf_counter()
    try:
        _refuse_existing(spark, settings)
        rides = _read_rides(spark, settings)
        if settings.partitions:
            rides = rides.repartition(settings.partitions)
        score = functools.partial(score_batches, model=settings.model, id_column=settings.id_column)
        outcomes = rides.mapInArrow(score, _outcome_schema(rides.schema, settings.id_column))
        outcomes = outcomes.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            mode = "overwrite" if settings.overwrite else "errorifexists"
            rejected = outcomes.where(F.col("reason_code").isNotNull()).select(*REJECT_COLUMNS)
            rejected.write.mode(mode).parquet(settings.rejects)
            predicted = outcomes.where(F.col("reason_code").isNull()).select(*PREDICTION_COLUMNS)
            predicted.write.mode(mode).parquet(settings.output)
            by_code = outcomes.groupBy("reason_code").count().collect()
            counts = {row["reason_code"]: int(row["count"]) for row in by_code}
            drift = _drift_fields(spark, outcomes, reference)
        finally:
            outcomes.unpersist()
    except (PySparkException, Py4JError) as error:
        raise BackfillError(one_line(error)) from error
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


# Valid rides the model itself could not score: they count among the rides the domain shares are of.
_MODEL_CODES = [
    str(code)
    for code in (RejectionCode.INPUT_OUT_OF_RANGE, RejectionCode.MODEL_ERROR, RejectionCode.NON_FINITE_PREDICTION)
]
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
    valid = outcomes.where(F.col("reason_code").isNull() | F.col("reason_code").isin(*_MODEL_CODES))
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


def _outcome_schema(rides: StructType, id_column: str | None) -> StructType:
    """Spark's side of `scoring.combined_schema`: ride columns as read, the id column's type or a long."""
    ride_id: DataType = rides[id_column].dataType if id_column else LongType()
    return StructType(
        [
            StructField("row", LongType()),
            StructField("ride_id", ride_id),
            *(StructField(name, rides[name].dataType) for name in RIDE_COLUMNS),
            StructField("ride_duration", DoubleType()),
            StructField("model_name", StringType()),
            StructField("model_version", StringType()),
            StructField("reason_code", StringType()),
            StructField("reason", StringType()),
            StructField("input_file", StringType()),
        ]
    )


def _refuse_existing(spark: SparkSession, settings: BackfillSettings) -> None:
    """Without --overwrite an existing output folder is refused before any row is scored (Spark itself
    would refuse only when it reaches that write, after the scoring and the other write)."""
    if settings.overwrite:
        return
    jvm = spark.sparkContext._jvm
    configuration = spark.sparkContext._jsc.hadoopConfiguration()
    for location, name in ((settings.rejects, "rejects"), (settings.output, "output")):
        path = jvm.org.apache.hadoop.fs.Path(location)  # type: ignore[union-attr]
        if path.getFileSystem(configuration).exists(path):
            raise BackfillError(f"{name} {location!r} already exists; pass --overwrite to replace it")


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
    (a bad setting, a model that fails its digest, an input or output problem); 2 on bad arguments,
    including output folders that overlap an input, refused before Spark starts."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        settings = BackfillSettings.from_args(args)
        settings.refuse_colliding_locations()
    except BackfillLocationError as error:
        return _fail(error, code=2)
    except ConfigError as error:
        return _fail(error)
    try:
        # Once on the driver, before Spark starts: a refused model fails the job in seconds, not per task.
        model = load_model_from(settings.model)
    except (ConfigError, ModelLoadError, ModelIntegrityError) as error:
        return _fail(error)
    spark = spark_session(settings.master)
    try:
        summary = run(spark, settings, model.version, model.reference)
    except BackfillError as error:
        return _fail(error)
    finally:
        spark.stop()
    summary.report()
    return 0


def _fail(error: BaseException | str, code: int = 1) -> int:
    """One `error:` line, whatever the message holds."""
    print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
