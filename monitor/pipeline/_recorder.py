"""Group commit for polls that bring no articles (unchanged feeds, failures).

Most polls of a steady deployment answer 304 (or an unchanged body): all they record is the source's
next check time and validators. One transaction (and, on SQLite, one WAL commit) per such poll made the
store the steady pass's bottleneck. Here a poll hands its record over and waits until it is durable; the
records that arrive while a commit is running go together in the next one. Nothing waits for a timer,
so a lone poll is recorded as fast as before, and a burst costs one transaction per batch.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from monitor.store import PollRecord, Store

__all__ = ["SourceRecorder"]

_MAX_BATCH = 500


class SourceRecorder:
    """Records article-less polls in batches (one runner per event loop; ``record`` is safe to call from
    many tasks at once)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._waiting: list[tuple[PollRecord, datetime, asyncio.Future[None]]] = []
        self._running: asyncio.Task[None] | None = None

    async def record(self, record: PollRecord, *, now: datetime) -> None:
        """Return once ``record`` is committed; raise what the commit raised."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.append((record, now, done))
        if self._running is None or self._running.done():
            self._running = loop.create_task(self._drain())
        await done

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:_MAX_BATCH], self._waiting[_MAX_BATCH:]
            try:
                await asyncio.to_thread(self.store.apply_source_updates, [(r, now) for r, now, _f in batch])
            except Exception as exc:  # every poll of the batch learns it, as if it had committed alone
                for _r, _now, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for _r, _now, fut in batch:
                if not fut.done():
                    fut.set_result(None)
