"""`python -m ride_scorer.batch`: score a parquet file of rides."""

import sys

from ride_scorer.batch.cli import main

sys.exit(main())
