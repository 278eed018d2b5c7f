"""The one core: ride documents to outcomes, and the ports the modes write through. No AWS SDK, Lambda,
Flask or pyarrow here (import-linter checks it)."""
