"""Kept so that `python -m lambda_function.batch` in existing scripts still works: the batch job is now
`ride_scorer.batch` (console script in pyproject.toml). Not part of any image."""

import sys

from ride_scorer.batch.cli import main

if __name__ == "__main__":
    sys.exit(main())
