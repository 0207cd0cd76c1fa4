"""The job-queue mode: with PostgreSQL, the daemon's work runs as procrastinate jobs shared by replicas.

Every replica runs one procrastinate worker on the queues of its role and registers the periodic tasks
of that role; procrastinate defers each periodic task once per instant across the cluster (a unique row
per task and timestamp), so adding replicas adds hands, not ticks.

- ``monitor.tick`` (queue ``schedule``; periodic every ``tick``; lock and queueing lock
  ``monitor.tick``): defers one ``monitor.poll(source_id, lease)`` (queue ``poll``; queueing lock
  ``poll:<id>``, so one waiting poll per source) per due source, then leases those sources.
- ``monitor.dispatch`` (queue ``deliver``; periodic every ``jobs.dispatch_every``; lock and queueing
  lock ``monitor.dispatch``): holds and seals digests, then defers one ``monitor.deliver(channel)`` (queue
  ``deliver``; lock ``channel:<name>``, so one channel is never served by two replicas at once;
  queueing lock ``deliver:<name>``) per channel with due work. A delivery job sends the channel's due
  digests, then its immediate alerts, for at most ``round_budget_s``.
- ``monitor.stories`` (queue ``schedule``; periodic every ``jobs.stories_every``; lock and queueing lock
  ``monitor.stories``): the story stage, which decides the stories of the articles polls stored and
  writes their alerts, for at most ``_STORY_BUDGET_S`` per run (one runner at a time, so polls never wait
  for stories and the stage's decisions are taken in one order).
- ``monitor.recover`` (queue ``maintenance``; periodic every ``jobs.recover_every``): stalled-job
  recovery, below.
- ``monitor.housekeeping.<id>`` (queue ``maintenance``; periodic; queueing lock of its name): source
  health and pruning (``_housekeeping``).

Priorities: control jobs (tick, dispatch, recover) 10, the story stage 7, deliveries 5, polls 0.
Roles: ``poller`` works ``schedule``, ``poll`` and ``maintenance``; ``notifier`` works ``deliver`` and
``maintenance``; ``all`` works everything. Stalled jobs (their worker stopped sending heartbeats for
``jobs.stalled_after``: it was killed or lost its database) are put back to ``todo`` by
``monitor.recover`` and run on a live replica; a poll's own lease (see ``_jobs``) makes that retry safe.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from procrastinate import App, PsycopgConnector, RetryDecision
from procrastinate.exceptions import AlreadyEnqueued, JobAborted, UniqueViolation
from procrastinate.jobs import Job, Status
from procrastinate.retry import BaseRetryStrategy
from procrastinate.worker import Worker

from monitor.log import get_logger
from monitor.runtime._jobs import PollTicket, Work
from monitor.runtime._roles import QUEUES, ROLES, Role
from monitor.settings import Settings

log = get_logger("monitor.jobs")

TICK_LIMIT = 2000  # polls one tick defers at most; the rest are still due on the next tick
_BATCH = 200  # polls deferred per statement
# Priorities (higher first): control jobs, then deliveries (the product's output must not wait behind a
# backlog of polls when the pollers are saturated), then polls (0).
_CONTROL = 10
_STORIES = 7
_DELIVER = 5
_STORY_BUDGET_S = 20.0
Housekeeping = Sequence[tuple[str, Callable[[], Awaitable[None]], float, float]]


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://…`` (SQLAlchemy's spelling) as libpq wants it; query options are kept."""
    return re.sub(r"^postgres(?:ql)?(?:\+\w+)?://", "postgresql://", url)


def cron_every(seconds: float) -> tuple[str, int]:
    """A cron expression firing about every ``seconds``, and its real period.

    Cron counts from the top of each minute, hour and day, so the period is rounded down to one that
    divides the next unit (procrastinate's sixth column is seconds): 45 s runs every 30 s, 90 s every
    minute. Every replica derives the same instants, which is what lets procrastinate defer each once.
    """
    s = max(1, int(seconds))

    def below(n: int, unit: int) -> int:
        return max(d for d in range(1, unit) if unit % d == 0 and d <= n)

    if s < 60:
        p = below(s, 60)
        return ("* * * * * *" if p == 1 else f"* * * * * */{p}"), p
    if s < 3600:
        m = below(s // 60, 60)
        return ("* * * * *" if m == 1 else f"*/{m} * * * *"), m * 60
    if s < 86400:
        h = below(s // 3600, 24)
        return ("0 * * * *" if h == 1 else f"0 */{h} * * *"), h * 3600
    return "0 0 * * *", 86400


class _RetryAfterShutdown(BaseRetryStrategy):
    """A poll cancelled because its replica is shutting down goes back to the queue for another one
    (its lease still entitles it); any other failure is not retried (the pipeline records source
    failures itself, and the next tick decides again)."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, asyncio.CancelledError | JobAborted) and job.attempts < 5:
            return RetryDecision(retry_in={"seconds": 0})
        return None


class JobQueue:
    """One replica's procrastinate app and worker for ``role``."""

    def __init__(
        self,
        settings: Settings,
        *,
        work: Work,
        role: Role = "all",
        housekeeping: Housekeeping = (),
        grace_s: float = 8.0,
    ) -> None:
        if role not in QUEUES:
            raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
        self.settings = settings
        self.work = work
        self.role = role
        self.grace_s = grace_s
        self.queues = QUEUES[role]
        self.concurrency = settings.workers + 2
        self.worker: Worker | None = None
        self.app = App(
            connector=PsycopgConnector(
                conninfo=libpq_url(settings.database_url),
                min_size=1,
                max_size=max(4, min(self.concurrency, 12)),
            )
        )
        self._register(housekeeping)

    # tasks -----------------------------------------------------------------------------------------------
    def _register(self, housekeeping: Housekeeping) -> None:
        app, jobs = self.app, self.settings.jobs
        polls = "schedule" in self.queues
        delivers = "deliver" in self.queues

        self.poll_task = app.task(name="monitor.poll", queue="poll", retry=_RetryAfterShutdown())(self._poll)
        self.deliver_task = app.task(name="monitor.deliver", queue="deliver", priority=_DELIVER)(
            self._deliver
        )
        # The control jobs also take a lock: two ticks running at once (a slow one and the next) would
        # only race to queue the same polls.
        tick = app.task(
            name="monitor.tick",
            queue="schedule",
            priority=_CONTROL,
            lock="monitor.tick",
            queueing_lock="monitor.tick",
        )(self._tick)
        dispatch = app.task(
            name="monitor.dispatch",
            queue="deliver",
            priority=_CONTROL,
            lock="monitor.dispatch",
            queueing_lock="monitor.dispatch",
        )(self._dispatch)
        stories = app.task(
            name="monitor.stories",
            queue="schedule",
            priority=_STORIES,
            lock="monitor.stories",
            queueing_lock="monitor.stories",
        )(self._stories)
        recover = app.task(
            name="monitor.recover", queue="maintenance", priority=_CONTROL, queueing_lock="monitor.recover"
        )(self._recover)
        if polls:
            app.periodic(cron=cron_every(self.settings.tick)[0])(tick)
            app.periodic(cron=cron_every(jobs.stories_every)[0])(stories)
        if delivers:
            app.periodic(cron=cron_every(jobs.dispatch_every)[0])(dispatch)
        app.periodic(cron=cron_every(jobs.recover_every)[0])(recover)
        # Every role works the maintenance queue, so every role knows the housekeeping tasks; only the
        # polling roles schedule them (a notifier-only cluster keeps no house).
        for job_id, fn, every_s, _first_s in housekeeping:
            name = f"monitor.housekeeping.{job_id}"
            task = app.task(name=name, queue="maintenance", queueing_lock=name)(_periodic(fn))
            if polls:
                app.periodic(cron=cron_every(every_s)[0])(task)

    async def _tick(self, timestamp: int) -> None:
        """Queue one poll per due source, then lease the sources whose polls were queued."""
        lease, ids = await self.work.due(limit=TICK_LIMIT)
        queued: list[int] = []
        for start in range(0, len(ids), _BATCH):
            queued += await self._queue_polls([PollTicket(i, lease) for i in ids[start : start + _BATCH]])
        leased = await self.work.lease(queued, lease)
        if queued:
            log.debug("tick.queued", polls=len(queued), leased=leased, due=len(ids))

    async def _queue_polls(self, tickets: Sequence[PollTicket]) -> list[int]:
        """Defer polls in one statement; if one of them already waits (its queueing lock is taken, and
        the whole statement fails), defer them one by one and skip those."""
        manager = self.app.job_manager

        def job(t: PollTicket) -> Job:
            deferrer = self.poll_task.configure(queueing_lock=f"poll:{t.source_id}")
            return deferrer.make_new_job(**t.as_args())

        try:
            await manager.batch_defer_jobs_async([job(t) for t in tickets])
            return [t.source_id for t in tickets]
        except AlreadyEnqueued:
            pass
        queued: list[int] = []
        for t in tickets:
            try:
                await manager.defer_job_async(job(t))
            except AlreadyEnqueued:  # a poll of it is still waiting: that one will do
                continue
            queued.append(t.source_id)
        return queued

    async def _poll(self, source_id: int, lease: str) -> None:
        await self.work.poll(PollTicket.from_args(source_id=source_id, lease=lease))

    async def _stories(self, timestamp: int) -> None:
        await self.work.assign_stories(budget_s=_STORY_BUDGET_S)

    async def _dispatch(self, timestamp: int) -> None:
        for channel in await self.work.plan_deliveries():
            try:
                await self.deliver_task.configure(
                    lock=f"channel:{channel}", queueing_lock=f"deliver:{channel}"
                ).defer_async(channel=channel)
            except AlreadyEnqueued:  # the channel's next round is already waiting
                continue

    async def _deliver(self, channel: str) -> None:
        await self.work.deliver(channel)

    async def _recover(self, timestamp: int) -> None:
        """Put the jobs of replicas that stopped sending heartbeats back to ``todo`` for the live ones.

        A job whose queueing lock is taken by a newer waiting job (a tick, a channel's round) is closed
        as failed instead: the newer one does its work.
        """
        manager = self.app.job_manager
        stalled_after = self.settings.jobs.stalled_after
        await manager.prune_stalled_workers(stalled_after)
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
            try:
                await manager.retry_job(job)
                log.warning("job.recovered", job=job.id, task=job.task_name, args=job.task_kwargs)
            except UniqueViolation:
                await manager.finish_job(job, status=Status.FAILED, delete_job=False)
                log.warning("job.superseded", job=job.id, task=job.task_name, lock=job.queueing_lock)

    # running ---------------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Work the role's queues until ``stop`` is set; ends early (raising) if the worker fails."""
        jobs = self.settings.jobs
        async with self.app.open_async():
            self.worker = Worker(
                self.app,
                queues=list(self.queues),
                name=f"{socket.gethostname()[:40]}:{os.getpid()}:{self.role}",
                concurrency=self.concurrency,
                install_signal_handlers=False,
                update_heartbeat_interval=jobs.heartbeat,
                stalled_worker_timeout=jobs.stalled_after,
                shutdown_graceful_timeout=self.grace_s,
                delete_jobs="successful",
            )
            runner = asyncio.create_task(
                self.worker.run(),  # type: ignore[no-untyped-call]
                name="procrastinate worker",
            )
            stopping = asyncio.create_task(stop.wait())
            try:
                await self._announce(runner)
                await asyncio.wait({runner, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                if not runner.done():
                    self.worker.stop()  # type: ignore[no-untyped-call]
                await runner  # raises if the worker died on its own (the daemon then exits non-zero)
            if not stop.is_set():
                raise RuntimeError("the job-queue worker stopped by itself")

    async def _announce(self, runner: asyncio.Task[Any]) -> None:
        """Log the worker id procrastinate registered (operators match it with ``procrastinate_jobs``)."""
        assert self.worker is not None
        for _ in range(600):
            if self.worker.worker_id is not None or runner.done():
                break
            await asyncio.sleep(0.05)
        log.info(
            "jobs.started",
            role=self.role,
            queues=list(self.queues),
            concurrency=self.concurrency,
            worker_id=self.worker.worker_id,
        )


def _periodic(fn: Callable[[], Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A housekeeping coroutine as a periodic task (which procrastinate calls with its timestamp)."""

    async def run(timestamp: int, **_: Any) -> None:
        await fn()

    return run
