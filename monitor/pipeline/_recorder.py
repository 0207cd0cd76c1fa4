"""Group commit of every poll's outcome, through one writer thread.

A cold deployment's polls each bring about twenty new articles, a steady one's mostly answer 304. Either
way, one transaction per poll made the store the bottleneck:

- on SQLite only one transaction writes at a time. Several threads each committing its own poll mostly
  waited for the database lock, and SQLite's busy handler waits by sleeping (1, 2, 5 ... 100 ms), so the
  cold pass of ``bench/poll.py`` kept the two cores half idle;
- each commit (and each poll's own savepoint) costs its WAL write and SQLAlchemy's bookkeeping.

So every poll hands its record to one writer and waits until it is durable. The records that arrive
while a commit is running go together in the next one (``Store.apply_polls``: the source states in one
executemany per shape of change, each poll's articles in a savepoint of its own, so that a poll's own
failure is reported to that poll alone). Nothing waits for a timer: a lone poll is recorded as fast as
before, and a burst costs one transaction per batch. A failure of the whole transaction (the database
gone, say) is reported to every poll of the batch, as if each had committed alone.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from monitor.store import ApplyReport, PollRecord, Store

__all__ = ["PollRecorder"]

_MAX_RECORDS = 500  # records per transaction
_MAX_ARTICLES = 2_000  # new articles per transaction: a batch holds SQLite's write lock while it runs


class PollRecorder:
    """Records polls in batches (one per event loop; ``record`` is safe to call from many tasks at once).

    ``defer_stories``: the articles wait for the story stage (see ``Store.apply_poll``).
    """

    def __init__(self, store: Store, *, defer_stories: bool = False) -> None:
        self.store = store
        self.defer_stories = defer_stories
        self._waiting: list[tuple[PollRecord, datetime, asyncio.Future[ApplyReport]]] = []
        self._running: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")

    async def record(self, record: PollRecord, *, now: datetime) -> ApplyReport:
        """Return once ``record`` is committed, with what it stored; raise what its commit raised."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[ApplyReport] = loop.create_future()
        self._waiting.append((record, now, done))
        if self._running is None or self._running.done():
            self._running = loop.create_task(self._drain())
        return await done

    def close(self) -> None:
        """Stop the writer thread once the batch in hand is committed (after the last poll)."""
        self._thread.shutdown(wait=True)

    def _take(self) -> list[tuple[PollRecord, datetime, asyncio.Future[ApplyReport]]]:
        articles = 0
        n = 0
        for record, _now, _fut in self._waiting[:_MAX_RECORDS]:
            if n and articles + len(record.articles) > _MAX_ARTICLES:
                break
            articles += len(record.articles)
            n += 1
        batch, self._waiting = self._waiting[:n], self._waiting[n:]
        return batch

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch = self._take()
            records = [(r, now) for r, now, _f in batch]
            try:
                results = await loop.run_in_executor(self._thread, self._apply, records)
            except Exception as exc:  # the whole transaction failed: every poll of the batch learns it
                for _r, _now, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_r, _now, fut), result in zip(batch, results, strict=True):
                if fut.done():  # its poll was cancelled meanwhile
                    continue
                if isinstance(result, Exception):
                    fut.set_exception(result)
                else:
                    fut.set_result(result)

    def _apply(self, records: list[tuple[PollRecord, datetime]]) -> list[ApplyReport | Exception]:
        return self.store.apply_polls(records, defer_stories=self.defer_stories)
