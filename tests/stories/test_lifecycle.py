"""The story index's state file: used when it matches the database, discarded when it cannot; the stage's
heap trims."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.pipeline import StoryService
from monitor.runtime import _stories as _stories_module
from monitor.runtime._stories import StoryLifecycle, state_path
from monitor.settings import Settings
from monitor.store import NewArticle, PollRecord, SourceSpec, SourceUpdate, Store
from monitor.stories import ArticleRecord, StoryConfig

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _saved_state(path: Path, config: StoryConfig, *, high_water: int) -> None:
    service = StoryService(config=config)
    service.index.add(
        ArticleRecord(
            high_water, "Harbour cranes stop", "Cranes at the harbour stopped at dawn.", NOW, "a.example"
        )
    )
    service.high_water = high_water
    service.save(path)


def test_state_saved_against_another_database_is_discarded(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'fresh.db'}")
    store.upgrade()
    try:
        config = StoryConfig()
        path = tmp_path / "stories-index.npz"
        _saved_state(path, config, high_water=41)
        life = StoryLifecycle(store=store, config=config, path=path, clock=lambda: NOW)
        life.start()
        assert life.service is not None
        # The empty database has no article 41: the file is from elsewhere and must not be adopted,
        # otherwise the next article stored as id 1..41 would collide with the stale index.
        assert life.service.high_water == 0
        assert len(life.service.index) == 0
    finally:
        store.close()


def test_default_state_file_differs_per_database_and_hides_credentials(tmp_path: Path) -> None:
    a = state_path(Settings(database_url="postgresql://monitor:s3cret@db.internal:5432/a"))
    b = state_path(Settings(database_url="postgresql://monitor:s3cret@db.internal:5432/b"))
    c = state_path(Settings(database_url="postgresql://monitor:other@db.internal:5432/a"))
    assert a != b
    assert a == c  # the password is not part of the name
    assert "s3cret" not in str(a)
    sqlite = state_path(Settings(database_url=f"sqlite:///{tmp_path / 'm.db'}"))
    assert sqlite == tmp_path / "stories-index.npz"


def test_the_stage_trims_the_heap_after_each_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold pass runs hundreds of batches back to back; what each frees is returned after it."""
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    store.upgrade()
    trims: list[int] = []  # articles still pending at each trim

    def trim() -> bool:
        trims.append(store.pending_stories())
        return True

    monkeypatch.setattr(_stories_module, "trim_heap", trim)
    try:
        store.sync_config([SourceSpec(name="wire", url="https://wire.example/feed")], [], now=NOW)
        source = store.list_sources(now=NOW)[0].id
        for n in range(5):
            text = f"Crane {n} stops\n20261121\nhttps://wire.example/{n}\nCrane {n} stopped at the harbour.\n"
            article = NewArticle(
                url=f"https://wire.example/{n}",
                guid=None,
                title=f"Crane {n} stops",
                published=NOW.date(),
                date_source="feed",
                text=text,
                content_hash=f"h{n}",
                language="en",
                extractor="test",
                hits=(),
            )
            update = SourceUpdate(success=True, next_check_at=NOW, current_interval_s=900.0)
            store.apply_poll(PollRecord(source, update, (article,)), now=NOW, defer_stories=True)
        life = StoryLifecycle(store=store, config=StoryConfig(), path=tmp_path / "s.npz", clock=lambda: NOW)
        totals = asyncio.run(life.assign_pending(limit=2))
        assert totals.articles == 5
        assert trims == [3, 1, 0]  # after each batch of two, and after the last (short) one
    finally:
        store.close()
