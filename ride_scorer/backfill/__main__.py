"""`python -m ride_scorer.backfill`, or this file as spark-submit's entry point: score parquet datasets on Spark."""

import sys

from ride_scorer.backfill.job import main

sys.exit(main())
