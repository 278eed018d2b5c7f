"""Split a sequence into calls that respect a service's per-call count and byte limits."""

from __future__ import annotations

from collections.abc import Sequence


def chunk_spans(sizes: Sequence[int], max_count: int, max_bytes: int) -> list[tuple[int, int]]:
    """Return (start, end) spans, in order, each within both limits (an oversize item stands alone).

    Greedy: a span takes items until the next would break a limit. Most spans are `max_count` small items,
    which the first check takes whole without looking at each item."""
    spans: list[tuple[int, int]] = []
    start, total = 0, 0
    position = 0
    while position < len(sizes):
        if position == start and sum(sizes[start : start + max_count]) <= max_bytes:
            end = min(start + max_count, len(sizes))
            spans.append((start, end))
            start = position = end
            continue
        size = sizes[position]
        if position > start and (position - start == max_count or total + size > max_bytes):
            spans.append((start, position))
            start, total = position, 0
            continue
        total += size
        position += 1
    if start < len(sizes):
        spans.append((start, len(sizes)))
    return spans
