"""`make models` and the top of `make promote`: the registered versions, their aliases, and their errors side
by side, one row per version, newest first.

The errors are each version's own validation errors (RMSE and MAE in minutes, and MAE by distance band, as
`make train` logged them). Versions validated on different months are not strictly comparable, so the
months are in the table too; `make promote` adds both models scored on one held-out month.
"""

from __future__ import annotations

from collections.abc import Sequence

from training.evaluation import DISTANCE_BANDS, band_label
from training.registry_store import (
    REGISTERED_MODEL,
    StoredVersion,
    StoreLayoutError,
    read_versions,
    sqlite_database,
    tracking_uri,
)

BAND_LABELS = tuple(band_label(low, high) for low, high in DISTANCE_BANDS)


def list_versions(uri: str | None = None, name: str = REGISTERED_MODEL) -> list[StoredVersion]:
    """Oldest first. A local SQLite store is read without MLflow; any other store through MLflow's client."""
    store = tracking_uri(uri)
    database = sqlite_database(store)
    if database is not None:
        try:
            return read_versions(database, name)
        except StoreLayoutError:
            pass
    from training.registry import stored_versions  # imports MLflow

    return stored_versions(store, name)


def versions_table(versions: Sequence[StoredVersion]) -> str:
    """One row per version, newest first: aliases, kind, months, then RMSE, MAE and MAE by distance band."""
    header = ["version", "aliases", "kind", "trained", "validated", "RMSE", "MAE", *(f"MAE {b}" for b in BAND_LABELS)]
    rows = [
        [
            version.version,
            " ".join(f"@{alias}" for alias in version.aliases) or "-",
            version.tags.get("model_kind", "-"),
            version.tags.get("train_month", "-"),
            version.tags.get("validate_month", "-"),
            minutes(version.metrics.get("rmse")),
            minutes(version.metrics.get("mae")),
            *(minutes(version.metrics.get(f"mae_by_distance/{label}")) for label in BAND_LABELS),
        ]
        for version in sorted(versions, key=lambda version: int(version.version), reverse=True)
    ]
    return table(header, rows, text_columns=5)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1) -> str:
    """Columns two spaces apart; the first `text_columns` left-aligned, the numbers after them right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for row in (header, *rows):
        cells = [
            str(cell).ljust(width) if index < text_columns else str(cell).rjust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def minutes(value: float | None) -> str:
    """Minutes to two decimals, `-` where there is no value (a band without rides)."""
    return "-" if value is None else f"{value:.2f}"
