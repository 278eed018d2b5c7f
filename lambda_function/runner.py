"""Kept so that `python -m lambda_function.runner` in existing scripts still works: the local event source runner is now
`ride_scorer.tools.runner` (console script in pyproject.toml). Not part of any image."""

import sys

from ride_scorer.tools.runner import main

if __name__ == "__main__":
    sys.exit(main())
