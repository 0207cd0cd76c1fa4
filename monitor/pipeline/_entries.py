"""Turning a fetched source document into entries, by source kind (feed, page, sitemap).

The parsing runs on the CPU runner, in a worker process, through the functions of ``_work`` (kept there
so that a worker need not import this module's fetcher and store). A feed is parsed in one call, which
also normalises the text its entries carry when the source's articles will be made of it
(``trust_feed_content``, or a first poll that only records): see ``read_feed``.
"""

from __future__ import annotations

from datetime import datetime

from monitor.core import Entry, FetchResult
from monitor.fetch import Fetcher, FetchError, FetchPolicy
from monitor.pipeline._cpu import CpuRunner
from monitor.pipeline._work import Entries, page_links, read_feed, sitemap
from monitor.store import SourceRow

__all__ = ["Entries", "read_entries"]

_MAX_CHILD_SITEMAPS = 10


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
                page_links,
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
        index = await cpu.run(sitemap, result.body, url=url, headers=headers)
        entries = list(index.entries)
        for child in index.sitemaps[:_MAX_CHILD_SITEMAPS]:
            try:
                fetched = await fetcher.fetch(child, policy=policy)
            except FetchError:
                continue
            sub = await cpu.run(sitemap, fetched.body, url=fetched.final_url, headers=dict(fetched.headers))
            entries.extend(sub.entries)
        return Entries(entries)
    return await cpu.run(read_feed, result.body, url=url, headers=headers, normalize_at=normalize_at)
