"""Stories inside the ingest transaction: the lock, the catch-up read, story rows and the outbox rule.

The store does not know how stories are decided (``monitor.stories`` does, and stages never import each
other): ``apply_poll`` is handed a :class:`StoryAssigner` by the pipeline and calls it with plain values
while its transaction is open, so that the article's story, its hits and its outbox rows commit together.

Several processes (replicas on PostgreSQL) each keep their own in-memory index. They stay in agreement
because every decision is taken under one lock and on a caught-up index:

* **Lock.** On PostgreSQL ``pg_advisory_xact_lock`` is the first statement of an ingest transaction that
  carries articles; it is released by the commit or the rollback. On SQLite the database has one writer:
  the first ``INSERT`` takes the write lock, and articles are inserted before anything is decided.
* **Catch-up.** Under the lock, article ids are handed out in commit order (PostgreSQL: every article
  insert of a deciding process happens under the lock; SQLite: one writer). Before its first decision in
  a transaction the assigner reads the articles with an id above its high-water mark (those other
  processes committed since) and restores them with their stored ``story_id``/``copy_of_id``.
* **Outbox rule.** The first alerting member of a story for a watchlist and channel gets the alert, with
  the dedup key ``s<story>:w<watchlist>:<channel>``; a later member finds that row and writes a
  ``story_update`` row pointing at it (``parent_id``; its own key ``a<article>:w<watchlist>:<channel>``).
  The unique key is the last line of defence: two writers can never both create the story's alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Protocol

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from monitor.store.models import Alert, Article, Source, Story

__all__ = [
    "STORY_LOCK_KEY",
    "StoredMember",
    "StoryAssigner",
    "StoryDecision",
    "StoryInput",
    "StoryStep",
    "alert_fields",
    "members_after",
    "story_time",
]

# pg_advisory_xact_lock key: "monitor stories" in ASCII, truncated to a signed 64-bit value.
STORY_LOCK_KEY = 0x6D6F6E73746F72


@dataclass(frozen=True, slots=True)
class StoryInput:
    """A new article as the assigner needs it. ``when`` is its story time (see :func:`story_time`)."""

    article_id: int
    title: str
    body: str
    when: datetime
    source: str


@dataclass(frozen=True, slots=True)
class StoredMember:
    """A stored article with its stored decision, for catch-up and warm-up."""

    article_id: int
    title: str
    body: str
    when: datetime
    source: str
    story_id: int | None
    copy_of: int | None


@dataclass(frozen=True, slots=True)
class StoryDecision:
    story_id: int
    copy_of: int | None


class StoryAssigner(Protocol):
    """What ``apply_poll`` calls; implemented by the pipeline around ``monitor.stories.StoryIndex``.

    ``begin`` is called first (the assigner serialises its own threads there), then ``catch_up_from``
    and ``restore`` once, then ``assign`` per new article; exactly one of ``committed`` or
    ``rolled_back`` ends the transaction (the assigner forgets what it added on a rollback).
    """

    def begin(self) -> None: ...

    def catch_up_from(self, now: datetime) -> tuple[int, datetime]:
        """(high-water article id, oldest first-seen time still inside the window)."""
        ...

    def restore(self, members: Sequence[StoredMember]) -> None: ...

    def assign(self, item: StoryInput) -> StoryDecision: ...

    def committed(self) -> None: ...

    def rolled_back(self) -> None: ...


def story_time(published: date, first_seen: datetime) -> datetime:
    """When an article happened, for the story window: when it was first seen, unless its own date is
    earlier (an old article found today is placed at noon UTC of its date, so it joins nothing current).
    """
    if published >= first_seen.date():
        return first_seen
    return datetime.combine(published, time(12), tzinfo=UTC)


def _body(text_: str) -> str:
    return "\n".join(text_.splitlines()[3:])


def members_after(session: Session, *, after_id: int, since: datetime, limit: int) -> list[StoredMember]:
    """Articles with ``id > after_id`` first seen at or after ``since``, in id (= commit) order."""
    stmt = (
        select(
            Article.id,
            Article.title,
            Article.text,
            Article.published,
            Article.first_seen_at,
            Article.story_id,
            Article.copy_of_id,
            Source.name,
        )
        .join(Source, Source.id == Article.source_id, isouter=True)
        .where(Article.id > after_id, Article.first_seen_at >= since)
        .order_by(Article.id)
        .limit(limit)
    )
    return [
        StoredMember(aid, title, _body(body), story_time(pub, seen), source or "", story_id, copy_of)
        for aid, title, body, pub, seen, story_id, copy_of, source in session.execute(stmt).all()
    ]


class StoryStep:
    """The story part of one ``apply_poll`` transaction (created at its start, before any write)."""

    def __init__(self, session: Session, assigner: StoryAssigner, now: datetime) -> None:
        self.session = session
        self.assigner = assigner
        self.now = now
        self._caught_up = False
        self._parents: dict[str, int] = {}
        assigner.begin()
        bind = session.get_bind()
        if bind.dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORY_LOCK_KEY})

    def assign(self, row: Article, source_name: str) -> int:
        """Decide the story of a freshly inserted (flushed) article and record it; answers the story id."""
        if not self._caught_up:
            after, since = self.assigner.catch_up_from(self.now)
            while True:
                batch = members_after(self.session, after_id=after, since=since, limit=2000)
                batch = [m for m in batch if m.article_id != row.id]
                if not batch:
                    break
                self.assigner.restore(batch)
                after = batch[-1].article_id
            self._caught_up = True
        when = story_time(row.published, row.first_seen_at)
        decision = self.assigner.assign(StoryInput(row.id, row.title, _body(row.text), when, source_name))
        self._record(row, decision)
        return decision.story_id

    def _record(self, row: Article, decision: StoryDecision) -> None:
        s = self.session
        story = s.get(Story, decision.story_id)
        if story is None:
            rep = s.get(Article, decision.story_id)
            story = Story(
                id=decision.story_id,
                representative_article_id=decision.story_id,
                title=rep.title if rep is not None else row.title,
                first_seen_at=rep.first_seen_at if rep is not None else row.first_seen_at,
                last_seen_at=row.first_seen_at,
                member_count=0,
                source_count=0,
            )
            s.add(story)
            s.flush()
        same_source = None
        if row.source_id is not None:
            same_source = s.scalar(
                select(Article.id)
                .where(
                    Article.story_id == story.id,
                    Article.source_id == row.source_id,
                    Article.id != row.id,
                )
                .limit(1)
            )
        story.member_count += 1
        if same_source is None:
            story.source_count += 1
        story.last_seen_at = max(story.last_seen_at, row.first_seen_at)
        row.story_id = story.id
        row.copy_of_id = decision.copy_of if decision.copy_of != row.id else None

    def alert_key(
        self, *, story_id: int, article_id: int, watchlist_id: int, channel: str
    ) -> tuple[str, str, int | None]:
        """(kind, dedup key, parent alert id) of the outbox row for this hit and channel.

        The session autoflushes before the query, so a story alert added earlier in this transaction
        (two members of one story in one poll) is found too.
        """
        key = f"s{story_id}:w{watchlist_id}:{channel}"
        parent = self._parents.get(key)
        if parent is None:
            parent = self.session.scalar(select(Alert.id).where(Alert.dedup_key == key))
        if parent is None:
            return "hit", key, None
        self._parents[key] = parent
        return "story_update", f"a{article_id}:w{watchlist_id}:{channel}", parent


def alert_fields(
    step: StoryStep | None, *, story_id: int | None, article_id: int, watchlist_id: int, channel: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The outbox row's story columns and payload additions (kind, story, parent) for one channel."""
    if step is None or story_id is None:
        return {"dedup_key": f"a{article_id}:w{watchlist_id}:{channel}"}, {}
    kind, key, parent = step.alert_key(
        story_id=story_id, article_id=article_id, watchlist_id=watchlist_id, channel=channel
    )
    cols = {"dedup_key": key, "kind": kind, "story_id": story_id, "parent_id": parent}
    extra: dict[str, Any] = {"kind": kind, "story_id": story_id}
    if parent is not None:
        extra["parent_id"] = parent
    return cols, extra
