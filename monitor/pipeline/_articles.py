"""From one new entry to a stored-ready article: fetch its page (or take the feed's text), hash, match.

Text carried in the feed goes through ``normalize_fragment`` (no page furniture to detect: about four
times cheaper than wrapping it in a page for the page extractor, see ``bench/extract.py``). For a source
that trusts its feed, that normalisation already happened in the worker process that parsed the feed
(``carried_article``, called from ``read_feed``), so the entry's HTML crosses the process boundary once
and comes back as text. The functions that run in workers live in ``_work``, which imports neither the
fetcher, the matcher nor the store that this module does.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from monitor.core import Entry, NormalizedArticle, WatchlistHit, canonical_url, host_of
from monitor.extract import ExtractionError
from monitor.fetch import Fetcher, FetchError, FetchPolicy
from monitor.log import get_logger
from monitor.match import Document, Engine, EngineHolder
from monitor.pipeline._cpu import CpuRunner, WorkerDied
from monitor.pipeline._observe import NullObserver, PollObserver
from monitor.pipeline._work import Carried, carried_article, page_article
from monitor.store import NewArticle

log = get_logger("monitor.pipeline")


def content_hash(article: NormalizedArticle) -> str:
    """Hash of the normalised body: equal texts from different URLs are one article.

    An article with no body (an entry recorded as seen) is keyed by its URL instead, so that empty
    bodies never collide.
    """
    key = article.body.casefold() if article.paragraphs else "url:" + article.url
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def seen_only(entry: Entry, *, now: datetime) -> NormalizedArticle:
    """A record of an entry that was not extracted (first poll ``skip``): title, date and URL only."""
    published = entry.published
    return NormalizedArticle(
        title=(entry.title or entry.url).strip() or entry.url,
        date=(published or now).date(),
        date_source="feed" if published else "first_seen",
        url=canonical_url(entry.url),
        paragraphs=(),
        extractor="none",
    )


@dataclass(frozen=True, slots=True)
class Made:
    """An entry's normalised article and GUID, before ``finish`` hashes, renders and matches it."""

    article: NormalizedArticle
    guid: str | None


def finish(made: Sequence[Made], engine: Engine | None) -> list[NewArticle]:
    """Stored-ready articles: text rendered, content hashed, matched against ``engine`` (no hits when
    None). This is the per-article CPU work of a poll; the pipeline runs one poll's worth at a time on its
    match thread, so the event loop never runs the matcher (whose cost grows with the watchlists)."""
    out = []
    for m in made:
        article = m.article
        hits: tuple[WatchlistHit, ...] = ()
        if engine is not None:
            doc = Document(
                title=article.title,
                body=article.body,
                source=host_of(article.url),
                language=article.language,
            )
            hits = tuple(engine.match(doc))
        out.append(
            NewArticle(
                url=article.url,
                guid=m.guid,
                title=article.title,
                published=article.date,
                date_source=article.date_source,
                text=article.to_text(),
                content_hash=content_hash(article),
                language=article.language,
                extractor=article.extractor,
                hits=hits,
            )
        )
    return out


@dataclass
class ArticleMaker:
    source: str
    fetcher: Fetcher
    cpu: CpuRunner
    engine: EngineHolder
    policy: FetchPolicy
    clock: Callable[[], datetime]
    trust_feed_content: bool = False
    match: bool = True
    fetch_pages: bool = True
    observer: PollObserver = field(default_factory=NullObserver)

    async def make(self, entry: Entry, carried: Carried = None) -> NewArticle | None:
        """The article for ``entry``, hashed and matched here, or None when neither its page nor the feed
        gives usable text (``monitor source check``; the pipeline uses ``prepare`` and ``finish``)."""
        made = await self.prepare(entry, carried)
        if made is None:
            return None
        return finish([made], self.engine.engine if self.match else None)[0]

    async def prepare(self, entry: Entry, carried: Carried = None) -> Made | None:
        """The normalised article for ``entry``, or None when neither its page nor the feed gives usable
        text. I/O and process-pool work only: what is left per article is ``finish``'s CPU work."""
        article = None
        if isinstance(carried, str):
            log.warning(
                "article.extract_failed", source=self.source, article=entry.url, error=carried, origin="feed"
            )
        elif carried is not None:
            article = carried
        elif self.fetch_pages and not (self.trust_feed_content and (entry.content_html or entry.summary)):
            article = await self._from_page(entry)
        if article is None and carried is None:
            article = await self._from_feed(entry)
        if article is None and not self.fetch_pages:
            article = seen_only(entry, now=self.clock())
        if article is None:
            return None
        return Made(article, entry.guid)

    async def _from_page(self, entry: Entry) -> NormalizedArticle | None:
        t0 = time.perf_counter()
        try:
            page = await self.fetcher.fetch(entry.url, policy=self.policy)
        except FetchError as exc:
            self.observer.fetch_done(
                what="article", result=exc.kind, status=exc.status, elapsed_s=time.perf_counter() - t0, size=0
            )
            log.warning("article.fetch_failed", source=self.source, article=entry.url, error=str(exc))
            return None
        self.observer.fetch_done(
            what="article",
            result="ok",
            status=page.status,
            elapsed_s=time.perf_counter() - t0,
            size=len(page.body),
        )
        try:
            return await self.cpu.run(
                page_article,
                page.body,
                url=page.final_url,
                fetched_at=self.clock(),
                content_type=page.headers.get("content-type"),
                feed_title=entry.title,
                feed_published=entry.published,
                language_hint=entry.language,
            )
        except (ExtractionError, WorkerDied) as exc:  # WorkerDied: not stored, so tried again next poll
            log.warning("article.extract_failed", source=self.source, article=entry.url, error=str(exc))
            return None

    async def _from_feed(self, entry: Entry) -> NormalizedArticle | None:
        if not (entry.content_html or entry.summary or entry.title):
            return None
        try:
            return await self.cpu.run(carried_article, entry, fetched_at=self.clock())
        except (ExtractionError, WorkerDied) as exc:
            log.warning(
                "article.extract_failed", source=self.source, article=entry.url, error=str(exc), origin="feed"
            )
        return None
