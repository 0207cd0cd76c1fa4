"""Group commit of article-less polls (``pipeline/_recorder.py``), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import event

from monitor.pipeline._recorder import SourceRecorder
from monitor.store import NewArticle, PollRecord, SourceSpec, SourceUpdate, Store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _setup(store: Store, n: int) -> list[int]:
    store.upgrade()
    store.sync_config(
        [SourceSpec(name=f"s{i}", url=f"https://s{i}.example/feed") for i in range(n)], [], now=NOW
    )
    return [s.id for s in store.list_sources(now=NOW)]


def _unchanged(source_id: int, i: int) -> PollRecord:
    update = SourceUpdate(
        success=True,
        next_check_at=NOW + timedelta(minutes=i + 1),
        current_interval_s=600.0,
        etag=f'"v{i}"',
    )
    return PollRecord(source_id, update)


def test_concurrent_polls_share_transactions_and_all_land(db_url: str) -> None:
    store = Store(db_url)
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(1))
    try:
        ids = _setup(store, 60)
        recorder = SourceRecorder(store)
        commits.clear()

        async def run() -> None:
            await asyncio.gather(*(recorder.record(_unchanged(sid, i), now=NOW) for i, sid in enumerate(ids)))

        asyncio.run(run())
        # Polls that arrive together share a commit (one each would be 60).
        assert 1 <= len(commits) <= 2, commits
        rows = {s.id: s for s in store.list_sources(now=NOW)}
        for i, sid in enumerate(ids):
            assert rows[sid].polls == 1 and rows[sid].etag == f'"v{i}"'
            assert rows[sid].next_check_at == NOW + timedelta(minutes=i + 1)
    finally:
        store.close()


def test_a_failed_batch_fails_every_poll_in_it_and_the_next_batch_runs(db_url: str) -> None:
    store = Store(db_url)
    try:
        ids = _setup(store, 3)
        recorder = SourceRecorder(store)
        art = NewArticle(
            url="https://s0.example/a",
            guid=None,
            title="t",
            published=date(2026, 11, 21),
            date_source="feed",
            text="t\n20261121\nhttps://s0.example/a\nx\n",
            content_hash="h",
            language="en",
            extractor="test",
        )
        bad = PollRecord(ids[0], _unchanged(ids[0], 0).update, (art,))  # articles do not belong here

        async def run() -> list[BaseException | None]:
            first = asyncio.ensure_future(recorder.record(_unchanged(ids[1], 1), now=NOW))
            await asyncio.sleep(0)  # the first commit is running: the next two queue as one batch
            results = await asyncio.gather(
                recorder.record(bad, now=NOW),
                recorder.record(_unchanged(ids[2], 2), now=NOW),
                return_exceptions=True,
            )
            await first
            await recorder.record(_unchanged(ids[0], 0), now=NOW)  # the recorder still works
            return [r if isinstance(r, BaseException) else None for r in results]

        outcomes = asyncio.run(run())
        assert all(isinstance(o, ValueError) for o in outcomes), outcomes
        polls = {s.id: s.polls for s in store.list_sources(now=NOW)}
        assert polls == {ids[0]: 1, ids[1]: 1, ids[2]: 0}
    finally:
        store.close()


def test_a_lone_poll_is_recorded_without_waiting(db_url: str) -> None:
    store = Store(db_url)
    try:
        (sid,) = _setup(store, 1)
        asyncio.run(SourceRecorder(store).record(_unchanged(sid, 0), now=NOW))
        assert store.list_sources(now=NOW)[0].polls == 1
    finally:
        store.close()
