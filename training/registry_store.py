"""The registry of a local SQLite tracking store, read with the standard library: no MLflow import.

Importing MLflow and opening its store costs 2-4 s, which `make serve` and `make batch` paid only to find
`@champion`, and `make models` only to list a few rows. MLflow's store is an ordinary SQLite file; reading
it read-only cannot change it. Writes (registering, moving an alias) still go through MLflow.

Only a few columns of four long-standing tables are read (model_versions, registered_model_aliases,
model_version_tags, latest_metrics). A database that lacks them raises `StoreLayoutError`, and callers then
ask MLflow itself, so a future schema change costs speed, not answers.
"""

from __future__ import annotations

import os
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

SQLITE_PREFIX = "sqlite:///"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TRACKING_URI = f"{SQLITE_PREFIX}{PROJECT_ROOT / 'mlflow.db'}"
REGISTERED_MODEL = "ride-duration"
CHAMPION, CHALLENGER = "champion", "challenger"
_MONTH = re.compile(r"(?P<month>20[0-9]{2}-[01][0-9])")


class TrackingError(RuntimeError):
    """The tracking store does not hold what was asked for (an unknown run, a run without a model)."""


class StoreLayoutError(RuntimeError):
    """The database is not a tracking store this reader understands; ask MLflow instead."""


@dataclass(frozen=True)
class StoredVersion:
    """One version of a registered model as the store records it: aliases, tags, and its run's metrics."""

    name: str
    version: str
    run_id: str
    aliases: tuple[str, ...]
    model_dir: Path | None  # the version's files when they are a local folder holding an MLmodel
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        return describe_version(self.name, self.version, self.aliases, self.run_id)


def describe_version(name: str, version: str, aliases: tuple[str, ...], run_id: str) -> str:
    """`ride-duration version 3 (@champion), run <id>`: what `make serve` prints and what to quote in a review."""
    named = f" ({', '.join('@' + alias for alias in aliases)})" if aliases else ""
    return f"{name} version {version}{named}, run {run_id}"


def data_month(path: str) -> str:
    """`2021-01` from `.../green_tripdata_2021-01.parquet`; the file name when it names no month."""
    name = path.rsplit("/", 1)[-1]
    found = _MONTH.search(name)
    return found["month"] if found else name


def tracking_uri(explicit: str | None = None) -> str:
    """The argument, else MLFLOW_TRACKING_URI, else the project's SQLite file."""
    return explicit or os.environ.get("MLFLOW_TRACKING_URI", "").strip() or DEFAULT_TRACKING_URI


def sqlite_database(uri: str) -> Path | None:
    """The file behind a `sqlite:///` tracking URI; None for any other kind of store."""
    if not uri.startswith(SQLITE_PREFIX):
        return None
    return Path(uri.removeprefix(SQLITE_PREFIX)).resolve()


def read_versions(database: Path, name: str) -> list[StoredVersion]:
    """Every version of `name`, oldest first; empty when the store has no such model (or no file at all)."""
    if not database.is_file():
        return []
    try:
        with closing(_read_only(database)) as connection:
            rows = connection.execute(
                "SELECT version, run_id, storage_location FROM model_versions WHERE name = ? ORDER BY version",
                (name,),
            ).fetchall()
            aliases: dict[str, list[str]] = {}
            for alias, version in connection.execute(
                "SELECT alias, version FROM registered_model_aliases WHERE name = ? ORDER BY alias", (name,)
            ):
                aliases.setdefault(str(version), []).append(str(alias))
            tags: dict[str, dict[str, str]] = {}
            for key, value, version in connection.execute(
                "SELECT key, value, version FROM model_version_tags WHERE name = ?", (name,)
            ):
                tags.setdefault(str(version), {})[str(key)] = str(value)
            run_ids = [str(run_id) for _, run_id, _ in rows if run_id]
            metrics: dict[str, dict[str, float]] = {}
            if run_ids:
                marks = ",".join("?" * len(run_ids))
                for key, value, run_id in connection.execute(
                    f"SELECT key, value, run_uuid FROM latest_metrics WHERE run_uuid IN ({marks})",
                    run_ids,
                ):
                    metrics.setdefault(str(run_id), {})[str(key)] = float(value)
    except sqlite3.Error as error:
        raise StoreLayoutError(f"{database} is not a tracking store this reader knows: {error}") from error
    return [
        StoredVersion(
            name=name,
            version=str(version),
            run_id=str(run_id or ""),
            aliases=tuple(aliases.get(str(version), ())),
            model_dir=_local_model_dir(storage_location),
            tags=tags.get(str(version), {}),
            metrics=metrics.get(str(run_id), {}),
        )
        for version, run_id, storage_location in rows
    ]


def aliased_version(database: Path, name: str, alias: str) -> StoredVersion | None:
    """The version `name@alias` points at, or None when the store has no such model or alias."""
    for version in read_versions(database, name):
        if alias in version.aliases:
            return version
    return None


def _read_only(database: Path) -> sqlite3.Connection:
    # mode=ro: never creates the file, never writes, and takes no write lock a running `make train` would meet.
    return sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=10)


def _local_model_dir(storage_location: object) -> Path | None:
    parsed = urlparse(str(storage_location or ""))
    if parsed.scheme not in ("", "file") or not parsed.path:
        return None
    directory = Path(unquote(parsed.path))
    return directory if (directory / "MLmodel").is_file() else None
