"""The Spark session of a backfill: spark-submit's settings on a cluster, safe local defaults otherwise."""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

APP_NAME = "ride-scorer-backfill"
LOCAL_DEFAULT = "local[*]"


def spark_session(master: str | None, extra: dict[str, str] | None = None) -> SparkSession:
    """Under spark-submit (EMR Serverless, EMR, Glue; PYSPARK_GATEWAY_PORT is set) the master and the
    workers' Python are spark-submit's. Started as a plain Python program, the job runs Spark locally
    (`master`, default local[*]): its workers use this interpreter (else PySpark starts `python3` from
    PATH, which lacks the project) and the driver listens on 127.0.0.1, not on every interface."""
    under_spark_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    if master is None and not under_spark_submit:
        master = LOCAL_DEFAULT
    builder = SparkSession.builder.appName(APP_NAME)
    if master is not None:
        builder = builder.master(master)
    if master is not None and master.startswith("local") and not under_spark_submit:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
    for key, value in (extra or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
