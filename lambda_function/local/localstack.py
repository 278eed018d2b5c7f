"""Kept so that `python -m lambda_function.local.localstack up|down` in existing scripts still works: it is
now `ride_scorer.tools.local.localstack`. Not part of any image."""

import sys

from ride_scorer.tools.local.localstack import main

if __name__ == "__main__":
    sys.exit(main())
