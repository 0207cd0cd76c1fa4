"""The embedded mode's poll queue: the tick and the workers around one ``asyncio.Queue``.

The tick asks the database which sources are due, leases them and queues their polls, up to twice the
number of workers. With the tick alone, the daemon polled at most ``2 × workers`` sources per ``tick``
(32 per 30 s by default, about one poll a second): far behind a deployment of thousands of sources, and
invisible to ``run_once`` (which claims its sources itself: ``ClaimedSources`` below). So whenever a
top-up finds more due sources than it has room for, the workers top the queue up again as soon as it runs
low, and the daemon polls as fast as its workers go until nothing is due; then the tick's pace takes over
again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from monitor.core.heap import trim_heap
from monitor.log import get_logger
from monitor.runtime._jobs import PollTicket, Work
from monitor.store import SourceRow

__all__ = ["CLAIM_BATCH", "ClaimedSources", "PollFeeder"]

CLAIM_BATCH = 1000  # sources ``run_once`` claims (leases) at a time

log = get_logger("monitor.runtime")


class PollFeeder:
    """Feeds ``workers`` poll workers from the database (one per daemon, on the daemon's event loop)."""

    def __init__(self, work: Work, *, workers: int, stopping: Callable[[], bool], on_articles: asyncio.Event):
        self.work = work
        self.workers = workers
        self._stopping = stopping
        self._on_articles = on_articles  # set when a poll stored articles (the story stage waits on it)
        self.queue: asyncio.Queue[PollTicket] = asyncio.Queue()
        self.in_flight: set[int] = set()
        self._lock = asyncio.Lock()  # one top-up at a time (the tick's or a worker's)
        self._more_due = False  # the last top-up found more due sources than it had room for
        self._refill: asyncio.Task[None] | None = None

    async def top_up(self) -> None:
        """Queue due sources until the queue holds twice the workers (minus the polls in flight)."""
        async with self._lock:
            if self._stopping():
                return
            free = max(0, self.workers * 2 - self.queue.qsize() - len(self.in_flight))
            if free == 0:
                self._more_due = True  # unknown: look again when the queue runs low
                return
            lease, ids = await self.work.due(limit=free)
            await self.work.lease(ids, lease)
            for source_id in ids:
                self.queue.put_nowait(PollTicket(source_id, lease))
            self._more_due = len(ids) == free
            if ids:
                log.debug("tick.queued", sources=len(ids))

    def _after_poll(self) -> None:
        """A worker finished a poll: refill the queue now if more sources were due than it could take."""
        if not self._more_due or self._stopping() or self.queue.qsize() >= self.workers:
            return
        if self._refill is None or self._refill.done():
            self._more_due = False  # set again by the top-up if it still finds more than it takes
            self._refill = asyncio.get_running_loop().create_task(self._refill_now())

    async def _refill_now(self) -> None:
        try:
            await self.top_up()
        except Exception:  # the database is away: the next tick tries again
            log.exception("tick.refill_failed")

    async def worker(self, n: int) -> None:
        """Poll queued sources until the daemon stops; a source's failure never ends the worker."""
        while not self._stopping():
            try:
                ticket = await asyncio.wait_for(self.queue.get(), timeout=0.5)
            except TimeoutError:
                continue
            self.in_flight.add(ticket.source_id)
            try:
                summary = await self.work.poll(ticket)
                if summary is not None and summary.new_articles:
                    self._on_articles.set()
            except Exception:  # the daemon keeps running whatever one source does
                log.exception("source.poll_crashed", source_id=ticket.source_id, worker=n)
            finally:
                self.in_flight.discard(ticket.source_id)
                self.queue.task_done()
                self._after_poll()


class ClaimedSources:
    """The sources of one ``run_once`` pass, each once, claimed ``CLAIM_BATCH`` at a time by ``claim``
    (it leases them) and handed to the pass's workers by ``next``.

    The next batch is claimed as soon as the claimed ones are all handed out, while the last polls of
    the previous batch are still in flight: waiting for a whole batch to finish left the workers idle
    behind its slowest polls, once per thousand sources.
    """

    def __init__(self, claim: Callable[[int], list[SourceRow]]) -> None:
        self._claim = claim  # blocking (the store): run in a thread
        self._polled: set[int] = set()
        self._queue: list[SourceRow] = []  # claimed, not handed out; popped from the end
        self._lock = asyncio.Lock()
        self._exhausted = False

    async def next(self) -> SourceRow | None:
        """The next source to poll, or None when nothing due is left that this pass has not polled."""
        async with self._lock:
            while not self._queue and not self._exhausted:
                due = [
                    s for s in await asyncio.to_thread(self._claim, CLAIM_BATCH) if s.id not in self._polled
                ]
                self._exhausted = not due
                self._polled.update(s.id for s in due)
                self._queue.extend(reversed(due))
                trim_heap()  # between batches, so that what the last one freed does not stay resident
            return self._queue.pop() if self._queue else None
