"""Turning a fetched source document into entries, by source kind (feed, page, sitemap).

A feed is parsed in a worker process; when the source's articles will be made of the text the feed
carries (``trust_feed_content``, or a first poll that only records), that text is normalised in the same
call (``read_feed``): one round trip per feed, the entries' HTML pickled once (there) and the text once
(back), instead of one round trip per entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from monitor.core import Entry, FetchResult, canonical_url
from monitor.extract import ExtractionError
from monitor.fetch import Fetcher, FetchError, FetchPolicy
from monitor.parse import parse_feed, parse_json_feed, parse_page_links, parse_sitemap, sniff_kind
from monitor.pipeline._articles import Carried, carried_article
from monitor.pipeline._cpu import CpuRunner
from monitor.store import SourceRow

_MAX_CHILD_SITEMAPS = 10


@dataclass(frozen=True, slots=True)
class Entries:
    """What a source document gave: entries, the feed's TTL, the parser's problem note, and the articles
    already made of the entries' carried text, by canonical entry URL (empty when none were made)."""

    entries: list[Entry]
    ttl_s: float | None = None
    problem: str | None = None
    carried: Mapping[str, Carried] = field(default_factory=dict)


def read_feed(
    body: bytes, *, url: str, headers: dict[str, str], normalize_at: datetime | None = None
) -> Entries:
    """Parse an RSS/Atom/RDF/JSON feed and, with ``normalize_at`` (the fetch time), normalise the text of
    every entry that carries some (an entry with a title alone is left to its page). Runs in a worker
    process: module level, plain arguments, a picklable result.

    A normalised entry loses its HTML (the article holds the text), which halves what is pickled back.
    """
    if sniff_kind(body, headers=headers) == "json_feed":
        feed = parse_json_feed(body, url=url)
    else:
        feed = parse_feed(body, url=url, headers=headers)
    if normalize_at is None:
        return Entries(list(feed.entries), feed.ttl_s, feed.problem)
    entries: list[Entry] = []
    carried: dict[str, Carried] = {}
    for entry in feed.entries:
        if not (entry.content_html or entry.summary):
            entries.append(entry)
            continue
        key = canonical_url(entry.url)
        try:
            carried[key] = carried_article(entry, fetched_at=normalize_at)
        except ExtractionError as exc:
            carried[key] = str(exc)
            entries.append(entry)
            continue
        entries.append(replace(entry, content_html=None, summary=None))
    return Entries(entries, feed.ttl_s, feed.problem, carried)


async def read_entries(
    src: SourceRow,
    result: FetchResult,
    *,
    fetcher: Fetcher,
    policy: FetchPolicy,
    cpu: CpuRunner,
    normalize_at: datetime | None = None,
) -> Entries:
    """The entries of one fetched source document; see ``read_feed`` for ``normalize_at``."""
    headers = dict(result.headers)
    url = result.final_url
    if src.kind == "page":
        selector = str(src.options.get("selector") or "a")
        next_selector = src.options.get("next_selector")
        max_pages = int(src.options.get("max_pages") or 1)
        entries: list[Entry] = []
        body, page_url = result.body, url
        for _ in range(max_pages):
            links = await cpu.run(
                parse_page_links,
                body,
                url=page_url,
                headers=headers,
                selector=selector,
                next_selector=str(next_selector) if next_selector else None,
            )
            entries.extend(links.entries)
            if not links.next_url:
                break
            try:
                nxt = await fetcher.fetch(links.next_url, policy=policy)
            except FetchError:
                break
            body, page_url = nxt.body, nxt.final_url
        return Entries(entries)
    if src.kind == "sitemap":
        sitemap = await cpu.run(parse_sitemap, result.body, url=url, headers=headers)
        entries = list(sitemap.entries)
        for child in sitemap.sitemaps[:_MAX_CHILD_SITEMAPS]:
            try:
                fetched = await fetcher.fetch(child, policy=policy)
            except FetchError:
                continue
            sub = await cpu.run(
                parse_sitemap, fetched.body, url=fetched.final_url, headers=dict(fetched.headers)
            )
            entries.extend(sub.entries)
        return Entries(entries)
    return await cpu.run(read_feed, result.body, url=url, headers=headers, normalize_at=normalize_at)
