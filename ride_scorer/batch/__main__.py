"""`python -m ride_scorer.batch`: score a parquet file of rides."""

import sys

from ride_scorer.batch.job import main

sys.exit(main())
