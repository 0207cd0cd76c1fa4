"""Daemon housekeeping as plain functions over a ``Store``: source-health alerts and article retention.

They take a store and plain values (no settings, no event loop), so the APScheduler of ``Daemon``, a
procrastinate periodic job, or the CLI (``monitor prune``) can run them alike. Both are safe to run on
several replicas at once: health transitions are compare-and-set with a unique outbox key, and every
prune batch is its own short transaction over ids nobody else is deleting.

Health rules (``decide_health``, pure):

* **failing**: the last poll failed (``error_count > 0``) and the source has not been polled
  successfully for ``failing_after`` (counted from its last success, or from its creation if it never
  had one).
* **silent**: polls succeed but no new entry has arrived for ``silent_factor`` times the mean gap
  between its recent entries, and at least ``silent_min``. A source with fewer than three known entry
  times has no rhythm yet and is never called silent. The silence is counted from the later of the
  last new entry and the moment the source last became ``ok`` (nothing can be said about an outage).
* **ok**: back to normal: a failing source polled successfully, a silent one got a new entry.

Each change of state is one transition, hence one alert; a state that holds on the next check is no
change. Paused and deactivated sources are left as they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.log import get_logger
from monitor.runtime import _build
from monitor.settings import ConfigError, Settings
from monitor.store import Store
from monitor.store._health import HealthInput, HealthTransition

__all__ = [
    "HealthPolicy",
    "Housekeeper",
    "PruneReport",
    "check_source_health",
    "decide_health",
    "format_duration",
    "mean_gap_s",
    "prune_articles",
    "reload_config",
    "resync_config",
]

log = get_logger("monitor.housekeeping")

MIN_RHYTHM_ENTRIES = 3


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    failing_after_s: float = 6 * 3600.0
    silent_factor: float = 10.0
    silent_min_s: float = 86400.0


def format_duration(seconds: float) -> str:
    """``3d4h``, ``6h``, ``12m``, ``40s``: the two largest units, for messages read by people."""
    s = int(max(0.0, seconds))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size or (unit == "s" and not parts):
            parts.append(f"{s // size}{unit}")
            s %= size
        if len(parts) == 2:
            break
    return "".join(parts)


def mean_gap_s(times: Sequence[datetime]) -> float | None:
    """Mean interval between distinct entry times, or None with fewer than three of them."""
    ordered = sorted(set(times))
    if len(ordered) < MIN_RHYTHM_ENTRIES:
        return None
    span = (ordered[-1] - ordered[0]).total_seconds()
    return span / (len(ordered) - 1) if span > 0 else None


def _transition(src: HealthInput, new_state: str, detail: str) -> HealthTransition:
    return HealthTransition(
        source_id=src.source_id,
        name=src.name,
        url=src.url,
        seen_state=src.health_state,
        seen_changed_at=src.health_changed_at,
        new_state=new_state,
        detail=detail,
    )


def _decide_one(src: HealthInput, policy: HealthPolicy, now: datetime) -> HealthTransition | None:
    state = src.health_state
    if src.error_count > 0:
        since = src.last_success_at or src.created_at
        down = (now - since).total_seconds()
        if state != "failing" and down >= policy.failing_after_s:
            last_ok = (
                f"last success {since.isoformat()}" if src.last_success_at else "never polled successfully"
            )
            detail = (
                f"failing for {format_duration(down)} ({src.error_count} failed polls in a row, {last_ok});"
                f" last error: {src.last_error or 'unknown'}"
            )
            return _transition(src, "failing", detail)
        return None
    if state == "failing":
        when = src.last_success_at.isoformat() if src.last_success_at else "now"
        return _transition(src, "ok", f"recovered: polled successfully at {when}")
    latest = src.last_new_entry_at or (max(src.recent_entry_times) if src.recent_entry_times else None)
    gap = mean_gap_s(src.recent_entry_times)
    silent = False
    quiet_s = 0.0
    threshold = 0.0
    if latest is not None and gap is not None:
        start = latest
        if state == "ok" and src.health_changed_at is not None:
            start = max(start, src.health_changed_at)
        quiet_s = (now - start).total_seconds()
        threshold = max(policy.silent_min_s, policy.silent_factor * gap)
        silent = quiet_s >= threshold
    if state == "silent" and not silent:
        return _transition(src, "ok", "publishes again: a new entry arrived")
    if state != "silent" and silent:
        detail = (
            f"no new entry for {format_duration(quiet_s)}; it usually publishes every"
            f" {format_duration(gap or 0.0)} (alert after {format_duration(threshold)})"
        )
        return _transition(src, "silent", detail)
    return None


def decide_health(
    sources: Sequence[HealthInput], *, policy: HealthPolicy, now: datetime
) -> list[HealthTransition]:
    """The health transitions due at ``now`` (pure: the store applies them)."""
    out: list[HealthTransition] = []
    for src in sources:
        if not src.enabled or not src.active:
            continue
        t = _decide_one(src, policy, now)
        if t is not None:
            out.append(t)
    return out


def check_source_health(
    store: Store, *, policy: HealthPolicy, channel: str | None, now: datetime
) -> list[HealthTransition]:
    """Decide and apply health transitions; each applied one enqueues one ops alert to ``channel``."""
    transitions = decide_health(store.health_inputs(), policy=policy, now=now)
    if not transitions:
        return []
    applied = store.apply_health(transitions, channel=channel, now=now)
    for t in applied:
        log.warning(
            "source.health",
            source=t.name,
            state=t.new_state,
            previous=t.seen_state,
            detail=t.detail,
            channel=channel,
        )
    return applied


@dataclass(frozen=True, slots=True)
class PruneReport:
    cutoff: datetime
    candidates: int
    deleted: int
    batches: int
    dry_run: bool


def prune_articles(
    store: Store,
    *,
    max_age_s: float,
    batch: int,
    now: datetime,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> PruneReport:
    """Delete articles first seen more than ``max_age_s`` ago, ``batch`` per transaction.

    ``progress`` is called with the number deleted after each batch; ``should_stop`` is asked between
    batches (the daemon stops pruning when it shuts down). A dry run only counts.
    """
    cutoff = now - timedelta(seconds=max_age_s)
    candidates = store.count_older_articles(cutoff=cutoff)
    if dry_run or candidates == 0:
        return PruneReport(cutoff, candidates, 0, 0, dry_run)
    deleted = batches = 0
    while not should_stop():
        n = store.prune_articles_batch(cutoff=cutoff, batch=batch)
        if n == 0:
            break
        deleted += n
        batches += 1
        if progress is not None:
            progress(n)
    if deleted:
        log.info("articles.pruned", deleted=deleted, batches=batches, cutoff=cutoff.isoformat())
    return PruneReport(cutoff, candidates, deleted, batches, dry_run)


class Housekeeper:
    """The daemon's periodic housekeeping and SIGHUP reload, built from the settings once.

    ``jobs()`` names what the scheduler should run and how often; each job catches and logs its own
    failure, so a database hiccup during housekeeping never stops the daemon.
    """

    def __init__(
        self,
        *,
        store: Store,
        health: HealthPolicy | None,
        ops_channel: str | None,
        health_every_s: float = 60.0,
        retention_max_age_s: float | None = None,
        retention_every_s: float = 3600.0,
        retention_batch: int = 500,
        clock: Callable[[], datetime],
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.store = store
        self.health = health
        self.ops_channel = ops_channel
        self.health_every_s = health_every_s
        self.retention_max_age_s = retention_max_age_s
        self.retention_every_s = retention_every_s
        self.retention_batch = retention_batch
        self.clock = clock
        self.stopping = stopping

    @classmethod
    def from_settings(
        cls, settings: Settings, *, store: Store, clock: Callable[[], datetime], stopping: Callable[[], bool]
    ) -> Housekeeper:
        ops, ret = settings.operations, settings.retention
        return cls(
            store=store,
            health=HealthPolicy(ops.failing_after, ops.silent_factor, ops.silent_min) if ops else None,
            ops_channel=ops.channel if ops else None,
            health_every_s=ops.every if ops else 60.0,
            retention_max_age_s=ret.max_age if ret else None,
            retention_every_s=ret.every if ret else 3600.0,
            retention_batch=ret.batch if ret else 500,
            clock=clock,
            stopping=stopping,
        )

    def jobs(self) -> list[tuple[str, Callable[[], Awaitable[None]], float, float]]:
        """(job id, coroutine function, every seconds, first run after seconds)."""
        out: list[tuple[str, Callable[[], Awaitable[None]], float, float]] = []
        if self.health is not None:
            out.append(("source-health", self.check_health, self.health_every_s, 0.0))
        if self.retention_max_age_s is not None:
            out.append(("prune", self.prune, self.retention_every_s, min(self.retention_every_s, 60.0)))
        return out

    async def check_health(self) -> None:
        if self.health is None or self.stopping():
            return
        try:
            await asyncio.to_thread(
                check_source_health,
                self.store,
                policy=self.health,
                channel=self.ops_channel,
                now=self.clock(),
            )
        except Exception:
            log.exception("source.health_check_failed")

    async def prune(self) -> None:
        if self.retention_max_age_s is None or self.stopping():
            return
        try:
            await asyncio.to_thread(
                prune_articles,
                self.store,
                max_age_s=self.retention_max_age_s,
                batch=self.retention_batch,
                now=self.clock(),
                should_stop=self.stopping,
            )
        except Exception:
            log.exception("articles.prune_failed")


def resync_config(store: Store, settings: Settings, *, now: datetime) -> dict[str, tuple[int, int, int]]:
    """Sync the sources and watchlists a (re-read) configuration declares into the database."""
    return store.sync_config(
        [_build.source_spec(s) for s in settings.sources],
        [_build.watchlist_spec(w) for w in settings.watchlists],
        now=now,
    )


async def reload_config(
    store: Store, *, load: Callable[[], Settings], current: Settings, now: datetime
) -> Settings | None:
    """SIGHUP: re-read the file and re-sync sources and watchlists. Answers the new settings, or None
    (logged, nothing changed) when the file cannot be used. Channels, workers, ports and the other
    daemon settings need a restart; a change to them is logged as such."""
    try:
        fresh = await asyncio.to_thread(load)
    except ConfigError as exc:
        log.error("config.reload_failed", error=str(exc), kept="the running configuration")
        return None
    try:
        report = await asyncio.to_thread(resync_config, store, fresh, now=now)
    except Exception as exc:
        log.error(
            "config.reload_failed", error=f"{type(exc).__name__}: {exc}", kept="the running configuration"
        )
        return None
    fixed = [
        k
        for k in ("database_url", "channels", "workers", "tick", "http_port", "fetch", "delivery")
        if getattr(fresh, k) != getattr(current, k)
    ]
    log.info(
        "config.reloaded",
        **{k: dict(zip(("added", "changed", "removed"), v, strict=True)) for k, v in report.items()},
        needs_restart=fixed or None,
    )
    return fresh
