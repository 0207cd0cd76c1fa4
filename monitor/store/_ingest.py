"""Applying one poll's intent: articles, hits, outbox rows and the source's new state, in one transaction.

The unique constraints (article URL, hit article x watchlist, alert dedup key) are the last line of
defence: a concurrent writer that got there first turns our insert into a recorded duplicate, never into
a second row or a second alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

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


# Built once (see _ingest_rows._STORED): these run for every poll.
_KNOWN = select(Article.url, Article.guid).where(
    or_(
        Article.url.in_(bindparam("urls", expanding=True)),
        Article.guid.in_(bindparam("guids", expanding=True)),
    )
)
_SOURCE_NAMES = select(Source.id, Source.name).where(Source.id.in_(bindparam("ids", expanding=True)))
_WATCHLISTS = select(Watchlist).where(Watchlist.id.in_(bindparam("ids", expanding=True)))


def known(session: Session, *, urls: Sequence[str], guids: Sequence[str], hashes: Sequence[str]) -> Known:
    """Which of these keys already belong to a stored article (URL, GUID or content hash)."""
    found_urls: set[str] = set()
    found_guids: set[str] = set()
    found_hashes: set[str] = set()
    # URLs and GUIDs in one query per chunk (a poll asks for both: one statement instead of two)
    url_set, guid_set = set(urls), {g for g in guids if g}
    url_list, guid_list = list(url_set), list(guid_set)
    for i in range(0, max(len(url_list), len(guid_list)), _CHUNK):
        params = {"urls": url_list[i : i + _CHUNK], "guids": guid_list[i : i + _CHUNK]}
        for url, guid in session.execute(_KNOWN, params):
            if url in url_set:
                found_urls.add(url)
            if guid in guid_set:
                found_guids.add(guid)
    for i in range(0, len(hashes), _CHUNK):
        hchunk = hashes[i : i + _CHUNK]
        found_hashes.update(
            session.scalars(select(Article.content_hash).where(Article.content_hash.in_(hchunk)))
        )
    return Known(frozenset(found_urls), frozenset(found_guids), frozenset(found_hashes))


def apply_polls(
    session: Session, records: Sequence[tuple[PollRecord, datetime]], *, defer_stories: bool = False
) -> list[ApplyReport | Exception]:
    """Several polls in one transaction (group commit, see ``pipeline/_recorder.py``), in order: each
    poll's articles in a savepoint of its own, so that a poll's own failure (its exception, in its place
    in the answer) rolls back that poll alone and leaves its source state as it was, as when it committed
    alone; then the source states of the others, with one executemany per shape of change."""
    results: list[ApplyReport | Exception] = []
    states: list[tuple[PollRecord, datetime]] = []
    with_articles = [record for record, _now in records if record.articles]
    names = _source_names(session, {r.source_id for r in with_articles})
    watchlists = _watchlists(
        session, {h.watchlist_id for r in with_articles for a in r.articles for h in a.hits}
    )
    for record, now in records:
        if record.articles:
            try:
                with session.begin_nested():
                    report = _apply(session, record, now, names, watchlists, defer_stories=defer_stories)
                    results.append(report or ApplyReport())
            except Exception as exc:  # reported to its poll alone, which raises it
                results.append(exc)
                continue
        else:
            results.append(ApplyReport())
        states.append((record, now))
    if states:
        update_sources(session, states)
    return results


def apply_poll(
    session: Session, record: PollRecord, now: datetime, *, defer_stories: bool = False
) -> ApplyReport:
    """Store one poll's articles, hits and source state (``apply_polls`` with one poll; its failure
    raises).

    With ``defer_stories`` (stories on) the articles are left ``story_pending`` and no outbox row is
    written: the story stage decides their stories and writes the alerts of the hits marked ``alerted``
    (see ``_story_stage``). Otherwise each alerting hit's outbox rows are written here, keyed per article.
    """
    (result,) = apply_polls(session, [(record, now)], defer_stories=defer_stories)
    if isinstance(result, Exception):
        raise result
    return result


def _source_names(session: Session, ids: set[int]) -> dict[int, str]:
    wanted = sorted(ids)
    return {
        sid: name
        for i in range(0, len(wanted), _CHUNK)
        for sid, name in session.execute(_SOURCE_NAMES, {"ids": wanted[i : i + _CHUNK]})
    }


def _watchlists(session: Session, ids: set[int]) -> dict[int, Watchlist]:
    """Only the watchlists the hits name: a deployment may have 100,000 of them."""
    wanted = sorted(ids)
    return {
        w.id: w
        for i in range(0, len(wanted), _CHUNK)
        for w in session.scalars(_WATCHLISTS, {"ids": wanted[i : i + _CHUNK]})
    }


def _apply(
    session: Session,
    record: PollRecord,
    now: datetime,
    names: dict[int, str],
    watchlists: dict[int, Watchlist],
    *,
    defer_stories: bool,
) -> ApplyReport | None:
    """A poll's articles, hits and outbox rows (not its source state); None when its source is gone."""
    source_name = names.get(record.source_id)
    if source_name is None:  # removed while the poll was in flight: nothing to attach the result to
        return None
    added = hits_added = alerts = 0
    per_watchlist: dict[int, int] = {}
    article_ids: list[int] = []
    quiet_hits: list[dict[str, Any]] = []  # hits that alert nothing here: one bulk INSERT at the end
    # One query for the duplicates, one INSERT for the new articles (_ingest_rows).
    inserted = NewRows(session, record.source_id, record.articles, now, story_pending=defer_stories)
    for art, article_id in inserted:
        added += 1
        article_ids.append(article_id)
        for hit in art.hits:
            wl = watchlists.get(hit.watchlist_id)
            if wl is None:
                continue
            spans = [[s.start, s.end] for s in hit.spans]
            fields: dict[str, Any] = {
                "article_id": article_id,
                "watchlist_id": wl.id,
                "article_url": art.url,
                "article_title": art.title,
                "snippet": hit.snippet,
                "spans": spans,
                "alerted": record.alert and wl.enabled,
                "matched_at": now,
            }
            hits_added += 1
            per_watchlist[wl.id] = per_watchlist.get(wl.id, 0) + 1
            if defer_stories or not (record.alert and wl.enabled):
                quiet_hits.append(fields)
                continue
            hit_row = Hit(**fields)  # its outbox rows need its id and the ORM object
            session.add(hit_row)
            session.flush()
            payload = alert_payload(
                title=art.title,
                url=art.url,
                published=art.published.isoformat(),
                source=source_name,
                watchlist=wl.name,
                snippet=hit.snippet,
                spans=spans,
            )
            alerts += enqueue_alerts(
                session, None, hit=hit_row, watchlist=wl, story_id=None, payload=payload, now=now
            )
    if quiet_hits:
        session.execute(insert(Hit), quiet_hits)
    return ApplyReport(added, inserted.duplicates, hits_added, alerts, tuple(article_ids), per_watchlist)


def source_changes(record: PollRecord, now: datetime) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A poll's changes to its source row: the columns it sets, and the counters it increments by one
    (fetch state, schedule, errors, health inputs), which ``update_sources`` applies."""
    up = record.update
    values: dict[str, Any] = {
        "lease_until": None,
        "last_checked_at": now,
        "next_check_at": up.next_check_at,
        "current_interval_s": up.current_interval_s,
        "updated_at": now,
    }
    if up.new_url:
        values["url"] = up.new_url
    if up.success:
        counters: tuple[str, ...] = ("polls",)
        values |= {"last_success_at": now, "error_count": 0, "last_error": None, "last_error_at": None}
        if up.etag is not None or up.last_modified is not None or up.body_hash is not None:
            values |= {"etag": up.etag, "last_modified": up.last_modified, "body_hash": up.body_hash}
        if up.new_entries:
            values["last_new_entry_at"] = now
        if up.recent_entry_times:
            values["recent_entry_times"] = [t.isoformat() for t in up.recent_entry_times]
        if up.parsed:
            values |= {"last_problem": up.problem, "last_problem_at": now if up.problem else None}
    else:
        counters = ("error_count",)
        values |= {"last_error": up.error, "last_error_at": now}
    if up.deactivate_reason:
        values |= {"active": False, "deactivated_reason": up.deactivate_reason}
    return values, counters


def update_sources(session: Session, records: Sequence[tuple[PollRecord, datetime]]) -> None:
    """Several polls' source states with one executemany ``UPDATE`` per shape of change (the columns
    set and counters incremented), without loading the rows: the steady pass's commits are mostly this
    (every 304), and loading each source as an ORM object and flushing its changes cost several times
    the UPDATE itself. A source removed meanwhile matches no row. When one source appears twice, the
    records are applied one by one, in order, as the ORM path would."""
    table = cast(Table, Source.__table__)
    changes = [(record.source_id, *source_changes(record, now)) for record, now in records]
    shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], list[dict[str, Any]]] = {}
    batches: list[tuple[tuple[tuple[str, ...], tuple[str, ...]], list[dict[str, Any]]]] = []
    in_order = len({sid for sid, _v, _c in changes}) < len(changes)
    for sid, values, counters in changes:
        shape = (tuple(sorted(values)), counters)
        params = {"_sid": sid, **values}
        if in_order:
            batches.append((shape, [params]))
        else:
            shapes.setdefault(shape, []).append(params)
    batches.extend(shapes.items())
    for shape, rows in batches:
        stmt = _UPDATES.get(shape)
        if stmt is None:  # a handful of shapes in all: each statement is built (and its cache key made) once
            names, counters = shape
            sets: dict[Any, Any] = {table.c[n]: bindparam(n, type_=table.c[n].type) for n in names}
            sets |= {table.c[n]: table.c[n] + 1 for n in counters}
            stmt = _UPDATES[shape] = update(table).where(table.c.id == bindparam("_sid")).values(sets)
        session.execute(stmt, rows)


_UPDATES: dict[tuple[tuple[str, ...], tuple[str, ...]], Update] = {}
