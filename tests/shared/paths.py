"""Where the project's files are, for every test tier (`tests/` and `integration-tests/` alike)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
EVENTS = ROOT / "events"
# The SAM CLI `make sam-cli` installs (make test installs it first).
SAM = ROOT / ".cache" / "sam-cli" / "bin" / "sam"
# Hostile Kinesis payloads and what each must become, shared by the decoder's and the handler's tests.
HOSTILE_CORPUS = Path(__file__).resolve().parent / "corpus" / "hostile_records.jsonl"
