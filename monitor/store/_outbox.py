"""The alert outbox: claiming due rows with a lease, and recording what each channel answered.

A row is marked sent only after the channel accepted it. A dispatcher that dies between the send and the
mark leaves a leased row that becomes due again when the lease expires: at-least-once delivery, made
exactly-once towards receivers that honour the idempotency key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from monitor.store._types import AlertListRow, AlertRow
from monitor.store.models import Alert, Watchlist


def _due_clause(now: datetime) -> list[object]:
    return [
        Alert.status == "pending",
        Alert.next_attempt_at <= now,
        or_(Alert.claimed_until.is_(None), Alert.claimed_until < now),
    ]


def claim(
    session: Session, *, now: datetime, limit: int, lease_s: float, worker: str, mode: str = "immediate"
) -> list[AlertRow]:
    stmt = (
        select(Alert)
        .where(*_due_clause(now), Alert.mode == mode)  # type: ignore[arg-type]
        .order_by(Alert.next_attempt_at, Alert.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.scalars(stmt))
    until = now + timedelta(seconds=lease_s)
    for row in rows:
        row.claimed_until = until
        row.claimed_by = worker
        row.attempts += 1
    return [
        AlertRow(
            r.id, r.article_id, r.watchlist_id, r.channel, r.mode, r.attempts, dict(r.payload), r.created_at
        )
        for r in rows
    ]


def mark_sent(session: Session, ids: Sequence[int], *, now: datetime, external_id: str | None) -> None:
    session.execute(
        update(Alert)
        .where(Alert.id.in_(ids))
        .values(status="sent", sent_at=now, claimed_until=None, last_error=None, external_id=external_id)
    )


def mark_retry(session: Session, ids: Sequence[int], *, error: str, next_attempt_at: datetime) -> None:
    session.execute(
        update(Alert)
        .where(Alert.id.in_(ids))
        .values(last_error=error, next_attempt_at=next_attempt_at, claimed_until=None)
    )


def mark_failed(session: Session, ids: Sequence[int], *, error: str) -> None:
    session.execute(
        update(Alert).where(Alert.id.in_(ids)).values(status="failed", last_error=error, claimed_until=None)
    )


def requeue_failed(session: Session, *, ids: Sequence[int] | None, now: datetime) -> int:
    stmt = update(Alert).where(Alert.status == "failed")
    if ids is not None:
        stmt = stmt.where(Alert.id.in_(ids))
    result = session.execute(
        stmt.values(status="pending", next_attempt_at=now, claimed_until=None, attempts=0)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def pending_summary(
    session: Session, *, now: datetime, mode: str = "immediate"
) -> tuple[int, datetime | None]:
    """(rows due now, earliest next attempt among pending rows)."""
    due = session.scalar(select(func.count()).where(*_due_clause(now), Alert.mode == mode))  # type: ignore[arg-type]
    nxt = session.scalar(
        select(func.min(Alert.next_attempt_at)).where(Alert.status == "pending", Alert.mode == mode)
    )
    return int(due or 0), nxt


def list_alerts(session: Session, *, status: str | None, limit: int) -> list[AlertListRow]:
    stmt = (
        select(Alert, Watchlist.name)
        .join(Watchlist, Watchlist.id == Alert.watchlist_id, isouter=True)
        .order_by(Alert.id.desc())
        .limit(limit)
    )
    if status:
        stmt = stmt.where(Alert.status == status)
    return [
        AlertListRow(
            id=a.id,
            channel=a.channel,
            status=a.status,
            attempts=a.attempts,
            watchlist=name,
            title=str(a.payload.get("title", "")),
            last_error=a.last_error,
            created_at=a.created_at,
            sent_at=a.sent_at,
            next_attempt_at=a.next_attempt_at,
        )
        for a, name in session.execute(stmt).all()
    ]
