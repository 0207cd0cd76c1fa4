"""``Outbox``: the delivery side of the store, one short transaction per method, plain values out.

The ``Store`` facade serves the pipeline and the CLI; the dispatcher works through this one, which wraps
the same engine (anything with a ``session()`` context manager, i.e. a ``Store``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.store import _digests, _outbox
from monitor.store._digests import DigestRow
from monitor.store._outbox import AlertListing, OutboxSummary
from monitor.store._types import AlertRow

__all__ = ["AlertListing", "DigestRow", "Outbox", "OutboxSummary"]


class _Sessions(Protocol):
    def session(self) -> AbstractContextManager[Session]: ...


class Outbox:
    """The delivery side of a ``Store``: every method is one short transaction returning plain values."""

    def __init__(self, store: _Sessions) -> None:
        self._store = store

    def claim(
        self, *, channel: str | None, now: datetime, limit: int, lease_s: float, token: str
    ) -> list[AlertRow]:
        with self._store.session() as s:
            return _outbox.claim(s, now=now, limit=limit, lease_s=lease_s, worker=token, channel=channel)

    def renew(self, ids: Sequence[int], *, token: str, until: datetime) -> set[int]:
        with self._store.session() as s:
            return _outbox.renew(s, ids, token=token, until=until)

    def release(self, ids: Sequence[int], *, token: str, next_attempt_at: datetime | None = None) -> int:
        with self._store.session() as s:
            return _outbox.release(s, ids, token=token, next_attempt_at=next_attempt_at)

    def mark_sent(self, ids: Sequence[int], *, now: datetime, external_id: str | None) -> None:
        with self._store.session() as s:
            _outbox.mark_sent(s, ids, now=now, external_id=external_id)

    def mark_retry(self, ids: Sequence[int], *, token: str, error: str, next_attempt_at: datetime) -> int:
        with self._store.session() as s:
            return _outbox.mark_retry(s, ids, error=error, next_attempt_at=next_attempt_at, token=token)

    def mark_failed(self, ids: Sequence[int], *, token: str, error: str) -> int:
        with self._store.session() as s:
            return _outbox.mark_failed(s, ids, error=error, token=token)

    def hold(self, *, channel: str, now: datetime) -> int:
        with self._store.session() as s:
            return _outbox.hold(s, channel=channel, now=now)

    def due_channels(self, *, now: datetime) -> dict[str, int]:
        with self._store.session() as s:
            return _outbox.due_channels(s, now=now)

    def unsealed_channels(self) -> list[str]:
        with self._store.session() as s:
            return _digests.unsealed_channels(s)

    def seal(
        self, *, channel: str, key: str, period_start: datetime, period_end: datetime, now: datetime
    ) -> tuple[int, int] | None:
        try:
            with self._store.session() as s:
                return _digests.seal(
                    s, channel=channel, key=key, period_start=period_start, period_end=period_end, now=now
                )
        except IntegrityError:  # sealed already (by another dispatcher, or an earlier round)
            return None

    def claim_digests(
        self, *, channel: str, now: datetime, limit: int, lease_s: float, token: str
    ) -> list[DigestRow]:
        with self._store.session() as s:
            return _digests.claim_digests(
                s, channel=channel, now=now, limit=limit, lease_s=lease_s, token=token
            )

    def mark_digest_sent(self, digest_id: int, *, now: datetime, external_id: str | None) -> None:
        with self._store.session() as s:
            _digests.mark_digest_sent(s, digest_id, now=now, external_id=external_id)

    def mark_digest_retry(self, digest_id: int, *, token: str, error: str, next_attempt_at: datetime) -> int:
        with self._store.session() as s:
            return _digests.mark_digest_retry(
                s, digest_id, token=token, error=error, next_attempt_at=next_attempt_at
            )

    def mark_digest_failed(self, digest_id: int, *, token: str, error: str) -> int:
        with self._store.session() as s:
            return _digests.mark_digest_failed(s, digest_id, token=token, error=error)

    def summary(self, *, now: datetime) -> OutboxSummary:
        with self._store.session() as s:
            return _outbox.summary(s, now=now)

    def listing(self, *, status: str | None = None, limit: int = 100) -> list[AlertListing]:
        with self._store.session() as s:
            return _outbox.listing(s, status=status, limit=limit)

    def requeue_failed(self, *, ids: Sequence[int] | None, now: datetime) -> int:
        with self._store.session() as s:
            return _outbox.requeue_failed(s, ids=ids, now=now)
