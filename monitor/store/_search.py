"""Reading stored articles back for retroactive search and watchlist backfill."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.core import WatchlistHit
from monitor.store.models import Article, Hit, Source


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    url: str
    title: str
    published: date
    text: str
    language: str | None
    source: str | None
    first_seen_at: datetime

    @property
    def body(self) -> str:
        """The paragraphs of the reference format (everything after the title, date and URL lines)."""
        return "\n".join(self.text.splitlines()[3:])


def iter_articles(
    session: Session, *, since: datetime | None, newest_first: bool, batch: int = 500
) -> Iterator[StoredArticle]:
    """Stored articles in batches (keyset pagination), so a large database is never loaded at once."""
    last_id: int | None = None
    while True:
        stmt = select(Article, Source.name).join(Source, Source.id == Article.source_id, isouter=True)
        if since is not None:
            stmt = stmt.where(Article.first_seen_at >= since)
        if last_id is not None:
            stmt = stmt.where(Article.id < last_id if newest_first else Article.id > last_id)
        stmt = stmt.order_by(Article.id.desc() if newest_first else Article.id).limit(batch)
        rows = session.execute(stmt).all()
        if not rows:
            return
        for art, source in rows:
            yield StoredArticle(
                art.id, art.url, art.title, art.published, art.text, art.language, source, art.first_seen_at
            )
        last_id = rows[-1][0].id


def record_hits(
    session: Session, *, watchlist_id: int, hits: Sequence[tuple[StoredArticle, WatchlistHit]], now: datetime
) -> int:
    """Hits found by a backfill: recorded without alerting; an existing hit is left as it is."""
    added = 0
    for art, hit in hits:
        try:
            with session.begin_nested():
                session.add(
                    Hit(
                        article_id=art.id,
                        watchlist_id=watchlist_id,
                        article_url=art.url,
                        article_title=art.title,
                        snippet=hit.snippet,
                        spans=[[s.start, s.end] for s in hit.spans],
                        alerted=False,
                        matched_at=now,
                    )
                )
                session.flush()
            added += 1
        except IntegrityError:
            continue
    return added
