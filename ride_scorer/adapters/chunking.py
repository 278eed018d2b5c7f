"""Split a sequence into calls that respect a service's per-call count and byte limits."""

from __future__ import annotations

from collections.abc import Sequence


def chunk_spans(sizes: Sequence[int], max_count: int, max_bytes: int) -> list[tuple[int, int]]:
    """Return (start, end) spans, in order, each within both limits (an oversize item stands alone)."""
    spans: list[tuple[int, int]] = []
    start, total = 0, 0
    for position, size in enumerate(sizes):
        if position > start and (position - start == max_count or total + size > max_bytes):
            spans.append((start, position))
            start, total = position, 0
        total += size
    if start < len(sizes):
        spans.append((start, len(sizes)))
    return spans
