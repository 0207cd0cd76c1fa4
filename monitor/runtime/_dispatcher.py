"""The outbox dispatcher: claims due rows, sends one message per article and channel, records outcomes.

One round (``drain_once``):

1. *Hold*: for a channel in its quiet hours (or an e-mail channel with ``per: digest``), due immediate
   rows are turned into digest rows. *Seal*: for every channel with digest rows, the latest digest
   boundary that passed is sealed (``Outbox.seal``: the covered rows are recorded before anything is
   sent, under a key derived from channel and period).
2. Each channel with due work gets one task (channels run in parallel, one channel never concurrently:
   a per-channel lock, so Slack's limiter sees one message at a time). The task first sends the
   channel's due digests, then claims batches of immediate rows and sends them in order.

Before each send the lease is renewed when less than half of it is left, and rows another dispatcher
took over (the fencing token no longer matches) are not sent. A row is marked sent only after the
channel accepted it; a transient failure backs off that message (exponential, jittered, Retry-After as
a floor) and hands the rest of the batch back unattempted, so one dead receiver costs one timeout per
round, not one per alert. Permanent failures mark the rows failed with the (redacted) reason.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from monitor.core import AlertMessage, DeliveryOutcome
from monitor.log import get_logger, redact_text
from monitor.notify import Notifier
from monitor.runtime._digest import (
    DEFAULT_DIGEST,
    ChannelPolicy,
    Schedule,
    digest_key,
    policies_from_settings,
)
from monitor.runtime._digest_send import DigestSender
from monitor.runtime._messages import DispatchReport, RetryPolicy, backoff_s, build_messages
from monitor.runtime._story_updates import StoryUpdates, kind_of
from monitor.settings import Settings
from monitor.store import Store
from monitor.store._delivery import Outbox
from monitor.store._story_outbox import StoryOutbox

__all__ = ["DispatchReport", "Dispatcher", "backoff_s", "build_messages"]

log = get_logger("monitor.dispatcher")
_TICK = timedelta(microseconds=1)
T = TypeVar("T")


def _default_worker() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


class Dispatcher:
    """Delivers the outbox through ``notifiers`` (channel name → notifier).

    ``policies`` (channel → ``ChannelPolicy``) carry digest schedules and quiet hours; a channel without
    one sends immediately and gathers digest-mode rows on ``default_digest``. ``round_budget_s`` bounds
    how long one channel keeps claiming in a round, so that a slow channel (Slack at one message per
    second) never delays the next round for the others.
    """

    def __init__(
        self,
        *,
        store: Store,
        notifiers: Mapping[str, Notifier],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        batch: int = 100,
        lease_s: float = 120.0,
        worker_id: str | None = None,
        policies: Mapping[str, ChannelPolicy] | None = None,
        default_digest: Schedule = DEFAULT_DIGEST,
        retry: RetryPolicy | None = None,
        channel_concurrency: int = 16,
        round_budget_s: float = 10.0,
    ) -> None:
        self.store = store
        self.outbox = Outbox(store)
        self.notifiers = notifiers
        self.clock = clock
        self.rng = rng or random.Random()
        self.batch = batch
        self.lease_s = lease_s
        self.worker_id = (worker_id or _default_worker())[:80]
        self.policies = dict(policies or {})
        self.default_digest = default_digest
        self.retry = retry or RetryPolicy()
        self.channel_concurrency = channel_concurrency
        self.round_budget_s = round_budget_s
        self.stories = StoryUpdates(
            outbox=StoryOutbox(store), policy=self.policy, channels=list(self.policies), clock=clock
        )
        self._lock = asyncio.Lock()
        self._channel_locks: dict[str, asyncio.Lock] = {}
        self._sealed: dict[str, datetime] = {}
        self._claims = itertools.count(1)
        self._last_logged: tuple[Any, ...] | None = None
        # SQLite has one writer: outcome writes from several channel threads would queue on its lock
        # with the busy handler's sleeping back-off. One thread for the outbox keeps them in line.
        workers = 1 if store.dialect == "sqlite" else 4
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox")
        self.digests = DigestSender(
            outbox=self.outbox,
            notifiers=notifiers,
            clock=clock,
            rng=self.rng,
            retry=self.retry,
            lease_s=lease_s,
            policy=self.policy,
            token=self._token,
            db=self._db,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, store: Store, notifiers: Mapping[str, Notifier], **options: Any
    ) -> Dispatcher:
        """A dispatcher with the configuration's channel policies and ``delivery`` section."""
        policies, default = policies_from_settings(settings)
        d = settings.delivery
        options.setdefault("batch", d.batch)
        options.setdefault("lease_s", d.lease)
        options.setdefault(
            "retry", RetryPolicy(base_s=d.retry_base, cap_s=d.retry_max, max_attempts=d.max_attempts)
        )
        return cls(store=store, notifiers=notifiers, policies=policies, default_digest=default, **options)

    async def _db(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(fn, *args, **kwargs))

    def policy(self, channel: str) -> ChannelPolicy:
        return self.policies.get(channel) or ChannelPolicy(default=self.default_digest)

    def _token(self) -> str:
        """A claim token unique to one claim: every later write about its rows is fenced by it."""
        return f"{self.worker_id}/{next(self._claims)}-{uuid.uuid4().hex[:8]}"

    # rounds ---------------------------------------------------------------------------------------------
    async def drain_once(self) -> DispatchReport:
        """One round: hold and seal, then each channel with due work sends. Concurrent calls serialise."""
        async with self._lock:
            now = self.clock()
            report = await self._db(self._prepare, now)
            due = await self._db(self.outbox.due_channels, now=now)
            channels = [c for c in sorted(due) if not self.policy(c).quiet_at(now)]
            sem = asyncio.Semaphore(self.channel_concurrency)

            async def one(channel: str) -> DispatchReport:
                async with sem:
                    return await self._drain_channel(channel)

            for part in await asyncio.gather(*(one(c) for c in channels)):
                report += part
            return report

    async def plan(self) -> list[str]:
        """Hold and seal, then name the channels with due work outside quiet hours. The job-queue mode
        defers one delivery job per channel from this (``drain_channel`` under a per-channel lock)."""
        async with self._lock:
            now = self.clock()
            await self._db(self._prepare, now)
            due = await self._db(self.outbox.due_channels, now=now)
            return [c for c in sorted(due) if not self.policy(c).quiet_at(now)]

    async def drain_channel(self, channel: str) -> DispatchReport:
        """One channel's round: its due digests, then its immediate rows (at most ``round_budget_s``)."""
        return await self._drain_channel(channel)

    async def drain(self, *, max_rounds: int = 1000) -> DispatchReport:
        """Deliver until nothing is due now (``run --once``, shutdown, and the daemon's periodic job).

        Rows waiting for a retry later or for a digest are left; the report (and one log line whenever
        it changes) says how many, and when the next one is due.
        """
        total = DispatchReport()
        for _ in range(max_rounds):
            report = await self.drain_once()
            total += report
            if report.claimed == 0:
                break
        total = await self._db(self._with_waiting, total)
        self._log_drained(total)
        return total

    def _prepare(self, now: datetime) -> DispatchReport:
        self.stories.route(now)  # story updates of digest / silence channels (e-mail)
        held = sealed = 0
        for channel, policy in self.policies.items():
            if policy.holds(now):
                n = self.outbox.hold(channel=channel, now=now)
                if n:
                    log.info("alert.held", channel=channel, alerts=n, until=str(policy.quiet_end(now) or ""))
                held += n
        for channel in self.outbox.unsealed_channels():
            policy = self.policy(channel)
            end = policy.last_boundary(now)
            if self._sealed.get(channel) == end:
                continue
            start = policy.last_boundary(end - _TICK)
            key = digest_key(channel, end)
            result = self.outbox.seal(channel=channel, key=key, period_start=start, period_end=end, now=now)
            self._sealed[channel] = end
            if result is not None:
                sealed += 1
                log.info("digest.sealed", channel=channel, digest=result[0], alerts=result[1], key=key)
        return DispatchReport(held=held, digests_sealed=sealed)

    def _with_waiting(self, report: DispatchReport) -> DispatchReport:
        now = self.clock()
        left = self.outbox.summary(now=now)
        boundaries = [self.policy(c).next_boundary(now) for c in left.digest_channels]
        if left.next_digest_attempt_at is not None:
            boundaries.append(max(left.next_digest_attempt_at, now))
        return replace(
            report,
            leased=left.leased,
            waiting_retry=left.waiting_retry,
            next_retry_at=left.next_retry_at,
            waiting_digest=left.waiting_digest + left.digests_pending,
            next_digest_at=min(boundaries) if boundaries else None,
        )

    def _log_drained(self, r: DispatchReport) -> None:
        state = (r.leased, r.waiting_retry, r.next_retry_at, r.waiting_digest, r.next_digest_at)
        if r.claimed == 0 and r.held == 0 and state == self._last_logged:
            return
        self._last_logged = state
        log.info(
            "outbox.drained",
            sent=r.sent,
            retried=r.retried,
            failed=r.failed,
            held=r.held,
            digests_sent=r.digests_sent,
            leased_elsewhere=r.leased,
            waiting_retry=r.waiting_retry,
            next_retry_at=r.next_retry_at.isoformat() if r.next_retry_at else None,
            waiting_digest=r.waiting_digest,
            next_digest_at=r.next_digest_at.isoformat() if r.next_digest_at else None,
        )

    # one channel ----------------------------------------------------------------------------------------
    async def _drain_channel(self, channel: str) -> DispatchReport:
        lock = self._channel_locks.setdefault(channel, asyncio.Lock())
        async with lock:
            report, stop = await self.digests.send_due(channel)
            started = time.monotonic()
            while not stop and time.monotonic() - started < self.round_budget_s:
                now = self.clock()
                if self.policy(channel).holds(now):
                    break
                token = self._token()
                rows = await self._db(
                    self.outbox.claim,
                    channel=channel,
                    now=now,
                    limit=self.batch,
                    lease_s=self.lease_s,
                    token=token,
                )
                if not rows:
                    break
                messages = await self.stories.prepare(token, build_messages(rows), self._db)
                part, stop = await self._send_batch(channel, token, messages, started)
                report += replace(part, claimed=part.claimed + len(rows))
            return report

    async def _send_batch(
        self, channel: str, token: str, messages: list[AlertMessage], started: float
    ) -> tuple[DispatchReport, bool]:
        """Send a claimed batch in order. Answers the report and whether the channel should rest.

        An acceptance is written while the next message is on its way (the write must be done before
        the one after is sent): at most one accepted message per channel is unrecorded at any time, so a
        crash repeats at most two messages per channel, and the database round trip does not add to the
        time per message.
        """
        report = DispatchReport()
        pending = list(messages)
        lease_until = self.clock() + timedelta(seconds=self.lease_s)
        recording: Future[None] | None = None
        try:
            while pending:
                if time.monotonic() - started >= self.round_budget_s:
                    break
                if self.clock() + timedelta(seconds=self.lease_s / 2) > lease_until:
                    pending, lease_until = await self._renew(token, pending)
                    if not pending:
                        break
                message = pending.pop(0)
                outcome = await self._send(channel, message)
                if recording is not None:
                    await asyncio.wrap_future(recording)
                    recording = None
                if outcome.ok:
                    recording = self._pool.submit(
                        self.outbox.mark_sent,
                        message.alert_ids,
                        now=self.clock(),
                        external_id=outcome.external_id,
                    )
                    log.info(
                        "alert.sent", alert=message.alert_ids[0], channel=channel, key=message.idempotency_key
                    )
                    report += DispatchReport(sent=len(message.alert_ids))
                    continue
                part, delay = await self._record(token, message, outcome)
                report += part
                if delay is not None:  # the channel is unwell: the rest of the batch waits too
                    rest = min(delay, self.retry.base_s) if outcome.retry_after_s is None else delay
                    await self._release(token, pending, self.clock() + timedelta(seconds=rest))
                    return report, True
            if recording is not None:
                await asyncio.wrap_future(recording)
                recording = None
        except asyncio.CancelledError:
            # Shutting down: the acceptance being written is waited for, what was not attempted is
            # handed back (the message in flight keeps its lease: whether it was accepted is unknown).
            if recording is not None:
                recording.result(timeout=30)
            self._release_now(token, pending)
            raise
        await self._release(token, pending, None)
        return report, False

    async def _renew(self, token: str, pending: list[AlertMessage]) -> tuple[list[AlertMessage], datetime]:
        until = self.clock() + timedelta(seconds=self.lease_s)
        ids = [i for m in pending for i in m.alert_ids]
        kept = await self._db(self.outbox.renew, ids, token=token, until=until)
        mine = [m for m in pending if all(i in kept for i in m.alert_ids)]
        if len(mine) < len(pending):
            log.warning("alert.lease_lost", alerts=len(ids) - len(kept), token=token)
        return mine, until

    async def _release(self, token: str, pending: list[AlertMessage], at: datetime | None) -> None:
        ids = [i for m in pending for i in m.alert_ids]
        if ids:
            await self._db(self.outbox.release, ids, token=token, next_attempt_at=at)

    def _release_now(self, token: str, pending: list[AlertMessage]) -> None:
        ids = [i for m in pending for i in m.alert_ids]
        if ids:
            try:
                self.outbox.release(ids, token=token)
            except Exception:  # the lease expires by itself
                log.warning("alert.release_failed", alerts=len(ids))

    async def _send(self, channel: str, message: AlertMessage) -> DeliveryOutcome:
        notifier = self.notifiers.get(channel)
        if notifier is None:
            return DeliveryOutcome(ok=False, permanent=True, error=f"channel {channel!r} is not configured")
        try:
            if kind_of(message) == "story_update":
                return await self.stories.send(notifier, message)
            return await notifier.send(message)
        except Exception as exc:  # a channel bug must not lose the alert: retry it later
            return DeliveryOutcome(ok=False, error=f"{type(exc).__name__}: {exc}")

    async def _record(
        self, token: str, message: AlertMessage, outcome: DeliveryOutcome
    ) -> tuple[DispatchReport, float | None]:
        """Write a failure; answers the report and, for a transient one, the retry delay.
        (Acceptances are written by ``_send_batch``, overlapped with the next send.)"""
        ids = list(message.alert_ids)
        alog = log.bind(alert=ids[0], channel=message.channel, key=message.idempotency_key)
        error = redact_text(outcome.error or "unknown error")
        attempts = int(message.extra.get("attempts", 1))
        if outcome.permanent or attempts >= self.retry.max_attempts:
            if not outcome.permanent:
                error = f"gave up after {attempts} attempts: {error}"
            n = await self._db(self.outbox.mark_failed, ids, token=token, error=error)
            alog.error("alert.failed", error=error, attempts=attempts, recorded=bool(n))
            return DispatchReport(failed=len(ids)), None
        delay = self.retry.delay_s(attempts, retry_after_s=outcome.retry_after_s, rng=self.rng)
        at = self.clock() + timedelta(seconds=delay)
        n = await self._db(self.outbox.mark_retry, ids, token=token, error=error, next_attempt_at=at)
        alog.warning(
            "alert.retry", error=error, attempts=attempts, retry_in_s=round(delay, 1), recorded=bool(n)
        )
        return DispatchReport(retried=len(ids)), delay
