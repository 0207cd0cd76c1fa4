"""Digests in the outbox: sealing a channel's waiting rows into one digest, then claiming and marking it.

A digest is sealed before it is sent: one transaction inserts the ``digests`` row (its idempotency key,
derived from channel and period end, is unique) and points the covered alerts at it. Whatever happens
afterwards (a crash before, during or after the send, a retry, a second dispatcher) the same rows go out
under the same key, and the rows are marked sent in the transaction that marks the digest sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.orm import Session

from monitor.store._outbox import _due, _leased_ids, _row, _update
from monitor.store._types import AlertRow
from monitor.store.models import Alert, Digest

__all__ = [
    "DigestRow",
    "claim_digests",
    "mark_digest_failed",
    "mark_digest_retry",
    "mark_digest_sent",
    "seal",
    "unsealed_channels",
]


@dataclass(frozen=True, slots=True)
class DigestRow:
    """A sealed digest as claimed for sending, with the alert rows it covers (oldest first)."""

    id: int
    channel: str
    idempotency_key: str
    period_start: datetime
    period_end: datetime
    attempts: int
    alerts: tuple[AlertRow, ...]


# --- digests ----------------------------------------------------------------------------------------------
def unsealed_channels(session: Session) -> list[str]:
    stmt = select(Alert.channel).where(
        Alert.status == "pending", Alert.mode == "digest", Alert.digest_id.is_(None)
    )
    return sorted(session.scalars(stmt.distinct()))


def seal(
    session: Session, *, channel: str, key: str, period_start: datetime, period_end: datetime, now: datetime
) -> tuple[int, int] | None:
    """Create the digest ``key`` covering the channel's unsealed rows created before ``period_end``.

    Answers (digest id, rows covered), or None when there was nothing to cover. The unique key makes a
    second sealer (another process) fail here with ``IntegrityError``; the caller treats it as done.
    """
    digest_id = session.execute(
        insert(Digest)
        .values(
            idempotency_key=key,
            channel=channel,
            period_start=period_start,
            period_end=period_end,
            status="pending",
            item_count=0,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .returning(Digest.id)
    ).scalar_one()
    covered = _update(
        session,
        update(Alert)
        .where(
            Alert.channel == channel,
            Alert.status == "pending",
            Alert.mode == "digest",
            Alert.digest_id.is_(None),
            Alert.created_at < period_end,
        )
        .values(digest_id=digest_id),
    )
    if not covered:
        session.execute(delete(Digest).where(Digest.id == digest_id))
        return None
    # A digest sealed late (the dispatcher was down for a while) covers older rows too: say so.
    oldest = session.scalar(select(func.min(Alert.created_at)).where(Alert.digest_id == digest_id))
    start = min(period_start, oldest) if oldest is not None else period_start
    session.execute(
        update(Digest).where(Digest.id == digest_id).values(item_count=covered, period_start=start)
    )
    return digest_id, int(covered)


def claim_digests(
    session: Session, *, channel: str, now: datetime, limit: int, lease_s: float, token: str
) -> list[DigestRow]:
    def where(m: Any) -> list[ColumnElement[bool]]:
        return [*_due(m, now), m.channel == channel]

    stmt = (
        update(Digest)
        .where(*_leased_ids(session, Digest, where, limit))
        .values(
            claimed_until=now + timedelta(seconds=lease_s), claimed_by=token, attempts=Digest.attempts + 1
        )
    )
    ids = [i for (i,) in session.execute(stmt.returning(Digest.id)).all()]
    out = []
    for d in session.scalars(select(Digest).where(Digest.id.in_(ids)).order_by(Digest.id)):
        rows = session.scalars(
            select(Alert).where(Alert.digest_id == d.id).order_by(Alert.created_at, Alert.id)
        )
        out.append(
            DigestRow(
                d.id,
                d.channel,
                d.idempotency_key,
                d.period_start,
                d.period_end,
                d.attempts,
                tuple(_row(a) for a in rows),
            )
        )
    return out


def mark_digest_sent(session: Session, digest_id: int, *, now: datetime, external_id: str | None) -> None:
    session.execute(
        update(Digest)
        .where(Digest.id == digest_id, Digest.status != "sent")
        .values(status="sent", sent_at=now, claimed_until=None, last_error=None, external_id=external_id)
    )
    session.execute(
        update(Alert)
        .where(Alert.digest_id == digest_id, Alert.status != "sent")
        .values(status="sent", sent_at=now, claimed_until=None, last_error=None, external_id=external_id)
    )


def mark_digest_retry(
    session: Session, digest_id: int, *, token: str, error: str, next_attempt_at: datetime
) -> int:
    return _update(
        session,
        update(Digest)
        .where(Digest.id == digest_id, Digest.status == "pending", Digest.claimed_by == token)
        .values(last_error=error, next_attempt_at=next_attempt_at, claimed_until=None),
    )


def mark_digest_failed(session: Session, digest_id: int, *, token: str, error: str) -> int:
    n = _update(
        session,
        update(Digest)
        .where(Digest.id == digest_id, Digest.status == "pending", Digest.claimed_by == token)
        .values(status="failed", last_error=error, claimed_until=None),
    )
    if n:
        session.execute(
            update(Alert)
            .where(Alert.digest_id == digest_id, Alert.status == "pending")
            .values(status="failed", last_error=f"digest: {error}")
        )
    return int(n)
