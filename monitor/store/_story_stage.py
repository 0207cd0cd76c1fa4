"""The story stage: decide the stories of pending articles, then write their alerts, in one transaction.

An ingest (``_ingest.apply_poll``) with stories on stores its articles and hits marked ``story_pending``
and writes no outbox rows: whether a hit becomes a story's alert or an update of one depends on the
story. ``assign_pending`` takes the stage lock (see ``_stories``), reads a batch of pending articles in
id order, decides each one's story through the assigner, and writes the outbox rows of the hits that
were meant to alert (``hits.alerted``), so a crash anywhere in between leaves the articles pending and
the next run decides them: nothing is lost and nothing is alerted twice (the dedup keys).

With no assigner (stories turned off after articles were left pending) the pending articles' alerts are
written with per-article keys, as an ingest without stories does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.store._stories import StoryAssigner, StoryStep, alert_fields, lock_stories
from monitor.store.models import Alert, Article, Hit, Source, Watchlist

__all__ = ["StageReport", "alert_payload", "assign_pending", "enqueue_alerts"]


@dataclass(frozen=True, slots=True)
class StageReport:
    """One stage transaction: articles decided, alerts written, and the ids of the stories touched."""

    articles: int = 0
    alerts: int = 0
    stories: tuple[int, ...] = ()


def alert_payload(
    *, title: str, url: str, published: str, source: str, watchlist: str, snippet: str, spans: list[list[int]]
) -> dict[str, object]:
    """The outbox row's snapshot: what a message needs, so delivery never depends on the article row."""
    return {
        "title": title,
        "url": url,
        "source": source,
        "published": published,
        "watchlist": watchlist,
        "snippet": snippet,
        "spans": spans,
    }


def enqueue_alerts(
    session: Session,
    step: StoryStep | None,
    *,
    hit: Hit,
    watchlist: Watchlist,
    story_id: int | None,
    payload: dict[str, object],
    now: datetime,
) -> int:
    """One outbox row per channel of ``watchlist`` for ``hit`` (added to the session); returns how many."""
    article_id = hit.article_id or 0
    for channel in watchlist.channels or ():
        cols, extra = alert_fields(
            step, story_id=story_id, article_id=article_id, watchlist_id=watchlist.id, channel=channel
        )
        session.add(
            Alert(
                **cols,
                hit_id=hit.id,
                article_id=hit.article_id,
                watchlist_id=watchlist.id,
                channel=channel,
                mode=watchlist.mode,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                payload={**payload, **extra},
            )
        )
    return len(watchlist.channels or ())


def assign_pending(
    session: Session, assigner: StoryAssigner | None, now: datetime, *, limit: int = 500
) -> StageReport:
    """Decide up to ``limit`` pending articles (oldest first) and write their alerts."""
    lock_stories(session)
    rows = session.execute(
        select(Article, Source.name)
        .join(Source, Source.id == Article.source_id, isouter=True)
        .where(Article.story_pending.is_(True))
        .order_by(Article.id)
        .limit(limit)
    ).all()
    if not rows:
        return StageReport()
    ids = [row.id for row, _name in rows]
    hits: dict[int, list[tuple[Hit, Watchlist]]] = defaultdict(list)
    for hit, wl in session.execute(
        select(Hit, Watchlist)
        .join(Watchlist, Watchlist.id == Hit.watchlist_id)
        .where(Hit.article_id.in_(ids))
        .order_by(Hit.id)
    ).all():
        hits[hit.article_id or 0].append((hit, wl))
    step = StoryStep(session, assigner, now) if assigner is not None else None
    named = [(row, name or "") for row, name in rows]
    story_ids: list[int | None] = [None] * len(named)
    if step is not None:
        seq = int(session.scalar(select(func.max(Article.story_seq))) or 0)
        story_ids = list(step.decide(named, first_seq=seq + 1))
    alerts = 0
    for (row, source_name), story_id in zip(named, story_ids, strict=True):
        row.story_pending = False
        for hit, wl in hits.get(row.id, ()):
            hit.story_id = story_id
            if not hit.alerted:
                continue
            if not wl.enabled:  # paused while the article waited: recorded, not alerted
                hit.alerted = False
                continue
            payload = alert_payload(
                title=row.title,
                url=row.url,
                published=row.published.isoformat(),
                source=source_name,
                watchlist=wl.name,
                snippet=hit.snippet,
                spans=[list(span) for span in hit.spans],
            )
            alerts += enqueue_alerts(
                session, step, hit=hit, watchlist=wl, story_id=story_id, payload=payload, now=now
            )
    session.flush()
    return StageReport(len(rows), alerts, tuple(sorted({i for i in story_ids if i is not None})))
