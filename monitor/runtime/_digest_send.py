"""Sending a channel's sealed digests: one message per digest, retried as a whole, failed as a whole.

Split from ``_dispatcher`` (which calls ``send_due`` at the start of a channel's round, under the
channel's lock) so that each module keeps to one job; the claim token, the outbox thread and the retry
policy are the dispatcher's, handed in.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.core import DeliveryOutcome
from monitor.log import get_logger, redact_text
from monitor.notify import Digest, Notifier
from monitor.runtime._digest import ChannelPolicy
from monitor.runtime._messages import DispatchReport, RetryPolicy, build_messages
from monitor.store._delivery import DigestRow, Outbox

__all__ = ["DigestSender"]

log = get_logger("monitor.dispatcher")


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestSender:
    outbox: Outbox
    notifiers: Mapping[str, Notifier]
    clock: Callable[[], datetime]
    rng: random.Random
    retry: RetryPolicy
    lease_s: float
    policy: Callable[[str], ChannelPolicy]
    token: Callable[[], str]
    db: Callable[..., Awaitable[Any]]

    async def send_due(self, channel: str) -> tuple[DispatchReport, bool]:
        report = DispatchReport()
        while True:
            now = self.clock()
            if self.policy(channel).quiet_at(now):
                return report, False
            token = self.token()
            claimed = await self.db(
                self.outbox.claim_digests,
                channel=channel,
                now=now,
                limit=1,
                lease_s=self.lease_s,
                token=token,
            )
            if not claimed:
                return report, False
            for digest in claimed:
                part, unwell = await self._send_digest(digest, token)
                report += part
                if unwell:
                    return report, True

    async def _send_digest(self, row: DigestRow, token: str) -> tuple[DispatchReport, bool]:
        items = tuple(build_messages(row.alerts))
        digest = Digest(row.channel, row.idempotency_key, row.period_start, row.period_end, items)
        dlog = log.bind(digest=row.id, channel=row.channel, key=row.idempotency_key)
        n = len(row.alerts)
        notifier = self.notifiers.get(row.channel)
        if notifier is None:
            outcome = DeliveryOutcome(
                ok=False, permanent=True, error=f"channel {row.channel!r} is not configured"
            )
        else:
            try:
                outcome = await notifier.send_digest(digest)
            except Exception as exc:
                outcome = DeliveryOutcome(ok=False, error=f"{type(exc).__name__}: {exc}")
        if outcome.ok:
            await self.db(
                self.outbox.mark_digest_sent, row.id, now=self.clock(), external_id=outcome.external_id
            )
            dlog.info("digest.sent", alerts=n, items=len(items))
            return DispatchReport(claimed=n, sent=n, digests_sent=1), False
        error = redact_text(outcome.error or "unknown error")
        if outcome.permanent or row.attempts >= self.retry.max_attempts:
            if not outcome.permanent:
                error = f"gave up after {row.attempts} attempts: {error}"
            await self.db(self.outbox.mark_digest_failed, row.id, token=token, error=error)
            dlog.error("digest.failed", error=error, alerts=n)
            return DispatchReport(claimed=n, failed=n), False
        delay = self.retry.delay_s(row.attempts, retry_after_s=outcome.retry_after_s, rng=self.rng)
        at = self.clock() + timedelta(seconds=delay)
        at = self.policy(row.channel).quiet_end(at) or at  # a retry never lands inside quiet hours
        await self.db(self.outbox.mark_digest_retry, row.id, token=token, error=error, next_attempt_at=at)
        dlog.warning("digest.retry", error=error, retry_in_s=round(delay, 1))
        return DispatchReport(claimed=n, retried=n), True
