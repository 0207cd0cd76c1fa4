"""The alert outbox: atomic claims with a lease and a fencing token, outcomes, digests sealed before sending.

Delivery is at-least-once and made exactly-once towards receivers that honour the idempotency key:

* A claim is ONE ``UPDATE ... WHERE id IN (SELECT ... due ... LIMIT n)`` that stamps the rows with a
  lease (``claimed_until``) and a token unique to this claim (``claimed_by``). On SQLite the statement
  takes the write lock before reading, so two processes cannot both see a row as free; on PostgreSQL the
  sub-select uses ``FOR UPDATE SKIP LOCKED``, so concurrent dispatchers take disjoint rows without waiting.
* Every later write about those rows (renew, retry, fail, release) is fenced by the token: a dispatcher
  whose lease expired and whose rows were claimed again cannot overwrite the new owner's state.
  ``mark_sent`` is not fenced: once a channel accepted a message, that is the truth whoever holds it.
* A row is marked sent only after the channel accepted it. A dispatcher that dies between the send and
  the mark leaves a leased row that becomes due again when the lease expires.
* Digest rows are never claimed one by one: ``seal`` inserts a ``digests`` row (its key is unique) and
  points the covered alerts at it in the same transaction; the digest is then claimed, sent and marked
  like an alert, so a crash re-sends the same rows under the same key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from monitor.store._types import AlertListRow, AlertRow
from monitor.store.models import Alert, Digest, Watchlist

__all__ = ["AlertListing", "OutboxSummary"]

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    """What is left in the outbox at ``now`` (immediate rows vs. rows bound for a digest)."""

    due: int = 0
    leased: int = 0
    waiting_retry: int = 0
    next_retry_at: datetime | None = None
    waiting_digest: int = 0
    digest_channels: tuple[str, ...] = ()
    digests_pending: int = 0
    next_digest_attempt_at: datetime | None = None
    failed: int = 0


@dataclass(frozen=True, slots=True)
class AlertListing:
    id: int
    channel: str
    status: str
    mode: str
    attempts: int
    watchlist: str | None
    title: str
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime
    digest_id: int | None


def _is_pg(session: Session) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


def _free(model: Any, now: datetime) -> ColumnElement[bool]:
    return or_(model.claimed_until.is_(None), model.claimed_until < now)


def _due(model: Any, now: datetime) -> list[ColumnElement[bool]]:
    return [model.status == "pending", model.next_attempt_at <= now, _free(model, now)]


def _due_clause(now: datetime) -> list[ColumnElement[bool]]:
    return _due(Alert, now)


def _row(a: Alert) -> AlertRow:
    return AlertRow(
        a.id, a.article_id, a.watchlist_id, a.channel, a.mode, a.attempts, dict(a.payload), a.created_at
    )


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i : i + _CHUNK])


def _leased_ids(session: Session, model: Any, where: Any, limit: int) -> list[ColumnElement[bool]]:
    """The conditions of a claim's UPDATE: the due rows, oldest first, at most ``limit``.

    SQLite: one ``UPDATE ... WHERE id IN (SELECT ... LIMIT n)`` (over an alias, so that the sub-select
    does not correlate with the target); the statement takes the write lock before it reads, so it is
    atomic against other processes. PostgreSQL: the ids are first locked with ``SELECT ... FOR UPDATE
    SKIP LOCKED`` in the same transaction (a LIMIT sub-select inside the UPDATE may be re-run per row by
    the planner), and the conditions are repeated so that they hold on the row version we update.
    """
    m = aliased(model)
    sub = select(m.id).where(*where(m)).order_by(m.next_attempt_at, m.id).limit(limit)
    if _is_pg(session):
        ids = list(session.scalars(sub.with_for_update(skip_locked=True)))
        return [model.id.in_(ids), *where(model)]
    return [model.id.in_(sub.scalar_subquery()), *where(model)]


def _update(session: Session, stmt: Any) -> int:
    result = session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


# --- alerts -----------------------------------------------------------------------------------------------
def claim(
    session: Session,
    *,
    now: datetime,
    limit: int,
    lease_s: float,
    worker: str,
    mode: str = "immediate",
    channel: str | None = None,
) -> list[AlertRow]:
    """Atomically lease up to ``limit`` due rows to the claim token ``worker`` and count an attempt.

    Other due rows of the same articles are claimed with them (a batch limit never splits the message
    they make), so a message, and its idempotency key, is the same on every attempt.
    """

    def where(m: Any) -> list[ColumnElement[bool]]:
        conds = [*_due(m, now), m.mode == mode]
        if channel is not None:
            conds.append(m.channel == channel)
        return conds

    values = {
        "claimed_until": now + timedelta(seconds=lease_s),
        "claimed_by": worker,
        "attempts": Alert.attempts + 1,
    }
    # RETURNING (SQLite >= 3.35, PostgreSQL) names the claimed rows: no scan for the token afterwards.
    first = update(Alert).where(*_leased_ids(session, Alert, where, limit)).values(**values)
    got = session.execute(first.returning(Alert.id, Alert.article_id)).all()
    if not got:
        return []
    ids = {i for i, _a in got}
    articles = sorted({a for _i, a in got if a is not None})
    if articles:

        def siblings(m: Any) -> list[ColumnElement[bool]]:
            return [*where(m), m.article_id.in_(articles)]

        more = update(Alert).where(*_leased_ids(session, Alert, siblings, 10 * limit)).values(**values)
        ids.update(i for (i,) in session.execute(more.returning(Alert.id)).all())
    rows = session.scalars(select(Alert).where(Alert.id.in_(ids)).order_by(Alert.next_attempt_at, Alert.id))
    return [_row(r) for r in rows]


def _fenced(ids: Sequence[int], token: str | None) -> list[ColumnElement[bool]]:
    where = [Alert.id.in_(ids), Alert.status == "pending"]
    if token is not None:
        where.append(Alert.claimed_by == token)
    return where


def renew(session: Session, ids: Sequence[int], *, token: str, until: datetime) -> set[int]:
    """Extend the lease of the rows this token still holds; answers which ones those are."""
    kept: set[int] = set()
    for chunk in _chunks(ids):
        session.execute(update(Alert).where(*_fenced(chunk, token)).values(claimed_until=until))
        kept.update(session.scalars(select(Alert.id).where(*_fenced(chunk, token))))
    return kept


def release(session: Session, ids: Sequence[int], *, token: str, next_attempt_at: datetime | None) -> int:
    """Hand back claimed rows that were not attempted (the attempt counted by the claim is undone)."""
    values: dict[str, Any] = {"claimed_until": None, "attempts": Alert.attempts - 1}
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    return sum(
        _update(session, update(Alert).where(*_fenced(c, token)).values(**values)) for c in _chunks(ids)
    )


def mark_sent(
    session: Session, ids: Sequence[int], *, now: datetime, external_id: str | None, token: str | None = None
) -> None:
    """Record acceptance. Not fenced by the token: a delivered message stays delivered."""
    del token
    for chunk in _chunks(ids):
        session.execute(
            update(Alert)
            .where(Alert.id.in_(chunk), Alert.status != "sent")
            .values(status="sent", sent_at=now, claimed_until=None, last_error=None, external_id=external_id)
        )


def mark_retry(
    session: Session, ids: Sequence[int], *, error: str, next_attempt_at: datetime, token: str | None = None
) -> int:
    values = {"last_error": error, "next_attempt_at": next_attempt_at, "claimed_until": None}
    return sum(
        _update(session, update(Alert).where(*_fenced(c, token)).values(**values)) for c in _chunks(ids)
    )


def mark_failed(session: Session, ids: Sequence[int], *, error: str, token: str | None = None) -> int:
    values = {"status": "failed", "last_error": error, "claimed_until": None}
    return sum(
        _update(session, update(Alert).where(*_fenced(c, token)).values(**values)) for c in _chunks(ids)
    )


def hold(session: Session, *, channel: str, now: datetime) -> int:
    """Quiet hours (or an all-digest channel): due immediate rows of ``channel`` join its next digest."""
    where = [*_due_clause(now), Alert.mode == "immediate", Alert.channel == channel]
    return _update(session, update(Alert).where(*where).values(mode="digest"))


def due_channels(session: Session, *, now: datetime) -> dict[str, int]:
    """Channels with immediate rows or sealed digests due now, with how many immediate rows."""
    out: dict[str, int] = {
        c: int(n)
        for c, n in session.execute(
            select(Alert.channel, func.count())
            .where(*_due_clause(now), Alert.mode == "immediate")
            .group_by(Alert.channel)
        )
    }
    for c in session.scalars(
        select(Digest.channel)
        .where(Digest.status == "pending", Digest.next_attempt_at <= now, _free(Digest, now))
        .distinct()
    ):
        out.setdefault(c, 0)
    return out


def requeue_failed(session: Session, *, ids: Sequence[int] | None, now: datetime) -> int:
    """Failed rows back to pending. A failed digest is the unit of delivery: re-queuing any of its rows
    re-queues the whole digest (same rows, same key).

    Both steps are writes from the start (no read first), so on SQLite the transaction takes the write
    lock at once instead of failing to upgrade a stale read snapshot when a dispatcher wrote meanwhile.
    """
    failed = aliased(Alert)
    touched = select(failed.digest_id).where(failed.status == "failed", failed.digest_id.is_not(None))
    if ids is not None:
        touched = touched.where(failed.id.in_(ids))
    _update(
        session,
        update(Digest)
        .where(Digest.status == "failed", Digest.id.in_(touched.scalar_subquery()))
        .values(status="pending", attempts=0, next_attempt_at=now, claimed_until=None),
    )
    # A failed row whose digest is pending again belongs to a digest re-queued just now.
    revived = select(Digest.id).where(Digest.status == "pending").scalar_subquery()
    stmt = update(Alert).where(Alert.status == "failed")
    if ids is not None:
        stmt = stmt.where(or_(Alert.id.in_(ids), Alert.digest_id.in_(revived)))
    return _update(
        session, stmt.values(status="pending", next_attempt_at=now, claimed_until=None, attempts=0)
    )


def pending_summary(
    session: Session, *, now: datetime, mode: str = "immediate"
) -> tuple[int, datetime | None]:
    """(rows due now, earliest next attempt among pending rows)."""
    due = session.scalar(select(func.count()).where(*_due_clause(now), Alert.mode == mode))
    nxt = session.scalar(
        select(func.min(Alert.next_attempt_at)).where(Alert.status == "pending", Alert.mode == mode)
    )
    return int(due or 0), nxt


def summary(session: Session, *, now: datetime) -> OutboxSummary:
    pending_now = [Alert.status == "pending", Alert.mode == "immediate"]
    due = session.scalar(select(func.count()).where(*_due_clause(now), Alert.mode == "immediate")) or 0
    leased = session.scalar(select(func.count()).where(*pending_now, Alert.claimed_until >= now)) or 0
    waiting, nxt = session.execute(
        select(func.count(), func.min(Alert.next_attempt_at)).where(
            *pending_now, Alert.next_attempt_at > now, _free(Alert, now)
        )
    ).one()
    unsealed = [Alert.status == "pending", Alert.mode == "digest", Alert.digest_id.is_(None)]
    in_digest = session.scalar(select(func.count()).where(*unsealed)) or 0
    channels = tuple(sorted(session.scalars(select(Alert.channel).where(*unsealed).distinct())))
    digests, next_digest = session.execute(
        select(func.count(), func.min(Digest.next_attempt_at)).where(Digest.status == "pending")
    ).one()
    failed = session.scalar(select(func.count()).where(Alert.status == "failed")) or 0
    return OutboxSummary(
        int(due),
        int(leased),
        int(waiting),
        nxt,
        int(in_digest),
        channels,
        int(digests),
        next_digest,
        int(failed),
    )


def list_alerts(session: Session, *, status: str | None, limit: int) -> list[AlertListRow]:
    return [
        AlertListRow(
            id=a.id,
            channel=a.channel,
            status=a.status,
            attempts=a.attempts,
            watchlist=a.watchlist,
            title=a.title,
            last_error=a.last_error,
            created_at=a.created_at,
            sent_at=a.sent_at,
            next_attempt_at=a.next_attempt_at,
        )
        for a in listing(session, status=status, limit=limit)
    ]


def listing(session: Session, *, status: str | None, limit: int) -> list[AlertListing]:
    stmt = (
        select(Alert, Watchlist.name)
        .join(Watchlist, Watchlist.id == Alert.watchlist_id, isouter=True)
        .order_by(Alert.id.desc())
        .limit(limit)
    )
    if status:
        stmt = stmt.where(Alert.status == status)
    return [
        AlertListing(
            id=a.id,
            channel=a.channel,
            status=a.status,
            mode=a.mode,
            attempts=a.attempts,
            watchlist=name,
            title=str(a.payload.get("title", "")),
            last_error=a.last_error,
            created_at=a.created_at,
            sent_at=a.sent_at,
            next_attempt_at=a.next_attempt_at,
            digest_id=a.digest_id,
        )
        for a, name in session.execute(stmt).all()
    ]
