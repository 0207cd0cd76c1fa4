"""The daemon: a periodic tick asks the database which sources are due, workers poll them, and the
dispatcher drains the outbox.

Two execution modes share the job bodies of ``_jobs``: with SQLite, an APScheduler tick, a bounded pool
of asyncio workers and a periodic dispatcher in this one process (the embedded mode); with PostgreSQL,
procrastinate jobs shared by every replica (``_jobs_queue``, the job-queue mode). ``run_forever`` picks
the mode from the database URL; ``role`` splits polling from delivery across processes.

Like Miniflux, the scheduler holds no state of its own: next check times, validators and errors live in
the database, so a restart (or a second replica) loses nothing. SIGTERM / SIGINT stop the claiming of new
work, let the work in flight finish (up to a grace period) and exit cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.core.heap import limit_arenas, settle_heap, trim_heap
from monitor.fetch import HttpFetcher
from monitor.log import get_logger
from monitor.match import EngineHolder
from monitor.pipeline import CpuRunner, ExecutorRunner, Pipeline, PollSummary
from monitor.runtime import _build
from monitor.runtime._dispatcher import Dispatcher
from monitor.runtime._feeder import ClaimedSources, PollFeeder
from monitor.runtime._housekeeping import Housekeeper, reload_config
from monitor.runtime._http import HealthServer
from monitor.runtime._jobs import SOURCE_LEASE_S, Work
from monitor.runtime._metrics import Metrics
from monitor.runtime._report import RunReport
from monitor.runtime._roles import Role
from monitor.runtime._stories import StoryLifecycle
from monitor.settings import Settings
from monitor.store import Store

log = get_logger("monitor.runtime")

__all__ = ["SOURCE_LEASE_S", "Daemon"]


class Daemon:
    def __init__(
        self,
        settings: Settings,
        *,
        console_stream: TextIO | None = None,
        cpu: CpuRunner | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        grace_s: float = 8.0,
        reload: Callable[[], Settings] | None = None,
    ) -> None:
        limit_arenas()  # before the daemon starts its threads (monitor.core.heap)
        self.settings = settings
        self.clock = clock
        self.grace_s = grace_s
        self.store = Store(settings.database_url)
        self.cpu = cpu or ExecutorRunner(processes=settings.worker_processes)
        self.engine = EngineHolder()
        self.fetcher = HttpFetcher(
            policy=_build.fetch_policy(settings),
            max_connections=settings.fetch.concurrency,
            per_host_limit=settings.fetch.per_host,
        )
        self.notifiers = _build.notifiers(settings, console_stream=console_stream)
        self._watchlist_names: dict[int, str] = {}
        self.metrics = Metrics(watchlist_name=lambda wid: self._watchlist_names.get(wid, str(wid)))
        self.http: HealthServer | None = None
        self.stories = StoryLifecycle.from_settings(settings, store=self.store, clock=clock)
        self.pipeline = Pipeline(
            store=self.store,
            fetcher=self.fetcher,
            engine=self.engine,
            cpu=self.cpu,
            options=_build.pipeline_options(settings),
            clock=clock,
            observer=self.metrics,
            defer_stories=self.stories.service is not None,
        )
        self.dispatcher = Dispatcher.from_settings(
            settings, store=self.store, notifiers=self.notifiers, clock=clock
        )
        # Source-health alerts and retention (settings ``operations`` / ``retention``); SIGHUP re-reads
        # the file through ``reload`` (the CLI passes its loader) and re-syncs sources and watchlists.
        self.housekeeper = Housekeeper.from_settings(
            settings, store=self.store, clock=clock, stopping=lambda: self._stop.is_set()
        )
        self._reload = reload
        self._watchlists_version: tuple[int, str | None] | None = None
        self._stop = asyncio.Event()
        self.work = Work(
            store=self.store,
            pipeline=self.pipeline,
            dispatcher=self.dispatcher,
            stories=self.stories,
            clock=clock,
        )
        self._stories_due = asyncio.Event()  # set by a poll that stored articles: run the story stage
        self.feeder = PollFeeder(
            self.work, workers=settings.workers, stopping=self._stop.is_set, on_articles=self._stories_due
        )
        self.last_tick: datetime | None = None
        self._prepared = False  # ``prepare`` ran (the settings are frozen: once per daemon is enough)

    # lifecycle ----------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Migrate the schema and sync config-declared sources and watchlists into the database."""
        self.store.upgrade(in_child=True)  # Alembic stays out of the long-running process
        report = self.store.sync_config(
            [_build.source_spec(s) for s in self.settings.sources],
            [_build.watchlist_spec(w) for w in self.settings.watchlists],
            now=self.clock(),
        )
        log.info(
            "config.synced",
            **{k: dict(zip(("added", "changed", "removed"), v, strict=True)) for k, v in report.items()},
        )
        self.stories.start()  # load the story index, catch up from the database
        settle_heap()  # a sync of thousands of sources leaves freed pages, and a heap to freeze
        self._prepared = True

    async def aclose(self) -> None:
        await self.fetcher.aclose()
        for notifier in self.notifiers.values():
            with contextlib.suppress(Exception):
                await notifier.aclose()
        self.pipeline.close()
        self.cpu.close()
        self.store.close()

    async def refresh_engine(self) -> None:
        """Rebuild the matcher when watchlists changed (CLI edits reach a running daemon this way)."""
        version = await asyncio.to_thread(self.store.watchlists_version)
        if version == self._watchlists_version:
            return
        rows = await asyncio.to_thread(self.store.list_watchlists)
        await self.engine.rebuild(_build.match_specs(rows))
        self._watchlist_names = {r.id: r.name for r in rows}
        self._watchlists_version = version
        log.info("engine.rebuilt", watchlists=sum(1 for r in rows if r.enabled))

    # one pass -----------------------------------------------------------------------------------------
    async def run_once(self) -> RunReport:
        """Poll every enabled source once, then deliver until the outbox has nothing due (the schema
        and the config's sources are synced first, unless this daemon did it already)."""
        if not self._prepared:
            await asyncio.to_thread(self.prepare)
        await self.refresh_engine()
        await asyncio.to_thread(self.store.make_all_due, now=self.clock())
        report = RunReport()
        sources = ClaimedSources(
            lambda limit: self.store.claim_due_sources(now=self.clock(), limit=limit, lease_s=SOURCE_LEASE_S)
        )

        async def worker() -> None:
            while (src := await sources.next()) is not None:
                try:
                    report.add(await self.pipeline.poll(src))
                except Exception as exc:  # as in the feeder: one source's crash costs its poll, not the pass
                    log.exception("source.poll_crashed", source_id=src.id)
                    report.add(PollSummary(src.name, ok=False, error=f"{type(exc).__name__}: {exc}"))

        await asyncio.gather(*(worker() for _ in range(self.settings.workers)))
        report.stories = await self.stories.assign_pending()
        report.alerts_enqueued += report.stories.alerts
        await self.housekeeper.check_health()
        report.dispatch = await self.dispatcher.drain()
        await asyncio.to_thread(self.stories.save)
        trim_heap()
        return report

    # the daemon ---------------------------------------------------------------------------------------
    async def observe(self, *, polls: bool = True) -> None:
        """This process's own beat (liveness, gauges, and the matcher when it polls): the embedded
        tick, or every few seconds in the job-queue mode, where the tick job runs on one replica."""
        self.last_tick = self.clock()
        self.metrics.last_tick.set(self.last_tick.timestamp())
        trim_heap()  # what the polls since the last beat freed (a millisecond or so: once per beat)
        if self._stop.is_set() or not polls:
            return
        await self.stories.maybe_maintain()
        await self.refresh_engine()
        due_count, earliest = await asyncio.to_thread(self.store.due_summary, now=self.last_tick)
        self.metrics.sources_due.set(due_count)
        lag = (self.last_tick - earliest).total_seconds() if earliest else 0.0
        self.metrics.schedule_lag.set(max(0.0, lag))

    async def tick(self) -> None:
        """Embedded mode: ask the database which sources are due, lease them, queue their polls."""
        await self.observe()
        await self.feeder.top_up()

    async def _story_stage(self) -> None:
        """Embedded mode: run the story stage when polls stored articles (and every few seconds, for
        articles a previous run left pending)."""
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stories_due.wait(), timeout=5.0)
            self._stories_due.clear()
            if self._stop.is_set():
                break
            try:
                await self.stories.assign_pending(budget_s=10.0)
            except Exception:  # the database is away: the next round tries again
                log.exception("stories.stage_failed")

    async def _dispatch(self) -> None:
        if not self._stop.is_set():
            await self.dispatcher.drain()

    # health -------------------------------------------------------------------------------------------
    async def live(self) -> tuple[bool, str]:
        """Alive when this coroutine runs at all (the loop answers) and the scheduler ticked recently."""
        if self.last_tick is None:
            return True, "starting"
        age = (self.clock() - self.last_tick).total_seconds()
        limit = max(60.0, 3 * self.settings.tick)
        return (age <= limit), f"last tick {age:.0f}s ago (limit {limit:.0f}s)"

    async def ready(self) -> tuple[bool, str]:
        try:
            current = await asyncio.to_thread(self.store.is_current)
        except Exception as exc:
            return False, f"database unreachable: {type(exc).__name__}"
        return (True, "ready") if current else (False, "schema is not at head: run 'monitor db upgrade'")

    async def refresh_gauges(self) -> None:
        depth, oldest = await asyncio.to_thread(self.store.outbox_depth)
        self.metrics.outbox_depth.set(depth)
        age = (self.clock() - oldest).total_seconds() if oldest else 0.0
        self.metrics.outbox_oldest.set(max(0.0, age))

    async def reload(self) -> None:
        """SIGHUP: re-read the configuration and re-sync its sources and watchlists (errors are logged
        and the running configuration is kept)."""
        if self._reload is None:
            log.warning("config.reload_unavailable", reason="the daemon was started without a config loader")
            return
        fresh = await reload_config(self.store, load=self._reload, current=self.settings, now=self.clock())
        if fresh is not None:
            self._watchlists_version = None  # rebuild the matcher on the next tick

    def request_stop(self) -> None:
        if not self._stop.is_set():
            log.info("daemon.stopping")
        self._stop.set()

    async def run_forever(self, *, role: Role = "all") -> None:
        """Run until SIGTERM/SIGINT: the job-queue mode on PostgreSQL, the embedded mode on SQLite.

        ``role`` ``poller`` polls (and keeps house), ``notifier`` delivers, ``all`` does both.
        """
        # Handlers first: a signal during the start-up sync must not kill the process (SIGHUP's default
        # action). A reload asked for then waits for the sync, so the two never run at once.
        loop = asyncio.get_running_loop()
        prepared = asyncio.Event()
        reloads: set[asyncio.Task[None]] = set()

        async def reload_when_prepared() -> None:
            await prepared.wait()
            await self.reload()

        def on_hup() -> None:
            task = loop.create_task(reload_when_prepared())
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, on_hup)
        log.info("daemon.starting", role=role)  # signals are handled from here on
        await asyncio.to_thread(self.prepare)
        prepared.set()
        if self.settings.http_port is not None:
            self.http = HealthServer(
                host=self.settings.http_host,
                port=self.settings.http_port,
                metrics=self.metrics,
                live=self.live,
                ready=self.ready,
                refresh=self.refresh_gauges,
            )
            await self.http.start()
        try:
            if self.store.dialect == "postgresql":
                await self._run_jobs(role)
            else:
                await self._run_embedded(role)
        finally:
            if self.http is not None:
                await self.http.close()
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
            await asyncio.to_thread(self.stories.save)
            log.info("daemon.stopped")

    async def _run_jobs(self, role: Role) -> None:
        """The job-queue mode: this process is one procrastinate worker of the cluster."""
        from monitor.runtime._jobs_queue import JobQueue  # procrastinate: loaded in this mode only

        polls = role != "notifier"
        if polls:
            await self.refresh_engine()  # before the first poll job
        queue = JobQueue(
            self.settings,
            work=self.work,
            role=role,
            housekeeping=self.housekeeper.jobs(),
            grace_s=self.grace_s,
        )
        beat = asyncio.create_task(self._beat(polls=polls))
        log.info("daemon.started", mode="jobs", role=role, workers=self.settings.workers)
        try:
            await queue.run(self._stop)
        finally:
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)

    async def _beat(self, *, polls: bool) -> None:
        every = max(5.0, min(self.settings.tick, 10.0))  # liveness and watchlist changes, not polls
        while not self._stop.is_set():
            try:
                await self.observe(polls=polls)
            except Exception:  # a database hiccup: the next beat tries again
                log.exception("daemon.beat_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=every)

    async def _run_embedded(self, role: Role) -> None:
        """The embedded mode: APScheduler tick and dispatcher, asyncio workers, all in this process."""
        loop = asyncio.get_running_loop()
        polls, delivers = role != "notifier", role != "poller"
        scheduler = AsyncIOScheduler(event_loop=loop, timezone=UTC)
        now = datetime.now(UTC)
        jobs: list[tuple[str, Callable[[], Awaitable[None]], float, float]] = []
        if polls:
            jobs.append(("tick", self.tick, self.settings.tick, 0.0))
            jobs.extend(self.housekeeper.jobs())
        else:
            jobs.append(("beat", lambda: self.observe(polls=False), self.settings.tick, 0.0))
        if delivers:
            jobs.append(("dispatch", self._dispatch, 2.0, 0.0))
        for job_id, job, every_s, first_s in jobs:
            scheduler.add_job(
                job,
                "interval",
                seconds=every_s,
                next_run_time=now + timedelta(seconds=first_s),
                max_instances=1,
                coalesce=True,
                id=job_id,
            )
        count = self.settings.workers if polls else 0
        workers = [asyncio.create_task(self.feeder.worker(i)) for i in range(count)]
        stage = asyncio.create_task(self._story_stage()) if polls else None
        scheduler.start()
        log.info(
            "daemon.started", mode="embedded", role=role, workers=len(workers), tick_s=self.settings.tick
        )
        try:
            await self._stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            if workers:
                _done, pending = await asyncio.wait(workers, timeout=self.grace_s)
                for task in pending:
                    task.cancel()
            if stage is not None:
                self._stories_due.set()  # wake it: it sees the stop and ends after its batch
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stage, timeout=self.grace_s)
            if delivers:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.dispatcher.drain(max_rounds=5), timeout=1.5)
