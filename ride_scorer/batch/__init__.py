"""The batch mode: parquet files through the core to predictions and rejects files (`python -m ride_scorer.batch`)."""
