"""The stop-list sketch's cells: one-byte saturating counts, 16-bit story tags, and the old wide format."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from monitor.stories._stoplist import SentenceStoplist

H = np.array([0x0123456789ABCDEF, 0x0FEDCBA987654321], dtype=np.uint64)


def test_cells_are_three_bytes() -> None:
    stop = SentenceStoplist(min_stories=3, width_bits=10, decay_every=0)
    assert stop.nbytes == 2 * 1024 * 3


def test_count_saturates_instead_of_wrapping() -> None:
    stop = SentenceStoplist(min_stories=3, width_bits=10, decay_every=0)
    for story in range(1, 301):  # 300 distinct stories: past one byte
        stop.observe(H, story_id=story)
    assert stop.stopped(H).all()
    assert int(stop.to_state()["counts"].max()) == 255


def test_saturated_sentence_fades_after_seven_halvings() -> None:
    stop = SentenceStoplist(min_stories=3, width_bits=10, decay_every=1000)
    for story in range(1, 301):
        stop.observe(H, story_id=story)
    empty = np.zeros(0, dtype=np.uint64)
    halvings = 0
    while stop.stopped(H).all():
        for _ in range(1000 - stop._observed % 1000):
            stop.observe(empty, story_id=0)
        halvings += 1
    # 255 -> 127 -> 63 -> 31 -> 15 -> 7 -> 3 -> 1: below 3 at the seventh halving
    assert halvings == 7


def test_tags_differ_between_consecutive_stories_and_are_never_zero() -> None:
    stop = SentenceStoplist(min_stories=2, width_bits=10, decay_every=0)
    tags = []
    for story in range(1, 5000):
        stop.observe(H[:1], story_id=story)
        tags.append(int(stop.to_state()["last"].max()))
    assert 0 not in tags
    assert all(a != b for a, b in pairwise(tags))


def test_old_wide_state_loads_and_keeps_its_story_tags() -> None:
    """A state file of the 16-bit-count, 32-bit-tag format: counts are capped, tags narrowed to what the
    same story gets now, so the story that raised a cell last still does not count twice."""
    new = SentenceStoplist(min_stories=3, width_bits=10, decay_every=0)
    new.observe(H, story_id=41)
    new.observe(H, story_id=42)
    cells_last = new.to_state()["last"]
    raised = cells_last != 0
    old_counts = np.zeros((2, 1024), dtype=np.uint16)
    old_counts[raised] = 2
    old_counts[0, 5] = 1000  # an old count above one byte
    old_last = np.zeros((2, 1024), dtype=np.uint32)
    old_last[raised] = (42 * 0x9E3779B1 + 1) & 0xFFFFFFFF

    loaded = SentenceStoplist(min_stories=3, width_bits=10, decay_every=0)
    loaded.load_state({"counts": old_counts, "last": old_last, "observed": 2})
    state = loaded.to_state()
    assert state["counts"].dtype == np.uint8 and state["last"].dtype == np.uint16
    assert int(state["counts"][0, 5]) == 255
    assert np.array_equal(state["last"], cells_last)
    loaded.observe(H, story_id=42)  # the same story again: not a third story
    assert not loaded.stopped(H).any()
    loaded.observe(H, story_id=43)
    assert loaded.stopped(H).all()


def test_state_of_another_width_is_refused() -> None:
    stop = SentenceStoplist(min_stories=3, width_bits=10, decay_every=0)
    other = SentenceStoplist(min_stories=3, width_bits=11, decay_every=0).to_state()
    with pytest.raises(ValueError, match="different width"):
        stop.load_state(other)
