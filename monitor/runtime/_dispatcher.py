"""The outbox dispatcher: claims due alert rows, sends one message per article and channel, records outcomes.

A row is marked sent only after the channel accepted it; transient failures back off exponentially with
jitter (honouring Retry-After); permanent failures stop retrying and mark the row failed with the reason.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from monitor.core import AlertMessage, AlertWatchlist, DeliveryOutcome, Span
from monitor.log import get_logger, redact_text
from monitor.notify import Notifier
from monitor.store import AlertRow, Store

log = get_logger("monitor.dispatcher")


@dataclass(frozen=True, slots=True)
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


def backoff_s(attempts: int, *, rng: random.Random, base_s: float = 30.0, cap_s: float = 6 * 3600.0) -> float:
    """Exponential backoff with ±20% jitter: 30 s, 60 s, 120 s, ... capped at six hours."""
    delay = min(cap_s, base_s * float(2 ** max(0, attempts - 1)))
    return delay * rng.uniform(0.8, 1.2)


def _published(value: object) -> date | None:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def build_messages(rows: Sequence[AlertRow]) -> list[AlertMessage]:
    """One message per (article, channel): several watchlists hitting one article are named together."""
    groups: dict[tuple[object, str], list[AlertRow]] = defaultdict(list)
    for row in rows:
        key = (row.article_id if row.article_id is not None else f"row{row.id}", row.channel)
        groups[key].append(row)
    messages = []
    for (_article, channel), members in groups.items():
        members.sort(key=lambda r: r.id)
        first = members[0].payload
        watchlists = tuple(
            AlertWatchlist(
                name=str(r.payload.get("watchlist", "")),
                snippet=str(r.payload.get("snippet", "")),
                spans=tuple(Span(int(a), int(b)) for a, b in r.payload.get("spans", [])),
            )
            for r in members
        )
        messages.append(
            AlertMessage(
                idempotency_key=f"monitor-alert-{members[0].id}",
                alert_ids=tuple(r.id for r in members),
                channel=channel,
                title=str(first.get("title", "")),
                url=str(first.get("url", "")),
                source=str(first.get("source", "")),
                published=_published(first.get("published")),
                watchlists=watchlists,
                extra={"attempts": max(r.attempts for r in members)},
            )
        )
    return messages


class Dispatcher:
    def __init__(
        self,
        *,
        store: Store,
        notifiers: Mapping[str, Notifier],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        batch: int = 200,
        lease_s: float = 120.0,
        worker_id: str | None = None,
    ) -> None:
        self.store = store
        self.notifiers = notifiers
        self.clock = clock
        self.rng = rng or random.Random()
        self.batch = batch
        self.lease_s = lease_s
        self.worker_id = worker_id or f"{socket.gethostname()}:{id(self):x}"
        self._lock = asyncio.Lock()

    async def drain_once(self) -> DispatchReport:
        """Claim one batch of due rows and deliver it. Concurrent calls are serialised."""
        async with self._lock:
            rows = await asyncio.to_thread(
                self.store.claim_alerts,
                now=self.clock(),
                limit=self.batch,
                lease_s=self.lease_s,
                worker=self.worker_id,
            )
            if not rows:
                return DispatchReport()
            by_channel: dict[str, list[AlertMessage]] = defaultdict(list)
            for message in build_messages(rows):
                by_channel[message.channel].append(message)
            results = await asyncio.gather(*(self._send_channel(c, m) for c, m in by_channel.items()))
            sent = sum(r[0] for r in results)
            retried = sum(r[1] for r in results)
            failed = sum(r[2] for r in results)
            return DispatchReport(len(rows), sent, retried, failed)

    async def drain(self, *, max_rounds: int = 1000) -> DispatchReport:
        """Deliver until nothing is due now (used by ``run --once`` and on shutdown)."""
        total = DispatchReport()
        for _ in range(max_rounds):
            report = await self.drain_once()
            total = DispatchReport(
                total.claimed + report.claimed,
                total.sent + report.sent,
                total.retried + report.retried,
                total.failed + report.failed,
            )
            if report.claimed == 0:
                break
        return total

    async def _send_channel(self, channel: str, messages: list[AlertMessage]) -> tuple[int, int, int]:
        sent = retried = failed = 0
        notifier = self.notifiers.get(channel)
        for message in messages:
            alog = log.bind(alert=message.alert_ids[0], channel=channel)
            if notifier is None:
                outcome = DeliveryOutcome(
                    ok=False, permanent=True, error=f"channel {channel!r} is not configured"
                )
            else:
                try:
                    outcome = await notifier.send(message)
                except Exception as exc:  # a channel bug must not lose the alert: retry it later
                    outcome = DeliveryOutcome(ok=False, error=f"{type(exc).__name__}: {exc}")
            ids = list(message.alert_ids)
            if outcome.ok:
                await asyncio.to_thread(
                    self.store.mark_sent, ids, now=self.clock(), external_id=outcome.external_id
                )
                alog.info("alert.sent", alerts=len(ids))
                sent += len(ids)
                continue
            error = redact_text(outcome.error or "unknown error")
            if outcome.permanent:
                await asyncio.to_thread(self.store.mark_failed, ids, error=error)
                alog.error("alert.failed", error=error)
                failed += len(ids)
                continue
            attempts = max(1, min(_attempts(message), 30))
            delay = max(outcome.retry_after_s or 0.0, backoff_s(attempts, rng=self.rng))
            await asyncio.to_thread(
                self.store.mark_retry,
                ids,
                error=error,
                next_attempt_at=self.clock() + timedelta(seconds=delay),
            )
            alog.warning("alert.retry", error=error, retry_in_s=round(delay, 1))
            retried += len(ids)
        return sent, retried, failed


def _attempts(message: AlertMessage) -> int:
    return int(message.extra.get("attempts", 1)) if message.extra else 1
