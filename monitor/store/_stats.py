"""Cheap aggregate queries for health and metrics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.store.models import Alert, Source


def due_sources(session: Session, now: datetime) -> tuple[int, datetime | None]:
    """(sources due now, the earliest next check among them)."""
    count, earliest = session.execute(
        select(func.count(), func.min(Source.next_check_at)).where(
            Source.enabled.is_(True), Source.active.is_(True), Source.next_check_at <= now
        )
    ).one()
    return int(count or 0), earliest


def outbox_depth(session: Session) -> tuple[int, datetime | None]:
    """(pending alerts, creation time of the oldest one)."""
    count, oldest = session.execute(
        select(func.count(), func.min(Alert.created_at)).where(Alert.status == "pending")
    ).one()
    return int(count or 0), oldest
