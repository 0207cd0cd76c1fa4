"""ParserPool: big feeds parse in worker processes while the event loop keeps ticking."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from monitor.parse import FeedRefused, ParseError, ParserPool, parse_feed

FIXTURES = Path(__file__).parent / "fixtures"
PARAGRAPH = (
    "The harbour board met on Tuesday to discuss the dredging schedule, the new tide tables and "
    "the budget for the lighthouse repairs; members asked for a report before the spring tides. "
)


def big_feed(target_bytes: int) -> bytes:
    """An RSS 2.0 feed of about ``target_bytes`` (each item is ~1.3 KB)."""
    items: list[str] = []
    size = 0
    i = 0
    while size < target_bytes:
        item = (
            f"<item><title>Board meeting {i} &amp; tides</title>"
            f"<link>https://big.example.com/2024/{i}</link><guid>https://big.example.com/2024/{i}</guid>"
            f"<pubDate>Tue, 05 Mar 2024 10:{i % 60:02d}:00 +0100</pubDate>"
            f"<description>{PARAGRAPH * 6}</description></item>"
        )
        items.append(item)
        size += len(item)
        i += 1
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big</title>'
        f"<link>https://big.example.com/</link>{''.join(items)}</channel></rss>"
    ).encode()


class Ticker:
    """Counts loop ticks and the largest gap between two of them (the loop lag)."""

    def __init__(self, period_s: float = 0.005) -> None:
        self.period_s = period_s
        self.ticks = 0
        self.max_gap_s = 0.0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        last = time.perf_counter()
        while not self._stop.is_set():
            await asyncio.sleep(self.period_s)
            now = time.perf_counter()
            self.max_gap_s = max(self.max_gap_s, now - last)
            self.ticks += 1
            last = now

    def stop(self) -> None:
        self._stop.set()


@pytest.mark.slow
async def test_five_megabyte_feed_parses_in_the_pool_while_the_loop_ticks() -> None:
    body = big_feed(5 * 1024 * 1024)
    assert len(body) >= 5 * 1024 * 1024
    async with ParserPool(max_workers=1) as pool:
        await pool.start()
        ticker = Ticker()
        tick_task = asyncio.create_task(ticker.run())
        started = time.perf_counter()
        feed = await pool.parse_feed(body, url="https://big.example.com/rss")
        elapsed = time.perf_counter() - started
        ticker.stop()
        await tick_task
    assert len(feed.entries) > 3000
    assert feed.entries[-1].url.startswith("https://big.example.com/2024/")
    # The parse is slow (seconds of pure-Python work) yet the loop never stalled.
    gap_ms = ticker.max_gap_s * 1000
    print(f"\n5 MB feed: {elapsed:.2f} s in the pool, {ticker.ticks} ticks, max loop gap {gap_ms:.1f} ms")
    assert elapsed > 0.5
    assert ticker.ticks > elapsed / ticker.period_s / 4
    assert ticker.max_gap_s < 0.5


async def test_small_bodies_are_parsed_inline_without_starting_workers() -> None:
    body = (FIXTURES / "rss20.xml").read_bytes()
    async with ParserPool(inline_max_bytes=64 * 1024) as pool:
        feed = await pool.parse_feed(body, url="https://courier.example.com/rss")
        assert pool.workers_started is False
    assert feed == parse_feed(body, url="https://courier.example.com/rss")


async def test_every_parser_through_the_workers_matches_the_function() -> None:
    fixtures = {
        name: (FIXTURES / name).read_bytes()
        for name in ("rss20.xml", "feed11.json", "listing.html", "news_sitemap.xml", "discovery.html")
    }
    async with ParserPool(max_workers=1, inline_max_bytes=0) as pool:
        feed = await pool.parse_feed(
            fixtures["rss20.xml"],
            url="https://c.example.com/rss",
            headers={"Content-Type": "application/rss+xml"},
        )
        json_feed = await pool.parse_json_feed(
            fixtures["feed11.json"], url="https://orbit.example.com/feed.json"
        )
        page = await pool.parse_page_links(
            fixtures["listing.html"],
            url="https://www.harbour-times.example.com/",
            selector="article a",
            next_selector="a.next",
        )
        sitemap = await pool.parse_sitemap(
            fixtures["news_sitemap.xml"], url="https://daily.example.com/s.xml"
        )
        feeds = await pool.discover_feeds(fixtures["discovery.html"], url="https://radio.example.com/en/")
        kind = await pool.sniff_kind(fixtures["news_sitemap.xml"])
        assert pool.workers_started
    assert len(feed.entries) == 3
    assert json_feed.kind == "json"
    assert page.next_url == "https://www.harbour-times.example.com/?page=2"
    assert len(sitemap.entries) == 2
    assert len(feeds) == 4
    assert kind == "sitemap"


async def test_parse_errors_cross_the_process_boundary_intact() -> None:
    async with ParserPool(max_workers=1, inline_max_bytes=0) as pool:
        with pytest.raises(FeedRefused) as refused:
            await pool.parse_feed(
                (FIXTURES / "billion_laughs.xml").read_bytes(), url="https://lol.example.com/rss"
            )
        with pytest.raises(ParseError, match="no feed entries") as broken:
            await pool.parse_feed(b"\x00" * 100_000, url="https://junk.example.com/rss")
    assert refused.value.url == "https://lol.example.com/rss"
    assert broken.value.url == "https://junk.example.com/rss"


async def test_a_dead_worker_becomes_a_parse_error_and_the_pool_recovers() -> None:
    before = {p.pid for p in multiprocessing.active_children()}
    body = big_feed(3 * 1024 * 1024)
    pool = ParserPool(max_workers=1, inline_max_bytes=0)
    try:
        await pool.start()
        workers = [p for p in multiprocessing.active_children() if p.pid not in before]
        assert len(workers) == 1
        parse = asyncio.create_task(pool.parse_feed(body, url="https://big.example.com/rss"))
        await asyncio.sleep(0.3)
        assert workers[0].pid is not None
        os.kill(workers[0].pid, signal.SIGKILL)  # a worker this test started
        with pytest.raises(ParseError, match="parser process died") as info:
            await parse
        assert info.value.url == "https://big.example.com/rss"
        small = (FIXTURES / "rss10.rdf").read_bytes()
        assert len((await pool.parse_feed(small, url="http://wire.example.org/rss")).entries) == 2
    finally:
        await asyncio.to_thread(pool.close)
    with pytest.raises(RuntimeError, match="closed"):
        await pool.parse_feed(body, url="https://big.example.com/rss")
    assert not [p for p in multiprocessing.active_children() if p.pid not in before]
