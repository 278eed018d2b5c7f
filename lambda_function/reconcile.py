"""Kept so that `python -m lambda_function.reconcile` in existing scripts still works: the reconciliation tool is now
`ride_scorer.tools.reconcile` (console script in pyproject.toml). Not part of any image."""

import sys

from ride_scorer.tools.reconcile import main

if __name__ == "__main__":
    sys.exit(main())
