"""Group commit of every poll's outcome (``pipeline/_recorder.py``), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.exc import SQLAlchemyError

from monitor.pipeline._recorder import PollRecorder
from monitor.store import ApplyReport, NewArticle, PollRecord, SourceSpec, SourceUpdate, Store
from monitor.store.models import Article

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _setup(store: Store, n: int) -> list[int]:
    store.upgrade()
    store.sync_config(
        [SourceSpec(name=f"s{i}", url=f"https://s{i}.example/feed") for i in range(n)], [], now=NOW
    )
    return [s.id for s in sorted(store.list_sources(now=NOW), key=lambda s: int(s.name[1:]))]


def _unchanged(source_id: int, i: int) -> PollRecord:
    update = SourceUpdate(
        success=True,
        next_check_at=NOW + timedelta(minutes=i + 1),
        current_interval_s=600.0,
        etag=f'"v{i}"',
    )
    return PollRecord(source_id, update)


def _article(i: int, k: int, published: Any = date(2026, 11, 21)) -> NewArticle:
    url = f"https://s{i}.example/a{k}"
    return NewArticle(
        url=url,
        guid=None,
        title=f"Story {i}-{k}",
        published=published,
        date_source="feed",
        text=f"Story {i}-{k}\n20261121\n{url}\nParagraph {i} {k}.\n",
        content_hash=f"h{i}-{k}",
        language="en",
        extractor="test",
    )


def _with_articles(source_id: int, i: int, *arts: NewArticle) -> PollRecord:
    update = SourceUpdate(
        success=True, next_check_at=NOW + timedelta(minutes=i + 1), current_interval_s=600.0, new_entries=2
    )
    return PollRecord(source_id, update, arts or (_article(i, 0), _article(i, 1)))


def _articles(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(Article)) or 0)


def test_concurrent_polls_share_transactions_and_all_land(db_url: str) -> None:
    store = Store(db_url)
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(1))
    try:
        ids = _setup(store, 60)
        recorder = PollRecorder(store)
        commits.clear()
        # every other source brings two new articles, the others answer 304
        records = [_with_articles(sid, i) if i % 2 else _unchanged(sid, i) for i, sid in enumerate(ids)]

        async def run() -> list[ApplyReport]:
            return await asyncio.gather(*(recorder.record(r, now=NOW) for r in records))

        reports = asyncio.run(run())
        recorder.close()
        # Polls that arrive together share a commit (one each would be 60).
        assert 1 <= len(commits) <= 2, commits
        assert [r.articles_added for r in reports] == [2 if i % 2 else 0 for i in range(60)]
        assert _articles(store) == 60
        rows = {s.id: s for s in store.list_sources(now=NOW)}
        for i, sid in enumerate(ids):
            assert rows[sid].polls == 1 and rows[sid].next_check_at == NOW + timedelta(minutes=i + 1)
            assert rows[sid].etag == (None if i % 2 else f'"v{i}"')
    finally:
        store.close()


def test_a_polls_own_failure_fails_that_poll_alone(db_url: str) -> None:
    store = Store(db_url)
    try:
        ids = _setup(store, 4)
        recorder = PollRecorder(store)
        bad = _with_articles(ids[0], 0, _article(0, 0), _article(0, 1, published="not a date"))

        async def run() -> tuple[ApplyReport | BaseException, ...]:
            first = asyncio.ensure_future(recorder.record(_unchanged(ids[3], 3), now=NOW))
            await asyncio.sleep(0)  # the first commit is running: the next three queue as one batch
            results = await asyncio.gather(
                recorder.record(_with_articles(ids[1], 1), now=NOW),
                recorder.record(bad, now=NOW),
                recorder.record(_unchanged(ids[2], 2), now=NOW),
                return_exceptions=True,
            )
            await first
            await recorder.record(_with_articles(ids[0], 0), now=NOW)  # the source's next poll works
            return results

        good, failed, unchanged = asyncio.run(run())
        recorder.close()
        assert isinstance(failed, SQLAlchemyError) and "s0.example/a1" in str(failed), failed
        assert isinstance(good, ApplyReport) and good.articles_added == 2
        assert isinstance(unchanged, ApplyReport) and unchanged.articles_added == 0
        polls = {s.id: s.polls for s in store.list_sources(now=NOW)}
        assert polls == {ids[0]: 1, ids[1]: 1, ids[2]: 1, ids[3]: 1}
        assert _articles(store) == 4  # the failed poll's first article was rolled back with it
    finally:
        store.close()


def test_a_failed_transaction_fails_every_poll_in_it_and_the_next_batch_runs(db_url: str) -> None:
    store = Store(db_url)
    try:
        ids = _setup(store, 3)
        recorder = PollRecorder(store)
        fail = [True]

        def refuse(conn: Any) -> None:
            if fail[0]:
                fail[0] = False
                raise RuntimeError("commit refused")

        event.listen(store.engine, "commit", refuse)

        async def run() -> tuple[ApplyReport | BaseException, ...]:
            results = await asyncio.gather(
                recorder.record(_with_articles(ids[0], 0), now=NOW),
                recorder.record(_unchanged(ids[1], 1), now=NOW),
                return_exceptions=True,
            )
            await recorder.record(_unchanged(ids[2], 2), now=NOW)  # the recorder still works
            return results

        outcomes = asyncio.run(run())
        recorder.close()
        assert all(isinstance(o, RuntimeError) for o in outcomes), outcomes
        polls = {s.id: s.polls for s in store.list_sources(now=NOW)}
        assert polls == {ids[0]: 0, ids[1]: 0, ids[2]: 1}
        assert _articles(store) == 0
    finally:
        store.close()


def test_a_lone_poll_is_recorded_without_waiting(db_url: str) -> None:
    store = Store(db_url)
    try:
        (sid,) = _setup(store, 1)
        recorder = PollRecorder(store)
        report = asyncio.run(recorder.record(_with_articles(sid, 0), now=NOW))
        recorder.close()
        assert report.articles_added == 2 and store.list_sources(now=NOW)[0].polls == 1
    finally:
        store.close()
