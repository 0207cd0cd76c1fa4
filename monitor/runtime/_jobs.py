"""The daemon's units of work, one coroutine each, shared by its two execution modes.

With SQLite (one process) an APScheduler tick calls ``due``/``lease`` and asyncio workers call ``poll``;
with PostgreSQL the same coroutines are the bodies of procrastinate jobs (``_jobs_queue``), run by
whichever replica fetches them. Nothing here knows which mode runs it.

**Polls are fenced by the source's lease.** A tick picks due, unleased sources, queues one poll per
source, then leases them until ``now + lease_s``; that lease value travels with the poll (a job
argument) and is the poll's right to fetch. ``Store.start_poll`` lets a poll run only while the source
still holds exactly its lease (or is due and free, when the tick died before leasing) and recording the
poll clears the lease. So a poll whose worker was killed can be retried elsewhere (the dead run never
recorded anything), while a duplicate poll of a source polled since, or leased by another tick, does
nothing: no source is fetched twice for one due time, whatever the queue delivers twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.log import get_logger
from monitor.pipeline import Pipeline, PollSummary
from monitor.runtime._dispatcher import Dispatcher, DispatchReport
from monitor.runtime._stories import StageTotals, StoryLifecycle
from monitor.store import Store

log = get_logger("monitor.jobs")

# A polled source is leased for this long; a poll that dies gives it back when the lease ends (or its
# job is retried by the job queue's stalled-job recovery, which needs no wait for the lease).
SOURCE_LEASE_S = 900.0


@dataclass(frozen=True, slots=True)
class PollTicket:
    """One queued poll: the source and the lease value that entitles it to fetch."""

    source_id: int
    lease: datetime

    def as_args(self) -> dict[str, int | str]:
        return {"source_id": self.source_id, "lease": self.lease.isoformat()}

    @classmethod
    def from_args(cls, *, source_id: int, lease: str) -> PollTicket:
        at = datetime.fromisoformat(lease)
        if at.tzinfo is None:
            raise ValueError(f"poll job for source {source_id}: lease {lease!r} has no time zone")
        return cls(source_id, at.astimezone(UTC))


class Work:
    """The job bodies over the daemon's components (store, pipeline, dispatcher)."""

    def __init__(
        self,
        *,
        store: Store,
        pipeline: Pipeline,
        dispatcher: Dispatcher,
        stories: StoryLifecycle,
        clock: Callable[[], datetime],
        lease_s: float = SOURCE_LEASE_S,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.dispatcher = dispatcher
        self.stories = stories
        self.clock = clock
        self.lease_s = lease_s

    # polls ---------------------------------------------------------------------------------------------
    async def due(self, *, limit: int) -> tuple[datetime, list[int]]:
        """Sources due now and free (up to ``limit``), and the lease value a tick hands their polls."""
        now = self.clock()
        ids = await asyncio.to_thread(self.store.due_source_ids, now=now, limit=limit)
        return now + timedelta(seconds=self.lease_s), ids

    async def lease(self, ids: Sequence[int], lease: datetime) -> int:
        """Lease the sources whose polls were queued (after queueing: a tick that dies in between leaves
        them due and free, and their polls take the lease themselves)."""
        if not ids:
            return 0
        return await asyncio.to_thread(self.store.lease_sources, list(ids), until=lease, now=self.clock())

    async def poll(self, ticket: PollTicket) -> PollSummary | None:
        """Poll one source if the ticket still entitles it; None when another run owns the source."""
        src = await asyncio.to_thread(
            self.store.start_poll, ticket.source_id, lease=ticket.lease, now=self.clock()
        )
        if src is None:
            log.debug("poll.skipped", source_id=ticket.source_id, reason="polled or leased elsewhere")
            return None
        return await self.pipeline.poll(src)

    # stories -------------------------------------------------------------------------------------------
    async def assign_stories(self, *, budget_s: float) -> StageTotals:
        """The story stage: decide pending articles' stories and write their alerts (one runner at a
        time across the cluster: the caller's job lock, and the stage's own database lock)."""
        return await self.stories.assign_pending(budget_s=budget_s)

    # delivery ------------------------------------------------------------------------------------------
    async def plan_deliveries(self) -> list[str]:
        """Hold and seal digests, then the channels that have something to send now."""
        return await self.dispatcher.plan()

    async def deliver(self, channel: str) -> DispatchReport:
        """One channel's digests and immediate alerts (the caller keeps one channel to one runner)."""
        return await self.dispatcher.drain_channel(channel)
