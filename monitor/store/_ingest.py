"""Applying one poll's intent: articles, hits, outbox rows and the source's new state, in one transaction.

The unique constraints (article URL, hit article x watchlist, alert dedup key) are the last line of
defence: a concurrent writer that got there first turns our insert into a recorded duplicate, never into
a second row or a second alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store._ingest_rows import NewRows
from monitor.store._story_stage import alert_payload, enqueue_alerts
from monitor.store._types import ApplyReport, PollRecord
from monitor.store.models import Article, Hit, Source, Watchlist

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Known:
    urls: frozenset[str]
    guids: frozenset[str]
    hashes: frozenset[str]


def known(session: Session, *, urls: Sequence[str], guids: Sequence[str], hashes: Sequence[str]) -> Known:
    """Which of these keys already belong to a stored article (URL, GUID or content hash)."""
    found_urls: set[str] = set()
    found_guids: set[str] = set()
    found_hashes: set[str] = set()
    for i in range(0, len(urls), _CHUNK):
        found_urls.update(session.scalars(select(Article.url).where(Article.url.in_(urls[i : i + _CHUNK]))))
    for i in range(0, len(guids), _CHUNK):
        chunk = [g for g in guids[i : i + _CHUNK] if g]
        found_guids.update(
            g for g in session.scalars(select(Article.guid).where(Article.guid.in_(chunk))) if g
        )
    for i in range(0, len(hashes), _CHUNK):
        hchunk = hashes[i : i + _CHUNK]
        found_hashes.update(
            session.scalars(select(Article.content_hash).where(Article.content_hash.in_(hchunk)))
        )
    return Known(frozenset(found_urls), frozenset(found_guids), frozenset(found_hashes))


def apply_poll(
    session: Session, record: PollRecord, now: datetime, *, defer_stories: bool = False
) -> ApplyReport:
    """Store one poll's articles, hits and source state.

    With ``defer_stories`` (stories on) the articles are left ``story_pending`` and no outbox row is
    written: the story stage decides their stories and writes the alerts of the hits marked ``alerted``
    (see ``_story_stage``). Otherwise each alerting hit's outbox rows are written here, keyed per article.
    """
    src = session.get(Source, record.source_id)
    if src is None:  # removed while the poll was in flight: nothing to attach the result to
        return ApplyReport()
    watchlists = {w.id: w for w in session.scalars(select(Watchlist))} if record.articles else {}
    added = hits_added = alerts = 0
    per_watchlist: dict[int, int] = {}
    article_ids: list[int] = []
    # One query for the duplicates, one INSERT for the new articles (_ingest_rows).
    inserted = NewRows(session, src.id, record.articles, now, story_pending=defer_stories)
    for art, row in inserted:
        added += 1
        article_ids.append(row.id)
        for hit in art.hits:
            wl = watchlists.get(hit.watchlist_id)
            if wl is None:
                continue
            spans = [[s.start, s.end] for s in hit.spans]
            hit_row = Hit(
                article_id=row.id,
                watchlist_id=wl.id,
                article_url=art.url,
                article_title=art.title,
                snippet=hit.snippet,
                spans=spans,
                alerted=record.alert and wl.enabled,
                matched_at=now,
            )
            session.add(hit_row)
            hits_added += 1
            per_watchlist[wl.id] = per_watchlist.get(wl.id, 0) + 1
            if defer_stories or not (record.alert and wl.enabled):
                continue
            session.flush()
            payload = alert_payload(
                title=art.title,
                url=art.url,
                published=art.published.isoformat(),
                source=src.name,
                watchlist=wl.name,
                snippet=hit.snippet,
                spans=spans,
            )
            alerts += enqueue_alerts(
                session, None, hit=hit_row, watchlist=wl, story_id=None, payload=payload, now=now
            )
    update_source(src, record, now)
    session.flush()
    return ApplyReport(added, inserted.duplicates, hits_added, alerts, tuple(article_ids), per_watchlist)


def update_source(src: Source, record: PollRecord, now: datetime) -> None:
    """The source's new state after a poll (fetch state, schedule, errors, health inputs)."""
    up = record.update
    src.lease_until = None
    src.last_checked_at = now
    src.next_check_at = up.next_check_at
    src.current_interval_s = up.current_interval_s
    src.updated_at = now
    if up.new_url:
        src.url = up.new_url
    if up.success:
        src.polls += 1
        src.last_success_at = now
        src.error_count = 0
        src.last_error = None
        src.last_error_at = None
        if up.etag is not None or up.last_modified is not None or up.body_hash is not None:
            src.etag = up.etag
            src.last_modified = up.last_modified
            src.body_hash = up.body_hash
        if up.new_entries:
            src.last_new_entry_at = now
        if up.recent_entry_times:
            src.recent_entry_times = [t.isoformat() for t in up.recent_entry_times]
        if up.parsed:
            src.last_problem = up.problem
            src.last_problem_at = now if up.problem else None
    else:
        src.error_count += 1
        src.last_error = up.error
        src.last_error_at = now
    if up.deactivate_reason:
        src.active = False
        src.deactivated_reason = up.deactivate_reason
