"""The Spark backfill mode (`python -m ride_scorer.backfill`): parquet datasets through the core on Apache Spark."""
