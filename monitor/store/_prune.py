"""Retention: deleting old articles in small batches, each its own short transaction.

Hits and outbox rows keep their copies of title, URL and snippet, so they outlive the article: their
``article_id`` is set to NULL (explicitly, not only by the foreign key, so the outcome does not depend
on the backend enforcing ``ON DELETE SET NULL``). A batch is a few statements over at most ``batch``
ids, so ingestion never waits long behind the pruner, on SQLite's single writer lock included.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from monitor.store.models import Alert, Article, Hit

__all__ = ["count_older", "prune_batch"]


def count_older(session: Session, *, cutoff: datetime) -> int:
    """Articles first seen before ``cutoff`` (what a prune would delete)."""
    return int(session.scalar(select(func.count()).where(Article.first_seen_at < cutoff)) or 0)


def prune_batch(session: Session, *, cutoff: datetime, batch: int) -> int:
    """Delete up to ``batch`` of the oldest articles first seen before ``cutoff``; answers how many."""
    stmt = select(Article.id).where(Article.first_seen_at < cutoff).order_by(Article.id).limit(batch)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)  # two pruners take disjoint batches
    ids = list(session.scalars(stmt))
    if not ids:
        return 0
    opts = {"synchronize_session": False}
    session.execute(
        update(Hit).where(Hit.article_id.in_(ids)).values(article_id=None).execution_options(**opts)
    )
    session.execute(
        update(Alert).where(Alert.article_id.in_(ids)).values(article_id=None).execution_options(**opts)
    )
    session.execute(
        update(Article).where(Article.copy_of_id.in_(ids)).values(copy_of_id=None).execution_options(**opts)
    )
    result = session.execute(delete(Article).where(Article.id.in_(ids)).execution_options(**opts))
    return int(getattr(result, "rowcount", 0) or 0)
