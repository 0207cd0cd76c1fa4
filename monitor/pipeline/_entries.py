"""Turning a fetched source document into entries, by source kind (feed, page, sitemap)."""

from __future__ import annotations

from monitor.core import Entry, FetchResult
from monitor.fetch import Fetcher, FetchError, FetchPolicy
from monitor.parse import parse_feed, parse_json_feed, parse_page_links, parse_sitemap, sniff_kind
from monitor.pipeline._cpu import CpuRunner
from monitor.store import SourceRow

_MAX_CHILD_SITEMAPS = 10


async def read_entries(
    src: SourceRow, result: FetchResult, *, fetcher: Fetcher, policy: FetchPolicy, cpu: CpuRunner
) -> tuple[list[Entry], float | None, str | None]:
    """(entries, feed TTL in seconds, parser's problem note) for one fetched source document."""
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
        return entries, None, None
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
        return entries, None, None
    if sniff_kind(result.body, headers=headers) == "json_feed":
        feed = await cpu.run(parse_json_feed, result.body, url=url)
    else:
        feed = await cpu.run(parse_feed, result.body, url=url, headers=headers)
    return list(feed.entries), feed.ttl_s, feed.problem
