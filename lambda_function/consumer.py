"""Kept so that `python -m lambda_function.consumer` in existing scripts still works: the consumer is now
`ride_scorer.tools.consumer` (console script in pyproject.toml). Not part of any image."""

import sys

from ride_scorer.tools.consumer import main

if __name__ == "__main__":
    sys.exit(main())
