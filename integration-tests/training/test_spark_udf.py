"""`mlflow.pyfunc.spark_udf` scores raw ride columns of a Spark DataFrame with the registered @champion, and
gives the scorer's floats. Spark runs in a process of its own (local[1], bound to 127.0.0.1, no UI), so its
JVM ends with it."""

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from ride_scorer.core.integrity import directory_digest
from ride_scorer.core.model import load_model
from ride_scorer.core.scoring import score_documents
from tests.shared.paths import DATA
from tests.shared.trips import month_slice
from training.ride_duration_pyfunc import RIDE_COLUMNS
from training.train import train

pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")

SPARK_SCRIPT = """
import json, sys
import mlflow.pyfunc, pandas as pd
from pyspark import SparkContext
from pyspark.sql import SparkSession

store, rides_file = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(store)
mlflow.set_registry_uri(store)
spark = (
    SparkSession.builder.master("local[1]")
    .config("spark.ui.enabled", "false")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.driver.host", "127.0.0.1")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
try:
    rides = spark.createDataFrame(pd.read_parquet(rides_file))
    score = mlflow.pyfunc.spark_udf(spark, "models:/ride-duration@champion", result_type="double", env_manager="local")
    scored = rides.withColumn("ride_duration", score("PULocationID", "DOLocationID", "trip_distance"))
    print(json.dumps(scored.toPandas()["ride_duration"].tolist()))
finally:
    spark.stop()
    gateway = SparkContext._gateway
    if gateway is not None:
        gateway.shutdown()
        gateway.proc.terminate()
        gateway.proc.wait(timeout=60)
"""


@pytest.mark.slow  # a Spark JVM: 30-75 s on a shared 2-core machine
def test_spark_udf_scores_raw_ride_columns_with_the_champion(tmp_path):
    paths = [month_slice(tmp_path, "2021-01", 3_000), month_slice(tmp_path, "2021-02", 1_000)]
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    champion = train(*paths, tracking_uri=store)
    rides = pq.read_table(DATA / "green_tripdata_2023-02.parquet", columns=list(RIDE_COLUMNS)).to_pandas().head(200)
    rides_file = tmp_path / "rides.parquet"  # JSON would round the distances
    rides.to_parquet(rides_file)

    done = subprocess.run(
        [sys.executable, "-c", SPARK_SCRIPT, store, str(rides_file)],
        cwd=tmp_path,
        # Spark's Python workers must be this interpreter (the one with MLflow), not the first python3 on PATH.
        env={**os.environ, "PYSPARK_PYTHON": sys.executable, "MLFLOW_DISABLE_TELEMETRY": "true"},
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    model = load_model(champion.model_dir, expected_sha256=directory_digest(champion.model_dir))
    documents = [{"ride": ride, "ride_id": index} for index, ride in enumerate(rides.to_dict("records"))]
    expected = [outcome.ride_duration for outcome in score_documents(model, documents)]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == expected
