"""The daemon: a periodic tick asks the database which sources are due, a bounded pool of asyncio
workers polls them, and the dispatcher drains the outbox.

Like Miniflux, the scheduler holds no state of its own: next check times, validators and errors live in
the database, so a restart (or a second replica) loses nothing. SIGTERM / SIGINT stop the claiming of new
work, let the work in flight finish (up to a grace period) and exit cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.fetch import HttpFetcher
from monitor.log import get_logger
from monitor.match import EngineHolder
from monitor.pipeline import CpuRunner, ExecutorRunner, Pipeline, PollSummary
from monitor.runtime import _build
from monitor.runtime._dispatcher import Dispatcher, DispatchReport
from monitor.runtime._http import HealthServer
from monitor.runtime._metrics import Metrics
from monitor.settings import Settings
from monitor.store import SourceRow, Store

log = get_logger("monitor.runtime")

# A claimed source is leased for this long; a worker that dies mid-poll gives it back when the lease ends.
SOURCE_LEASE_S = 900.0


@dataclass
class RunReport:
    polls: int = 0
    failures: int = 0
    new_articles: int = 0
    hits: int = 0
    alerts_enqueued: int = 0
    dispatch: DispatchReport = field(default_factory=DispatchReport)

    def add(self, summary: PollSummary) -> None:
        self.polls += 1
        self.failures += 0 if summary.ok else 1
        self.new_articles += summary.new_articles
        self.hits += summary.hits
        self.alerts_enqueued += summary.alerts


class Daemon:
    def __init__(
        self,
        settings: Settings,
        *,
        console_stream: TextIO | None = None,
        cpu: CpuRunner | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        grace_s: float = 8.0,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.grace_s = grace_s
        self.store = Store(settings.database_url)
        self.cpu = cpu or ExecutorRunner()
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
        self.pipeline = Pipeline(
            store=self.store,
            fetcher=self.fetcher,
            engine=self.engine,
            cpu=self.cpu,
            options=_build.pipeline_options(settings),
            clock=clock,
            observer=self.metrics,
        )
        self.dispatcher = Dispatcher.from_settings(
            settings, store=self.store, notifiers=self.notifiers, clock=clock
        )
        self._watchlists_version: tuple[int, str | None] | None = None
        self._stop = asyncio.Event()
        self._queue: asyncio.Queue[SourceRow] = asyncio.Queue()
        self._in_flight: set[int] = set()
        self.last_tick: datetime | None = None

    # lifecycle ----------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Migrate the schema and sync config-declared sources and watchlists into the database."""
        self.store.upgrade()
        report = self.store.sync_config(
            [_build.source_spec(s) for s in self.settings.sources],
            [_build.watchlist_spec(w) for w in self.settings.watchlists],
            now=self.clock(),
        )
        log.info(
            "config.synced",
            **{k: dict(zip(("added", "changed", "removed"), v, strict=True)) for k, v in report.items()},
        )

    async def aclose(self) -> None:
        await self.fetcher.aclose()
        for notifier in self.notifiers.values():
            with contextlib.suppress(Exception):
                await notifier.aclose()
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
        """Poll every enabled source once, then deliver until the outbox has nothing due."""
        await asyncio.to_thread(self.prepare)
        await self.refresh_engine()
        await asyncio.to_thread(self.store.make_all_due, now=self.clock())
        report = RunReport()
        sem = asyncio.Semaphore(self.settings.workers)
        polled: set[int] = set()
        while True:
            due = await asyncio.to_thread(
                self.store.claim_due_sources, now=self.clock(), limit=1000, lease_s=SOURCE_LEASE_S
            )
            due = [s for s in due if s.id not in polled]
            if not due:
                break
            polled.update(s.id for s in due)

            async def poll(src: SourceRow) -> PollSummary:
                async with sem:
                    return await self.pipeline.poll(src)

            for summary in await asyncio.gather(*(poll(s) for s in due)):
                report.add(summary)
        report.dispatch = await self.dispatcher.drain()
        return report

    # the daemon ---------------------------------------------------------------------------------------
    async def tick(self) -> None:
        """Ask the database which sources are due and queue them for the workers."""
        self.last_tick = self.clock()
        self.metrics.last_tick.set(self.last_tick.timestamp())
        if self._stop.is_set():
            return
        await self.refresh_engine()
        due_count, earliest = await asyncio.to_thread(self.store.due_summary, now=self.last_tick)
        self.metrics.sources_due.set(due_count)
        lag = (self.last_tick - earliest).total_seconds() if earliest else 0.0
        self.metrics.schedule_lag.set(max(0.0, lag))
        free = max(0, self.settings.workers * 2 - self._queue.qsize() - len(self._in_flight))
        if free == 0:
            return
        due = await asyncio.to_thread(
            self.store.claim_due_sources, now=self.clock(), limit=free, lease_s=SOURCE_LEASE_S
        )
        for src in due:
            self._queue.put_nowait(src)
        if due:
            log.debug("tick.queued", sources=len(due))

    async def _worker(self, n: int) -> None:
        while not self._stop.is_set():
            try:
                src = await asyncio.wait_for(self._queue.get(), timeout=0.5)
            except TimeoutError:
                continue
            self._in_flight.add(src.id)
            try:
                await self.pipeline.poll(src)
            except Exception:  # the daemon keeps running whatever one source does
                log.exception("source.poll_crashed", source=src.name)
            finally:
                self._in_flight.discard(src.id)
                self._queue.task_done()

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

    def request_stop(self) -> None:
        if not self._stop.is_set():
            log.info("daemon.stopping")
        self._stop.set()

    async def run_forever(self) -> None:
        await asyncio.to_thread(self.prepare)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        scheduler = AsyncIOScheduler(event_loop=loop, timezone=UTC)
        now = datetime.now(UTC)
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.settings.tick,
            next_run_time=now,
            max_instances=1,
            coalesce=True,
            id="tick",
        )
        scheduler.add_job(
            self._dispatch,
            "interval",
            seconds=2,
            next_run_time=now,
            max_instances=1,
            coalesce=True,
            id="dispatch",
        )
        workers = [asyncio.create_task(self._worker(i)) for i in range(self.settings.workers)]
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
        scheduler.start()
        log.info("daemon.started", workers=self.settings.workers, tick_s=self.settings.tick)
        try:
            await self._stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            _done, pending = await asyncio.wait(workers, timeout=self.grace_s)
            for task in pending:
                task.cancel()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.dispatcher.drain(max_rounds=5), timeout=1.5)
            if self.http is not None:
                await self.http.close()
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
            log.info("daemon.stopped")
