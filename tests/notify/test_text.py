"""Cleaning, segmentation and windowing of untrusted sentences (shared by every channel)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from monitor.core import Span
from monitor.notify._text import (
    ELLIPSIS,
    Segment,
    clean_line,
    clean_segments,
    clip,
    group_by_story,
    segments,
    window,
)

from .conftest import make_message


def test_clean_line_removes_controls_bidi_and_zero_width() -> None:
    raw = "Bank\x1b[2J news\r\nline two\u202eevil\u200b\ufeff  end\t"
    assert clean_line(raw) == "Bank [2J news line two evil end"


def test_clean_line_keeps_joiners_needed_by_scripts() -> None:
    assert clean_line("मि\u200dत्र") == "मि\u200dत्र"


def test_segments_splits_at_spans_and_ignores_bad_ones() -> None:
    text = "alpha beta gamma"
    spans = (Span(6, 10), Span(0, 5), Span(3, 7), Span(20, 30), Span(9, 9), Span(-5, 1))
    # (0,5) (3,7) (6,10) (-5,1) merge into 0..10; out-of-range and empty spans vanish.
    assert segments(text, spans) == [Segment("alpha beta", bold=True), Segment(" gamma")]


def test_clean_segments_moves_edge_spaces_out_of_bold_runs() -> None:
    segs = clean_segments([Segment("buy"), Segment(" Acme\n", bold=True), Segment("  now")])
    assert segs == [Segment("buy "), Segment("Acme", bold=True), Segment(" now")]


def test_window_keeps_first_match_visible_in_a_long_sentence() -> None:
    text = "x" * 5000 + " needle " + "y" * 5000
    segs = window(clean_segments(segments(text, [Span(5001, 5007)])), 300)
    assert sum(len(s.text) for s in segs) <= 300
    assert segs[0].text == ELLIPSIS and segs[-1].text == ELLIPSIS
    assert Segment("needle", bold=True) in segs


def test_clip() -> None:
    assert clip("short", 10) == "short"
    assert clip("a" * 20, 10) == "a" * 9 + ELLIPSIS


def test_group_by_story_keeps_order_and_isolates_none() -> None:
    a1, a2 = make_message(key="a1", story_id=1), make_message(key="a2", story_id=1)
    b = make_message(key="b", story_id=2)
    n1, n2 = make_message(key="n1", story_id=None), make_message(key="n2", story_id=None)
    groups = group_by_story([a1, n1, b, a2, n2])
    assert [[m.idempotency_key for m in g] for g in groups] == [["a1", "a2"], ["n1"], ["b"], ["n2"]]


@given(
    text=st.text(max_size=200),
    raw_spans=st.lists(st.tuples(st.integers(-10, 220), st.integers(-10, 220)), max_size=6),
    limit=st.integers(5, 120),
)
def test_segments_invariants(text: str, raw_spans: list[tuple[int, int]], limit: int) -> None:
    spans = [Span(a, b) for a, b in raw_spans]
    raw = segments(text, spans)
    assert "".join(s.text for s in raw) == text  # segmentation loses nothing
    cleaned = clean_segments(raw)
    for seg in cleaned:
        assert seg.text
        assert clean_line(seg.text) == seg.text.strip()  # no control or invisible characters left
        if seg.bold:
            assert seg.text == seg.text.strip()
    assert all(a.bold != b.bold for a, b in itertools.pairwise(cleaned))
    shown = window(cleaned, limit)
    assert sum(len(s.text) for s in shown) <= limit
