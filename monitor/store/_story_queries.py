"""Reading stories back: ``monitor stories ls|show`` and ``monitor hits ls`` grouped by story."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.models import Article, Hit, Source, Story, Watchlist

__all__ = [
    "StoryDetail",
    "StoryHitRow",
    "StoryMemberRow",
    "StoryRow",
    "get_story",
    "list_hits",
    "list_stories",
]


@dataclass(frozen=True, slots=True)
class StoryRow:
    id: int
    title: str
    first_seen_at: datetime
    last_seen_at: datetime
    member_count: int
    source_count: int
    representative_article_id: int | None


@dataclass(frozen=True, slots=True)
class StoryMemberRow:
    article_id: int
    source: str | None
    published: date
    first_seen_at: datetime
    copy_of: int | None
    title: str
    url: str

    @property
    def is_copy(self) -> bool:
        return self.copy_of is not None


@dataclass(frozen=True, slots=True)
class StoryDetail:
    story: StoryRow
    members: tuple[StoryMemberRow, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        """Distinct outlets in first-seen order."""
        seen: dict[str, None] = {}
        for m in self.members:
            if m.source:
                seen.setdefault(m.source, None)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class StoryHitRow:
    id: int
    watchlist: str
    story_id: int | None
    story_title: str | None
    article_id: int | None
    title: str
    url: str
    source: str | None
    snippet: str
    matched_at: datetime
    alerted: bool


def _story_row(s: Story) -> StoryRow:
    return StoryRow(
        s.id,
        s.title,
        s.first_seen_at,
        s.last_seen_at,
        s.member_count,
        s.source_count,
        s.representative_article_id,
    )


def list_stories(session: Session, *, since: datetime | None, limit: int) -> list[StoryRow]:
    """Stories with a member seen since ``since``, most recently active first."""
    stmt = select(Story).order_by(Story.last_seen_at.desc(), Story.id.desc()).limit(limit)
    if since is not None:
        stmt = stmt.where(Story.last_seen_at >= since)
    return [_story_row(s) for s in session.scalars(stmt)]


def get_story(session: Session, story_id: int) -> StoryDetail | None:
    story = session.get(Story, story_id)
    if story is None:
        return None
    stmt = (
        select(Article, Source.name)
        .join(Source, Source.id == Article.source_id, isouter=True)
        .where(Article.story_id == story_id)
        .order_by(Article.id)
    )
    members = tuple(
        StoryMemberRow(a.id, name, a.published, a.first_seen_at, a.copy_of_id, a.title, a.url)
        for a, name in session.execute(stmt).all()
    )
    return StoryDetail(_story_row(story), members)


def list_hits(
    session: Session, *, watchlist: str | None, since: datetime | None, story: int | None, limit: int
) -> list[StoryHitRow]:
    """Hits, newest first, with their story (title) and source; the CLI groups them by story."""
    stmt = (
        select(Hit, Watchlist.name, Story.title, Source.name)
        .join(Watchlist, Watchlist.id == Hit.watchlist_id)
        .join(Story, Story.id == Hit.story_id, isouter=True)
        .join(Article, Article.id == Hit.article_id, isouter=True)
        .join(Source, Source.id == Article.source_id, isouter=True)
        .order_by(Hit.matched_at.desc(), Hit.id.desc())
        .limit(limit)
    )
    if watchlist:
        stmt = stmt.where(Watchlist.name == watchlist)
    if since:
        stmt = stmt.where(Hit.matched_at >= since)
    if story is not None:
        stmt = stmt.where(Hit.story_id == story)
    return [
        StoryHitRow(
            h.id,
            name,
            h.story_id,
            story_title,
            h.article_id,
            h.article_title,
            h.article_url,
            source,
            h.snippet,
            h.matched_at,
            h.alerted,
        )
        for h, name, story_title, source in session.execute(stmt).all()
    ]
