"""``monitor search`` and watchlist backfill: a query run over the articles already stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated

import typer

from monitor.cli._common import ConfigOption, JsonOption, emit_json, fail, now, open_store, progress, table
from monitor.cli._hits import parse_since
from monitor.core import WatchlistHit, host_of
from monitor.match import Document, Engine, QuerySyntaxError, WatchlistSpec, mark_spans
from monitor.store import Store, StoredArticle


def _engine(query: str, synonyms: tuple[tuple[str, ...], ...] = ()) -> Engine:
    try:
        return Engine.build([WatchlistSpec(id=0, name="query", query=query, synonyms=synonyms)])
    except QuerySyntaxError as exc:
        fail(exc.render(), code=2)


def matches(
    store: Store, engine: Engine, *, since: datetime | None, newest_first: bool = True
) -> Iterator[tuple[StoredArticle, WatchlistHit]]:
    """Stored articles the engine's (single) query matches, with the matched sentence."""
    for art in store.iter_articles(since=since, newest_first=newest_first):
        doc = Document(
            title=art.title,
            body=art.body,
            source=host_of(art.url),
            language=art.language,
        )
        hits = engine.match(doc)
        if hits:
            yield art, hits[0]


def search(
    ctx: typer.Context,
    query: str,
    since: Annotated[str | None, typer.Option(help="Only articles first seen since (date or age).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many results.")] = 20,
    json_out: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Run a query over stored articles, newest first (retroactive search).

    Example: monitor search '"port authority" AND strike' --since 7d --limit 10
    """
    engine = _engine(query)
    found: list[tuple[StoredArticle, WatchlistHit]] = []
    with open_store(ctx, config) as store:
        for pair in matches(store, engine, since=parse_since(since)):
            found.append(pair)
            if len(found) >= limit:
                break
    if json_out:
        emit_json(
            [
                {
                    "id": a.id,
                    "title": a.title,
                    "url": a.url,
                    "published": a.published,
                    "source": a.source,
                    "snippet": h.snippet,
                    "spans": [[s.start, s.end] for s in h.spans],
                }
                for a, h in found
            ]
        )
        return
    table(
        ("PUBLISHED", "SOURCE", "TITLE", "MATCH"),
        [(a.published.isoformat(), a.source, a.title[:60], mark_spans(h)[:90]) for a, h in found],
    )


def backfill(
    ctx: typer.Context,
    config: str | None,
    *,
    watchlist_id: int,
    query: str,
    synonyms: tuple[tuple[str, ...], ...],
    days: int,
) -> int:
    """Record the hits of a new query over the last ``days`` of stored articles, without alerting."""
    engine = _engine(query, synonyms)
    with open_store(ctx, config) as store:
        found = []
        with progress("backfill: matching stored articles", total=None) as advance:  # only in a terminal
            for pair in matches(store, engine, since=now() - timedelta(days=days), newest_first=False):
                found.append(pair)
                advance(1)
        return store.record_backfill_hits(watchlist_id=watchlist_id, hits=found, now=now())
