"""NEAR between two lists of word ranges (the spans of its operands in one field); apart from
``_analysis`` (which uses it for ``FieldText.spans``) because it needs nothing of a field."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

__all__ = ["Span", "near_exists", "near_spans"]

Span = tuple[int, int]  # first and last word position, inclusive


def near_spans(left: list[Span], right: list[Span], distance: int, ordered: bool) -> list[Span]:
    """Combined ranges of the pairs (a, b) that do not overlap and are within ``distance`` words.

    ``right`` is sorted by start, so the partners after each ``a`` are found by bisection; partners
    before ``a`` (unordered NEAR only) are found the same way on the ends.
    """
    if not left or not right:
        return []
    out: set[Span] = set()
    starts = [s for s, _e in right]
    by_end = sorted(right, key=lambda span: span[1])
    ends = [e for _s, e in by_end]
    for a_start, a_end in left:
        j = bisect_right(starts, a_end)
        while j < len(right) and right[j][0] - a_end <= distance:
            out.add((a_start, max(a_end, right[j][1])))
            j += 1
        if not ordered:
            j = bisect_left(ends, a_start - distance)
            while j < len(by_end) and by_end[j][1] < a_start:
                out.add((by_end[j][0], max(a_end, by_end[j][1])))
                j += 1
    return sorted(out)


def near_exists(left: list[Span], right: list[Span], distance: int, ordered: bool) -> bool:
    """``bool(near_spans(left, right, distance, ordered))``, stopping at the first pair: for each
    ``a`` only the nearest partner after it (the first start past its end) and, unordered, the first
    range ending within the distance before it can be the closest."""
    if not left or not right:
        return False
    starts = [s for s, _e in right]
    count = len(right)
    by_end: list[Span] = []
    ends: list[int] = []
    if not ordered:
        by_end = sorted(right, key=lambda span: span[1])
        ends = [e for _s, e in by_end]
    for a_start, a_end in left:
        j = bisect_right(starts, a_end)
        if j < count and right[j][0] - a_end <= distance:
            return True
        if not ordered:
            j = bisect_left(ends, a_start - distance)
            if j < count and by_end[j][1] < a_start:
                return True
    return False
