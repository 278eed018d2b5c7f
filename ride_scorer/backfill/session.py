"""The Spark session of a backfill: spark-submit's settings on a cluster, safe local defaults otherwise."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from pyspark.sql import SparkSession

# PySpark 4.0 warns on every pandas >= 3 import; the backfill hands Spark Arrow batches (`mapInArrow`), never
# pandas frames, so the warning concerns nothing it does.
PANDAS_WARNING = "PySpark does not yet fully support pandas"
warnings.filterwarnings("ignore", message=PANDAS_WARNING, category=FutureWarning)

APP_NAME = "ride-scorer-backfill"
LOG4J_SETTINGS = Path(__file__).with_name("log4j2.properties")
LOCAL_DEFAULT = "local[*]"


def spark_session(master: str | None, extra: dict[str, str] | None = None) -> SparkSession:
    """Under spark-submit (EMR Serverless, EMR, Glue; PYSPARK_GATEWAY_PORT is set) the master and the
    workers' Python are spark-submit's. Started as a plain Python program, the job runs Spark locally
    (`master`, default local[*]): its workers use this interpreter (else PySpark starts `python3` from
    PATH, which lacks the project) and the driver listens on 127.0.0.1, not on every interface."""
    under_spark_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    if master is None and not under_spark_submit:
        master = LOCAL_DEFAULT
    # No console progress bar: it redraws the last line of stderr, where the job's `error:` line must stand alone.
    builder = SparkSession.builder.appName(APP_NAME).config("spark.ui.showConsoleProgress", "false")
    if master is not None:
        builder = builder.master(master)
    if master is not None and master.startswith("local") and not under_spark_submit:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # else a warning about the host name on each start
        # The local workers are this machine's Python processes: the same filter, through their environment.
        filters = (os.environ.get("PYTHONWARNINGS"), f"ignore:{PANDAS_WARNING}:FutureWarning")
        os.environ["PYTHONWARNINGS"] = ",".join(part for part in filters if part)
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
        builder = builder.config(
            "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG4J_SETTINGS.as_uri()}"
        )
    for key, value in (extra or {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")  # Spark's INFO/WARN chatter; errors still reach stderr
    return session
