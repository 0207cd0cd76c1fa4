"""Outbox rows into channel messages, retry timing, and the dispatcher's report.

Kept apart from the dispatcher loop because these are pure: they decide *what* is sent and *when* it is
tried again, and are tested without a database or a receiver.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime

from monitor.core import AlertMessage, AlertWatchlist, Span
from monitor.runtime._ops_messages import is_ops, ops_messages
from monitor.store import AlertRow

__all__ = ["DispatchReport", "RetryPolicy", "backoff_s", "build_messages"]


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """Counts are alert rows (a digest counts the rows it carries); the ``waiting``/``next`` fields
    describe what ``drain`` left in the outbox (rows not due yet, or bound for a digest)."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0
    digests_sealed: int = 0
    digests_sent: int = 0
    leased: int = 0
    waiting_retry: int = 0
    next_retry_at: datetime | None = None
    waiting_digest: int = 0
    next_digest_at: datetime | None = None

    def __add__(self, other: DispatchReport) -> DispatchReport:
        counts = {
            f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self) if f.name in _COUNTS
        }
        return DispatchReport(**counts)


_COUNTS = ("claimed", "sent", "retried", "failed", "held", "digests_sealed", "digests_sent")


def backoff_s(attempts: int, *, rng: random.Random, base_s: float = 30.0, cap_s: float = 6 * 3600.0) -> float:
    """Exponential backoff with ±20% jitter: 30 s, 60 s, 120 s, ... capped at six hours."""
    delay = min(cap_s, base_s * float(2 ** min(max(0, attempts - 1), 40)))
    return delay * rng.uniform(0.8, 1.2)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a transient failure is tried again, and after how many attempts the dispatcher gives up.

    A server's ``Retry-After`` is honoured as a floor (never earlier, up to 10% later so that rows
    throttled together do not come back in one burst); without one the delay grows exponentially.
    """

    base_s: float = 30.0
    cap_s: float = 6 * 3600.0
    max_attempts: int = 12
    min_retry_after_s: float = 1.0

    def delay_s(self, attempts: int, *, retry_after_s: float | None, rng: random.Random) -> float:
        if retry_after_s is not None:
            return max(retry_after_s, self.min_retry_after_s) * rng.uniform(1.0, 1.1)
        return backoff_s(attempts, rng=rng, base_s=self.base_s, cap_s=self.cap_s)


def _published(value: object) -> date | None:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _story_extra(payload: Mapping[str, object]) -> dict[str, object]:
    """The story fields a row carries (``runtime/_story_updates.py`` reads them)."""
    return {k: payload[k] for k in ("kind", "parent_id") if k in payload}


def build_messages(rows: Sequence[AlertRow]) -> list[AlertMessage]:
    """One message per (article, channel): several watchlists hitting one article are named together.

    The idempotency key is the smallest alert id of the group, so it is the same on every attempt (the
    outbox claims the rows of one article and channel together).
    """
    if any(is_ops(r) for r in rows):  # source-health rows (kind "ops") render as plain messages
        ops = [r for r in rows if is_ops(r)]
        return ops_messages(ops) + build_messages([r for r in rows if not is_ops(r)])
    groups: dict[tuple[object, str, str], list[AlertRow]] = defaultdict(list)
    for row in rows:  # a story alert and a story update of one article are separate messages
        article = row.article_id if row.article_id is not None else f"row{row.id}"
        groups[(article, row.channel, str(row.payload.get("kind", "hit")))].append(row)
    messages = []
    for (_article, channel, _kind), members in groups.items():
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
                story_id=_int(first.get("story_id")),
                extra={"attempts": max(r.attempts for r in members), **_story_extra(first)},
            )
        )
    return messages
