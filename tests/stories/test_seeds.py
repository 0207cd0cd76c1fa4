"""The reference seeds: 000 and 001 report the same Kremlin statement; 004 is another day's news."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.stories import ArticleRecord, StoryIndex

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"{SEEDS} not present")


def seed(prefix: str, aid: int, *, published: datetime) -> ArticleRecord:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) > 2 and lines[1].strip().isdigit():  # reference format: title, YYYYMMDD, URL, body
        return ArticleRecord(aid, lines[0], "\n".join(lines[3:]), published, lines[2])
    return ArticleRecord(aid, lines[0], "\n".join(lines[1:]), published, path.name)


def test_seeds_000_and_001_form_one_story_and_004_does_not_join() -> None:
    index = StoryIndex()
    a = index.add(seed("000", 1, published=datetime(2021, 4, 2, 9, tzinfo=UTC)))
    b = index.add(seed("001", 2, published=datetime(2021, 4, 2, 15, tzinfo=UTC)))
    c = index.add(seed("004", 3, published=datetime(2022, 1, 25, 12, tzinfo=UTC)))
    assert a.is_new_story
    assert b.copy_of is None, "two write-ups, not copies"
    assert b.story_id == a.story_id
    assert c.is_new_story and c.story_id == 3
    assert index.members(a.story_id) == [1, 2]
