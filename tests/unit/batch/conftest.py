"""Fixtures for running the batch CLI as a user does: in a folder holding a copy of a real TLC month, with a
real trained model pinned in the environment."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.shared.paths import DATA

MONTH = DATA / "green_tripdata_2023-01.parquet"


@dataclass(frozen=True)
class Workdir:
    """The user's folder (also the working directory) and its input file."""

    path: Path
    input: Path

    def listing(self) -> dict[str, str]:
        """Every entry, hidden ones included (a leftover `.x.partial` shows), with its content digest."""
        return {
            str(entry.relative_to(self.path)): "dir"
            if entry.is_dir()
            else "symlink"
            if entry.is_symlink()
            else hashlib.sha256(entry.read_bytes()).hexdigest()
            for entry in sorted(self.path.rglob("*"))
            if entry.is_dir() or entry.is_symlink() or entry.is_file()
        }


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pinned_model: Path) -> Workdir:
    """A copy of the published 2023-01 month as `in.parquet`, in the working directory."""
    shutil.copyfile(MONTH, tmp_path / "in.parquet")
    monkeypatch.chdir(tmp_path)
    return Workdir(tmp_path, tmp_path / "in.parquet")


@pytest.fixture
def small_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pinned_model: Path) -> Workdir:
    """The first 300 rides of 2023-01, as published, as `in.parquet`: for runs that score to the end."""
    pq.write_table(pq.read_table(MONTH).slice(0, 300), tmp_path / "in.parquet")
    monkeypatch.chdir(tmp_path)
    return Workdir(tmp_path, tmp_path / "in.parquet")
