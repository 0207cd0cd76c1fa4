"""The functions the pipeline sends to its CPU runner's worker processes, and the values they return.

Issue #3 (memory): a process-pool worker imports the module of every function it is sent, and every
module that module imports. These functions used to live in ``_entries`` and ``_articles``, next to the
event-loop code that calls them, and so every worker (and the fork server) carried the fetcher, the
store and its ORM, and the matcher (~60 MB) to run a feed parser. Here they import ``monitor.core`` and
the ``parse`` and ``extract`` packages only, and those packages load their names lazily: the stage
modules (feedparser, lxml, trafilatura, ...) are loaded on a function's first call, or before it by the
fork server's preload (``WORKER_MODULES`` in ``_cpu``).

That laziness serves the event-loop process too. It sends these functions by reference (a pickled
function is its module and name) and receives their results (``Entries``, articles, the stages' error
types, all defined in light modules), so it never loads the parsers and extractors themselves. The stage
functions it would otherwise send directly (``parse_page_links``, ``parse_sitemap``, ``extract_html``)
are therefore wrapped here: sending the wrapper costs the loop no import.

``tests/pipeline/test_cpu.py`` checks both sides: what a worker holds, and what the loop does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from monitor import extract, parse
from monitor.core import Entry, NormalizedArticle, canonical_url
from monitor.parse import PageLinks, SitemapResult

__all__ = [
    "Carried",
    "Entries",
    "carried_article",
    "carry_entries",
    "page_article",
    "page_links",
    "read_feed",
    "sitemap",
]

# What the feed-parsing worker already made of an entry: the article, the reason it failed, or None when
# it was not attempted (the source fetches pages, so the page is tried first).
Carried = NormalizedArticle | str | None


@dataclass(frozen=True, slots=True)
class Entries:
    """What a source document gave: entries, the feed's TTL, the parser's problem note, and the articles
    already made of the entries' carried text, by canonical entry URL (empty when none were made)."""

    entries: list[Entry]
    ttl_s: float | None = None
    problem: str | None = None
    carried: Mapping[str, Carried] = field(default_factory=dict)
    canonical: bool = False  # the entries' URLs are canonical already (``read_feed``, in a worker)


def carried_article(entry: Entry, *, fetched_at: datetime) -> NormalizedArticle:
    """The article made of what the feed carries for ``entry``: its HTML (content, else summary) through
    ``normalize_fragment``, or its title alone when it carries no text. Pure CPU work, run in a worker.

    Raises ``ExtractionError`` when nothing usable is left.
    """
    body = entry.content_html or entry.summary
    if body:
        return extract.normalize_fragment(
            body,
            url=entry.url,
            fetched_at=fetched_at,
            title=entry.title,
            published=entry.published,
            language=entry.language,
        )
    if entry.title:
        return extract.normalize_text(
            entry.title, fetched_at=fetched_at, url=entry.url, title=entry.title, published=entry.published
        )
    raise extract.ExtractionError(f"the feed entry {entry.url} carries neither text nor a title")


def read_feed(
    body: bytes, *, url: str, headers: dict[str, str], normalize_at: datetime | None = None
) -> Entries:
    """Parse an RSS/Atom/RDF/JSON feed and, with ``normalize_at`` (the fetch time), normalise the text of
    every entry that carries some (an entry with a title alone is left to its page). Runs in a worker
    process: module level, plain arguments, a picklable result.

    One call per feed rather than one per entry: the entries' HTML is pickled once (there) and their text
    once (back). A normalised entry loses its HTML (the article holds the text), which halves what is
    pickled back. The pipeline asks for this on a source's first poll, when every entry is new; later
    polls parse only, and normalise the entries that turn out new with ``carry_entries``.
    """
    if parse.sniff_kind(body, headers=headers) == "json_feed":
        feed = parse.parse_json_feed(body, url=url)
    else:
        feed = parse.parse_feed(body, url=url, headers=headers)
    # URLs made canonical here, once: the event loop's process (which de-duplicates on them) is the busier.
    canonical = [replace(entry, url=canonical_url(entry.url)) for entry in feed.entries]
    if normalize_at is None:
        return Entries(canonical, feed.ttl_s, feed.problem, canonical=True)
    carried = carry_entries(canonical, fetched_at=normalize_at)
    # A normalised entry sheds its HTML, which halves what is pickled back.
    entries = [
        replace(e, content_html=None, summary=None) if _made(carried.get(e.url)) else e for e in canonical
    ]
    return Entries(entries, feed.ttl_s, feed.problem, carried, canonical=True)


def carry_entries(entries: Sequence[Entry], *, fetched_at: datetime) -> dict[str, Carried]:
    """The articles made of the text ``entries`` carry (``carried_article``), or why not, by entry URL;
    entries that carry no text (a title alone: left to their page) are not in the answer. Runs in a
    worker process.

    Issue #3: a feed that changed since the last poll usually gained one or two entries and still lists
    the rest, already stored. Normalising all of them with the parse (``read_feed``) cost a changed feed
    of ``bench/poll.py``'s site about a quarter of its worker time (19 of 20 entries thrown away by the
    de-duplication right after), so after a source's first poll only the new entries come here.
    """
    carried: dict[str, Carried] = {}
    for entry in entries:
        if not (entry.content_html or entry.summary):
            continue
        try:
            carried[entry.url] = carried_article(entry, fetched_at=fetched_at)
        except extract.ExtractionError as exc:
            carried[entry.url] = str(exc)
    return carried


def _made(carried: Carried) -> bool:
    return carried is not None and not isinstance(carried, str)


# -- the stage functions the loop sends as they are, wrapped so that sending one imports nothing ---------


def page_links(
    body: bytes, *, url: str, headers: Mapping[str, str], selector: str, next_selector: str | None
) -> PageLinks:
    """``parse_page_links`` of a listing page (a ``page`` source)."""
    return parse.parse_page_links(
        body, url=url, headers=headers, selector=selector, next_selector=next_selector
    )


def sitemap(body: bytes, *, url: str, headers: Mapping[str, str]) -> SitemapResult:
    """``parse_sitemap`` of a sitemap or sitemap index (a ``sitemap`` source)."""
    return parse.parse_sitemap(body, url=url, headers=headers)


def page_article(
    body: bytes,
    *,
    url: str,
    fetched_at: datetime,
    content_type: str | None,
    feed_title: str | None,
    feed_published: datetime | None,
    language_hint: str | None,
) -> NormalizedArticle:
    """``extract_html`` of an article page. Raises ``ExtractionError`` when no text is found."""
    return extract.extract_html(
        body,
        url=url,
        fetched_at=fetched_at,
        content_type=content_type,
        feed_title=feed_title,
        feed_published=feed_published,
        language_hint=language_hint,
    )
