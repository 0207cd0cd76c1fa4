"""The outbox side of stories: routing ``story_update`` rows, their parents, members, folding.

A ``story_update`` row (a later member of a story whose alert exists) is delivered relative to its parent
alert (``parent_id``), so the dispatcher needs the parent's state and the story's current members; see
``runtime/_story_updates.py`` for the rules. Every write here is fenced like the outbox's own: a row is
touched only while it is pending and free, or held by the caller's claim token.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from monitor.store._outbox import _free, _update, release
from monitor.store._types import AlertRow
from monitor.store.models import Alert, Article, Source

__all__ = ["ParentState", "StoryOutbox", "StorySource"]


@dataclass(frozen=True, slots=True)
class ParentState:
    """A story alert as its updates need it: its row, and the id its message's key was made from."""

    row: AlertRow
    status: str
    external_id: str | None
    key_id: int


@dataclass(frozen=True, slots=True)
class StorySource:
    article_id: int
    source: str


class _Sessions(Protocol):
    def session(self) -> AbstractContextManager[Session]: ...


def _updates(*conds: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    return [Alert.kind == "story_update", Alert.status == "pending", *conds]


class StoryOutbox:
    """One short transaction per method, plain values out (like ``Outbox``)."""

    def __init__(self, store: _Sessions) -> None:
        self._store = store

    def route(self, *, digest: Sequence[str], silence: Sequence[str], now: datetime) -> tuple[int, int]:
        """Channels that do not take updates immediately: ``digest`` ones get the rows in their next
        digest (mode becomes ``digest``), ``silence`` ones mark them sent unsent. Answers the counts."""
        moved = silenced = 0
        with self._store.session() as s:
            if digest:
                moved = _update(
                    s,
                    update(Alert)
                    .where(*_updates(Alert.channel.in_(digest), Alert.mode == "immediate", _free(Alert, now)))
                    .values(mode="digest"),
                )
            if silence:
                silenced = _update(
                    s,
                    update(Alert)
                    .where(
                        *_updates(Alert.channel.in_(silence), Alert.digest_id.is_(None), _free(Alert, now))
                    )
                    .values(status="sent", sent_at=now, external_id="silenced", claimed_until=None),
                )
        return moved, silenced

    def parents(self, ids: Sequence[int]) -> dict[int, ParentState]:
        out: dict[int, ParentState] = {}
        if not ids:
            return out
        with self._store.session() as s:
            for a in s.scalars(select(Alert).where(Alert.id.in_(list(ids)))):
                key_id = s.scalar(
                    select(func.min(Alert.id)).where(
                        Alert.article_id == a.article_id, Alert.channel == a.channel, Alert.kind == "hit"
                    )
                )
                row = AlertRow(
                    a.id,
                    a.article_id,
                    a.watchlist_id,
                    a.channel,
                    a.mode,
                    a.attempts,
                    dict(a.payload),
                    a.created_at,
                )
                out[a.id] = ParentState(row, a.status, a.external_id, int(key_id or a.id))
        return out

    def sources(self, story_ids: Sequence[int]) -> dict[int, list[StorySource]]:
        """The members of each story (article id and source name), in commit order."""
        out: dict[int, list[StorySource]] = {sid: [] for sid in story_ids}
        if not story_ids:
            return out
        with self._store.session() as s:
            stmt = (
                select(Article.story_id, Article.id, Source.name)
                .join(Source, Source.id == Article.source_id, isouter=True)
                .where(Article.story_id.in_(list(story_ids)))
                .order_by(Article.id)
            )
            for sid, aid, name in s.execute(stmt).all():
                if sid is not None:
                    out[int(sid)].append(StorySource(int(aid), name or ""))
        return out

    def fold(self, covered: dict[int, Sequence[int]], *, token: str, now: datetime) -> set[int]:
        """Mark as delivered the updates of each parent (id -> member article ids) whose member is
        listed in the parent's own message; answers the ids of the rows marked."""
        done: set[int] = set()
        if not covered:
            return done
        with self._store.session() as s:
            for parent, articles in covered.items():
                if not articles:
                    continue
                where: list[Any] = _updates(
                    Alert.parent_id == parent,
                    Alert.article_id.in_(list(articles)),
                    Alert.digest_id.is_(None),
                    or_(_free(Alert, now), and_(Alert.claimed_by == token)),
                )
                ids = list(s.scalars(select(Alert.id).where(*where)))
                if ids:
                    s.execute(
                        update(Alert)
                        .where(Alert.id.in_(ids), *where)
                        .values(
                            status="sent", sent_at=now, external_id=f"folded:{parent}", claimed_until=None
                        )
                    )
                    done.update(ids)
        return done

    def defer(self, ids: Sequence[int], *, token: str, until: datetime) -> int:
        """Hand claimed updates back unattempted, due again at ``until`` (their parent is not out yet)."""
        with self._store.session() as s:
            return release(s, ids, token=token, next_attempt_at=until)
