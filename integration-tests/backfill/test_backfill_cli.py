"""`python -m ride_scorer.backfill` as a user (and `make backfill`) runs it: its own local[2] Spark, a glob of
real months, the summary on stdout; a second run into the same folders is refused before any scoring."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.shared.paths import ROOT

pytestmark = pytest.mark.slow
# The CLI's plumbing (glob, summary, files, refusal) needs rows of both kinds, not volume: the parity of the
# scores is test_backfill_parity.py's.
DIRTY_MONTH_ROWS = 2_000


def backfill(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ride_scorer.backfill", *arguments],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize("dirty_months", [("2023-01", "2023-02")], indirect=True)
def test_the_cli_scores_a_glob_and_refuses_to_write_over_its_output(dirty_months, pinned_model, tmp_path):
    arguments = ["--input", f"{dirty_months.folder}/green_tripdata_2023-*.parquet", "--output", "out/predictions"]

    first = backfill(*arguments, "--master", "local[2]", cwd=tmp_path)

    assert first.returncode == 0, first.stderr[-3000:]
    summary = json.loads(first.stdout)
    predictions = pq.read_table(tmp_path / "out" / "predictions")
    rejects = pq.read_table(tmp_path / "out" / "predictions.rejects")
    inputs = sum(pq.read_metadata(path).num_rows for path in dirty_months.files)
    assert summary["rows"] == inputs == predictions.num_rows + rejects.num_rows
    assert summary["scored"] == predictions.num_rows and summary["rejected"] == rejects.num_rows
    assert summary["rejected_by_code"] == dict(Counter(rejects.column("reason_code").to_pylist()))
    assert summary["rejected_by_code"]["invalid_schema"] >= 8 + 6  # the dirty rows of both months
    assert summary["output"] == str(tmp_path / "out" / "predictions")  # the canonical location written
    assert summary["rejects"] == str(tmp_path / "out" / "predictions.rejects")

    second = backfill(*arguments, "--master", "local[1]", cwd=tmp_path)

    errors = [line for line in second.stderr.splitlines() if line.startswith("error:")]
    assert second.returncode == 1
    rejects = str(tmp_path / "out" / "predictions.rejects")
    assert errors == [f"error: rejects {rejects!r} already exists; pass --overwrite to replace it"]
    # Issue 25: no log4j lines, no pandas FutureWarning, no progress bar (the JVM's own start line stays).
    noise = [
        line for line in first.stderr.splitlines() if re.search(r" (INFO|WARN) |FutureWarning|log level|Stage ", line)
    ]
    assert noise == []
    assert pq.read_table(tmp_path / "out" / "predictions").equals(predictions)
