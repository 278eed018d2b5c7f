"""Kept so that `python -m lambda_function.default_model` in existing scripts still works: it is now
`ride_scorer.tools.default_model`. Development only, not part of any image."""

from ride_scorer.tools.default_model import ensure_default_model

if __name__ == "__main__":
    print(ensure_default_model())
