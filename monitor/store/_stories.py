"""The story stage's storage side: the lock, the catch-up read, story rows and the outbox rule.

The store does not know how stories are decided (``monitor.stories`` does, and stages never import each
other): the story stage (``_story_stage.assign_pending``) is handed a :class:`StoryAssigner` and calls
it with plain values while its transaction is open, so that an article's story, its hits' story and its
outbox rows commit together.

An ingest transaction only marks its new articles ``story_pending``; polls never wait for stories. The
stage decides pending articles in id order, one runner at a time across the cluster, and every process
that runs it keeps its own in-memory index. They stay in agreement because every decision is taken under
one lock and on a caught-up index:

* **Lock.** On PostgreSQL ``pg_advisory_xact_lock`` is the stage transaction's first statement (only the
  stage takes it); it is released by the commit or the rollback. On SQLite the database has one writer.
* **Decision order.** Under the lock the stage numbers its decisions (``articles.story_seq``, the highest
  stored one plus one). Before its first decision in a transaction the assigner reads the articles
  decided with a number above its high-water mark (by other processes since) and restores them with
  their stored ``story_id``/``copy_of_id``.
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
    "lock_stories",
    "members_after",
    "story_time",
]

# pg_advisory_xact_lock key: "monitor stories" in ASCII, truncated to a signed 64-bit value.
STORY_LOCK_KEY = 0x6D6F6E73746F72


@dataclass(frozen=True, slots=True)
class StoryInput:
    """A pending article as the assigner needs it. ``when`` is its story time (see :func:`story_time`),
    ``seq`` the decision number the stage gives it."""

    article_id: int
    title: str
    body: str
    when: datetime
    source: str
    seq: int


@dataclass(frozen=True, slots=True)
class StoredMember:
    """A decided article with its stored decision and decision number, for catch-up and warm-up."""

    article_id: int
    title: str
    body: str
    when: datetime
    source: str
    story_id: int | None
    copy_of: int | None
    seq: int


@dataclass(frozen=True, slots=True)
class StoryDecision:
    story_id: int
    copy_of: int | None


class StoryAssigner(Protocol):
    """What the story stage calls; implemented by the pipeline around ``monitor.stories.StoryIndex``.

    ``begin`` is called first (the assigner serialises its own threads there), then ``catch_up_from``
    and ``restore`` once, then ``assign`` per new article; exactly one of ``committed`` or
    ``rolled_back`` ends the transaction (the assigner forgets what it added on a rollback).
    """

    def begin(self) -> None: ...

    def catch_up_from(self, now: datetime) -> tuple[int, datetime]:
        """(high-water decision number, oldest first-seen time still inside the window)."""
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


def members_after(session: Session, *, after_seq: int, since: datetime, limit: int) -> list[StoredMember]:
    """Articles decided with ``story_seq > after_seq``, first seen at or after ``since``, in decision
    order."""
    stmt = (
        select(
            Article.id,
            Article.title,
            Article.text,
            Article.published,
            Article.first_seen_at,
            Article.story_id,
            Article.copy_of_id,
            Article.story_seq,
            Source.name,
        )
        .join(Source, Source.id == Article.source_id, isouter=True)
        .where(Article.story_seq > after_seq, Article.first_seen_at >= since)
        .order_by(Article.story_seq)
        .limit(limit)
    )
    return [
        StoredMember(
            aid, title, _body(body), story_time(pub, seen), source or "", story_id, copy_of, seq or 0
        )
        for aid, title, body, pub, seen, story_id, copy_of, seq, source in session.execute(stmt).all()
    ]


def lock_stories(session: Session) -> None:
    """The stage's cluster-wide lock (PostgreSQL; SQLite has one writer), held until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORY_LOCK_KEY})


class StoryStep:
    """The story part of one stage transaction (created under the lock, before any decision)."""

    def __init__(self, session: Session, assigner: StoryAssigner, now: datetime) -> None:
        self.session = session
        self.assigner = assigner
        self.now = now
        self._caught_up = False
        self._parents: dict[str, int] = {}
        assigner.begin()

    def decide(self, rows: Sequence[tuple[Article, str]], *, first_seq: int) -> list[int]:
        """Decide the stories of pending articles (in order, numbered from ``first_seq``) and record
        them: the story rows, and each article's story, copy link and decision number. Answers the
        story ids, aligned with ``rows``."""
        if not self._caught_up:
            after, since = self.assigner.catch_up_from(self.now)
            while True:
                batch = members_after(self.session, after_seq=after, since=since, limit=2000)
                if not batch:
                    break
                self.assigner.restore(batch)
                after = batch[-1].seq
            self._caught_up = True
        decisions: list[StoryDecision] = []
        with self.session.no_autoflush:
            for i, (row, source_name) in enumerate(rows):
                when = story_time(row.published, row.first_seen_at)
                item = StoryInput(row.id, row.title, _body(row.text), when, source_name, first_seq + i)
                decisions.append(self.assigner.assign(item))
            self._record(rows, decisions, first_seq)
        return [d.story_id for d in decisions]

    def _record(
        self, rows: Sequence[tuple[Article, str]], decisions: list[StoryDecision], first_seq: int
    ) -> None:
        """The decisions' rows, with three reads for the whole batch (not three per article)."""
        s = self.session
        ids = sorted({d.story_id for d in decisions})
        stories = {st.id: st for st in s.scalars(select(Story).where(Story.id.in_(ids)))}
        batch = {row.id: row for row, _name in rows}
        missing = [sid for sid in ids if sid not in stories and sid not in batch]
        reps: dict[int, tuple[str, datetime]] = {
            aid: (title, seen)
            for aid, title, seen in s.execute(
                select(Article.id, Article.title, Article.first_seen_at).where(Article.id.in_(missing))
            )
        }
        # (story, source) pairs among the members stored before this batch: a member from a source the
        # story already has does not raise its source count.
        pairs: set[tuple[int, int]] = {
            (sid, src)
            for sid, src in s.execute(
                select(Article.story_id, Article.source_id)
                .where(Article.story_id.in_(ids), Article.source_id.is_not(None))
                .distinct()
            )
            if sid is not None and src is not None
        }
        created: list[Story] = []
        for (row, _name), decision in zip(rows, decisions, strict=True):
            story = stories.get(decision.story_id)
            if story is None:
                rep = batch.get(decision.story_id)
                title, seen = (
                    (rep.title, rep.first_seen_at)
                    if rep is not None
                    else reps.get(decision.story_id, (row.title, row.first_seen_at))
                )
                story = Story(
                    id=decision.story_id,
                    representative_article_id=decision.story_id,
                    title=title,
                    first_seen_at=seen,
                    last_seen_at=row.first_seen_at,
                    member_count=0,
                    source_count=0,
                )
                created.append(story)
                stories[story.id] = story
            story.member_count += 1
            if row.source_id is None or (story.id, row.source_id) not in pairs:
                story.source_count += 1
                if row.source_id is not None:
                    pairs.add((story.id, row.source_id))
            story.last_seen_at = max(story.last_seen_at, row.first_seen_at)
        # The new stories go in before any row points at them: without relationship() the unit of work
        # does not order the INSERTs by the foreign keys.
        s.add_all(created)
        s.flush()
        for i, ((row, _name), decision) in enumerate(zip(rows, decisions, strict=True)):
            row.story_id = decision.story_id
            row.copy_of_id = decision.copy_of if decision.copy_of != row.id else None
            row.story_seq = first_seq + i

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
