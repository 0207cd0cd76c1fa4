"""The story index's state file: used when it matches the database, discarded when it cannot."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.pipeline import StoryService
from monitor.runtime._stories import StoryLifecycle, state_path
from monitor.settings import Settings
from monitor.store import Store
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
