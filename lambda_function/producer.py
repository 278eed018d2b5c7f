"""Kept so that `python -m lambda_function.producer` in existing scripts still works: the producer is now
`ride_scorer.tools.producer` (console script in pyproject.toml). Not part of any image."""

import sys

from ride_scorer.tools.producer import main

if __name__ == "__main__":
    sys.exit(main())
