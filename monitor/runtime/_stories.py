"""The story index's life in a daemon process: load on start, warm up, run the story stage, prune and save.

Every polling process owns one index (``pipeline.StoryService``). On start it loads the state file
(``stories.state_file``, default ``stories-index.npz`` beside a SQLite database, else ``./data/``) and
then restores from the database whatever was committed after the file's high-water mark inside the
window; without a file that read is the whole window. While running, ``maybe_maintain`` (called from
the daemon's beat) prunes the window every ``prune_every`` and saves the state every ``save_every``;
the state is saved once more on shutdown. A state file shared by several replicas is harmless: each
saves a state that matches what the database had committed, and the catch-up covers the rest.

``assign_pending`` runs the story stage (``Store.assign_stories``) until no article is pending: batches
in a thread, one runner per process (across processes the stage's database lock serialises them). A
batch that fails is retried one article at a time, and an article whose story cannot be decided is
alerted without one, so one bad article never holds the others' alerts back.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from monitor.core.heap import trim_heap
from monitor.log import get_logger
from monitor.pipeline import StoryService
from monitor.settings import Settings
from monitor.store import Store
from monitor.stories import StoryConfig

__all__ = ["StageTotals", "StoryLifecycle", "state_path"]

log = get_logger("monitor.stories")


def state_path(settings: Settings) -> Path:
    """Where the index is saved: the configured file, else beside a SQLite database, else ./data/."""
    cfg = settings.stories
    if cfg.state_file is not None:
        path = Path(cfg.state_file).expanduser()
        if not path.is_absolute() and settings.config_dir is not None:
            path = settings.config_dir / path
        return path
    url = settings.database_url
    if url.startswith("sqlite:///"):
        database = url[len("sqlite:///") :].split("?", 1)[0]
        if database and database != ":memory:":
            return Path(database).expanduser().parent / "stories-index.npz"
    # Named after the database (credentials left out), so that processes pointed at different databases
    # from one working directory never load each other's state.
    bare = re.sub(r"//([^:/@]*):[^@/]*@", r"//\1@", url)
    key = hashlib.sha256(bare.encode()).hexdigest()[:12]
    return Path("data") / f"stories-index-{key}.npz"


@dataclass(frozen=True, slots=True)
class StageTotals:
    """What one ``assign_pending`` call did."""

    articles: int = 0
    alerts: int = 0
    seconds: float = 0.0


class StoryLifecycle:
    """Owns the process's :class:`StoryService` (``service`` is None when stories are disabled)."""

    def __init__(
        self,
        *,
        store: Store,
        config: StoryConfig,
        path: Path,
        enabled: bool = True,
        clock: Callable[[], datetime],
        prune_every_s: float = 300.0,
        save_every_s: float = 600.0,
    ) -> None:
        self.store = store
        self.config = config
        self.path = path
        self.clock = clock
        self.service = StoryService(config=config) if enabled else None
        self.prune_every_s = prune_every_s
        self.save_every_s = save_every_s
        self._started = False
        self._last_prune = self._last_save = time.monotonic()
        self._busy = False
        self._stage = asyncio.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, store: Store, clock: Callable[[], datetime]
    ) -> StoryLifecycle:
        cfg = settings.stories
        return cls(
            store=store,
            config=StoryConfig(window=timedelta(seconds=cfg.window)),
            path=state_path(settings),
            enabled=cfg.enabled,
            clock=clock,
            prune_every_s=cfg.prune_every,
            save_every_s=cfg.save_every,
        )

    def start(self) -> None:
        """Load the saved state (once per process), then catch up from the database (blocking)."""
        service = self.service
        if service is None:
            return
        if not self._started:
            loaded = StoryService.load(self.path, config=self.config)
            newest = self.store.max_story_seq() if loaded is not None else 0
            if loaded is not None and loaded.high_water > newest:
                # Saved against another (or a reset) database: its ids mean nothing here.
                log.warning(
                    "stories.state_discarded",
                    path=str(self.path),
                    high_water=loaded.high_water,
                    newest=newest,
                )
            elif loaded is not None:
                service.adopt(loaded)
            self._started = True
        t0 = time.perf_counter()
        restored = service.warm(self.store, now=self.clock())
        if restored:
            log.info(
                "stories.caught_up",
                restored=restored,
                articles=len(service.index),
                seconds=round(time.perf_counter() - t0, 2),
            )

    async def assign_pending(self, *, limit: int = 200, budget_s: float | None = None) -> StageTotals:
        """Run the story stage until nothing is pending (or ``budget_s`` is spent); see the module doc."""
        async with self._stage:
            if self.service is not None and not self._started:
                await asyncio.to_thread(self.start)
            t0 = time.monotonic()
            articles = alerts = 0
            while True:
                try:
                    done, sent = await self._batch(limit)
                except Exception:
                    log.exception("stories.batch_failed", limit=limit)
                    done, sent = await self._one_by_one(limit)
                articles += done
                alerts += sent
                if done < limit or (budget_s is not None and time.monotonic() - t0 >= budget_s):
                    break
            totals = StageTotals(articles, alerts, time.monotonic() - t0)
        if articles:
            log.info("stories.assigned", articles=articles, alerts=alerts, seconds=round(totals.seconds, 2))
        return totals

    async def _batch(self, limit: int) -> tuple[int, int]:
        return await asyncio.to_thread(self._assign, limit)

    def _assign(self, limit: int) -> tuple[int, int]:
        """One batch, then a heap trim (a batch's texts, features and rows are freed at its end, and a
        cold pass runs hundreds of batches back to back: without the trims the loop's process peaked
        12 MB higher at 2,000 feeds, ``bench/poll.py``). A trim costs about a millisecond; the
        one-by-one fallback skips it."""
        report = self.store.assign_stories(self.service, now=self.clock(), limit=limit)
        if limit > 1:
            trim_heap()
        return report.articles, report.alerts

    async def _one_by_one(self, limit: int) -> tuple[int, int]:
        articles = alerts = 0
        for _ in range(limit):
            try:
                done, sent = await self._batch(1)
            except Exception:
                # This article's story cannot be decided: alert it on its own rather than never.
                log.exception("stories.article_failed")
                report = await asyncio.to_thread(self.store.assign_stories, None, now=self.clock(), limit=1)
                done, sent = report.articles, report.alerts
            if not done:
                break
            articles += done
            alerts += sent
        return articles, alerts

    def save(self) -> None:
        if self.service is None or not self._started:
            return
        try:
            self.service.save(self.path)
        except OSError as exc:  # a full or read-only disk costs a slower start, never the daemon
            log.warning("stories.save_failed", path=str(self.path), error=str(exc))
        self._last_save = time.monotonic()

    async def maybe_maintain(self) -> None:
        """Prune and save when due (from the daemon's beat; the work runs in a thread)."""
        if self.service is None or not self._started or self._busy:
            return
        now = time.monotonic()
        prune = now - self._last_prune >= self.prune_every_s
        save = now - self._last_save >= self.save_every_s
        if not (prune or save):
            return
        self._busy = True
        try:
            if prune:
                dropped = await asyncio.to_thread(self.service.prune, now=self.clock())
                self._last_prune = time.monotonic()
                log.debug("stories.pruned", dropped=dropped, kept=len(self.service.index))
            if save:
                await asyncio.to_thread(self.save)
        finally:
            self._busy = False
