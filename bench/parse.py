"""Benchmark of the parse stage: feed throughput, the ParserPool's overhead and loop lag, HTML and sitemaps.

Run from the repo root: ``.venv/bin/python bench/parse.py`` (``--quick`` for a smaller run). Feeds and
sitemaps are built in memory from the news corpus in ``shared/corpora`` (generated text when absent);
HTML pages are the WCXB pages there (skipped when absent). Each section compares with a naive
baseline measured in the same run, and the last line is one JSON object.

Sections:
1. parse_feed vs a naive ElementTree RSS reader (which has no encoding, entity, date or link handling).
2. ParserPool round trip vs inline parsing per body size: where the pool's overhead dominates, which
   is what ``INLINE_MAX_BYTES`` is set from.
3. Loop lag while a 5 MB feed parses: inline on the loop (the naive way) vs in the pool.
4. parse_page_links / discover_feeds on real pages vs a regex href scan.
5. parse_sitemap on a large news sitemap vs a regex ``<loc>`` scan.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import html
import json
import re
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.parse import ParserPool, discover_feeds, parse_feed, parse_page_links, parse_sitemap

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
if not CORPORA.exists():
    CORPORA = Path("/work/shared/corpora")


def load_articles(limit: int) -> list[dict[str, str]]:
    path = CORPORA / "news-articles.jsonl.gz"
    if path.exists():
        out = []
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                out.append(json.loads(line))
                if len(out) >= limit:
                    break
        return out
    words = ["harbour", "council", "budget", "tide", "ferry", "minister", "summit", "trade", "talks", "vote"]
    return [
        {
            "title": f"Story {i} {words[i % 10]}",
            "url": f"https://gen.example.com/{i}",
            "date": "2020-01-01",
            "body": " ".join(words[(i + j) % 10] for j in range(400)),
        }
        for i in range(limit)
    ]


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: str) -> str:
    return html.escape(_NOT_XML.sub("", text))


def build_feed(articles: list[dict[str, str]], target_bytes: int) -> bytes:
    """An RSS 2.0 feed of about ``target_bytes``, cycling through the articles."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Bench</title>'
        "<link>https://bench.example.com/</link>"
    ]
    size = len(parts[0])
    i = 0
    while size < target_bytes:
        a = articles[i % len(articles)]
        text = a["body"][:2500]
        body, summary = _x(text), _x(text[:300])
        item = (
            f"<item><title>{_x(a['title'])}</title><link>{_x(a['url'])}?n={i}</link>"
            f"<guid>{_x(a['url'])}?n={i}</guid><pubDate>Tue, 05 Mar 2024 10:00:00 +0100</pubDate>"
            f"<description>{summary}</description><content:encoded>&lt;p&gt;{body}&lt;/p&gt;</content:encoded>"
            "</item>"
        )
        parts.append(item)
        size += len(item.encode())
        i += 1
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def naive_rss(body: bytes) -> list[tuple[str | None, str | None]]:
    root = ET.fromstring(body)  # noqa: S314 - our own generated feed
    return [(item.findtext("title"), item.findtext("link")) for item in root.iter("item")]


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def section_feeds(articles: list[dict[str, str]], size: int, repeat: int) -> dict[str, float]:
    body = build_feed(articles, size)
    ours = best_of(lambda: parse_feed(body, url="https://bench.example.com/rss"), repeat)
    naive = best_of(lambda: naive_rss(body), repeat)
    entries = len(parse_feed(body, url="https://bench.example.com/rss").entries)
    mb = len(body) / 1e6
    print(
        f"[1] parse_feed on {mb:.2f} MB ({entries} entries): {ours * 1000:.0f} ms = {mb / ours:.2f} MB/s, "
        f"{entries / ours:.0f} entries/s"
    )
    print(
        f"    naive ElementTree reader: {naive * 1000:.1f} ms; ratio ours/naive = {ours / naive:.1f}x "
        "(the price of feedparser's leniency, encodings, dates and sanitising)"
    )
    return {"feed_mb_per_s": mb / ours, "feed_vs_naive_ratio": ours / naive, "feed_entries": entries}


async def section_pool_overhead(
    articles: list[dict[str, str]], sizes: list[int], repeat: int
) -> list[dict[str, float]]:
    rows = []
    async with ParserPool(max_workers=1, inline_max_bytes=0) as pool:
        await pool.start()
        print("[2] inline parse vs pool round trip (warm worker, median of runs)")
        print("    body      inline ms   pool ms   overhead ms  overhead %")
        for size in sizes:
            body = build_feed(articles, size)
            inline_t, pool_t = [], []
            for _ in range(repeat):
                started = time.perf_counter()
                parse_feed(body, url="https://bench.example.com/rss")
                inline_t.append(time.perf_counter() - started)
                started = time.perf_counter()
                await pool.parse_feed(body, url="https://bench.example.com/rss")
                pool_t.append(time.perf_counter() - started)
            inline_ms, pool_ms = statistics.median(inline_t) * 1000, statistics.median(pool_t) * 1000
            over = pool_ms - inline_ms
            share = 100 * over / inline_ms
            kb = len(body) / 1024
            print(f"    {kb:7.0f} KB {inline_ms:9.2f} {pool_ms:9.2f} {over:11.2f} {share:10.0f}")
            rows.append({"bytes": len(body), "inline_ms": inline_ms, "pool_ms": pool_ms})
    return rows


async def _lag_while(work: Callable[[], Any]) -> tuple[float, float]:
    gaps = [0.0]
    stop = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(tick())
    await asyncio.sleep(0.02)
    started = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    return elapsed, max(gaps)


async def section_lag(articles: list[dict[str, str]], size: int) -> dict[str, float]:
    body = build_feed(articles, size)
    url = "https://bench.example.com/rss"

    async def inline() -> None:
        parse_feed(body, url=url)

    async with ParserPool(max_workers=1) as pool:
        await pool.start()

        async def pooled() -> None:
            await pool.parse_feed(body, url=url)

        inline_s, inline_gap = await _lag_while(inline)
        pool_s, pool_gap = await _lag_while(pooled)
    print(
        f"[3] loop lag while a {len(body) / 1e6:.1f} MB feed parses: "
        f"inline on the loop {inline_gap * 1000:.0f} ms "
        f"(parse {inline_s:.2f} s); in the pool {pool_gap * 1000:.1f} ms (parse {pool_s:.2f} s); "
        f"lag ratio inline/pool = {inline_gap / pool_gap:.0f}x"
    )
    return {
        "lag_inline_ms": inline_gap * 1000,
        "lag_pool_ms": pool_gap * 1000,
        "lag_ratio": inline_gap / pool_gap,
        "big_feed_mb": len(body) / 1e6,
        "big_feed_pool_s": pool_s,
    }


_HREF = re.compile(rb"""<a\s[^>]*?href\s*=\s*["']([^"']+)""", re.I)


def section_pages(limit: int) -> dict[str, float]:
    folder = CORPORA / "wcxb-dev-articles" / "html"
    if not folder.exists():
        print("[4] WCXB pages absent: skipped")
        return {}
    pages = [gzip.decompress(p.read_bytes()) for p in sorted(folder.glob("*.html.gz"))[:limit]]
    total = sum(map(len, pages)) / 1e6
    links = 0

    def ours() -> None:
        nonlocal links
        links = 0
        for i, body in enumerate(pages):
            url = f"https://page{i}.example.com/index.html"
            links += len(parse_page_links(body, url=url, selector="a", same_site_only=False).entries)
            discover_feeds(body, url=url)

    def naive() -> None:
        for body in pages:
            _HREF.findall(body)

    t_ours, t_naive = best_of(ours, 2), best_of(naive, 2)
    per_page = t_ours * 1000 / len(pages)
    print(
        f"[4] {len(pages)} real pages ({total:.1f} MB): links + autodiscovery {per_page:.2f} ms/page "
        f"({total / t_ours:.1f} MB/s, {links} links); naive regex {t_naive * 1000 / len(pages):.2f} ms/page; "
        f"ratio {t_ours / t_naive:.1f}x"
    )
    return {
        "pages": len(pages),
        "page_ms": t_ours * 1000 / len(pages),
        "pages_vs_naive_ratio": t_ours / t_naive,
    }


_LOC = re.compile(rb"<loc>\s*([^<]+?)\s*</loc>")


def section_sitemap(count: int) -> dict[str, float]:
    rows = "".join(
        f"<url><loc>https://daily.example.com/a/{i}</loc><lastmod>2024-03-08T18:00:00+00:00</lastmod>"
        f"<news:news><news:publication><news:name>D</news:name><news:language>en</news:language>"
        f"</news:publication><news:publication_date>2024-03-08T16:45:00-05:00</news:publication_date>"
        f"<news:title>Title {i}</news:title></news:news></url>"
        for i in range(count)
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{rows}</urlset>'
    ).encode()
    packed = gzip.compress(body)
    t_ours = best_of(lambda: parse_sitemap(packed, url="https://daily.example.com/s.xml.gz"), 2)
    t_naive = best_of(lambda: _LOC.findall(gzip.decompress(packed)), 2)
    print(
        f"[5] gzipped news sitemap, {count} URLs ({len(body) / 1e6:.1f} MB inflated): {t_ours * 1000:.0f} ms "
        f"({count / t_ours:.0f} URLs/s); naive regex {t_naive * 1000:.0f} ms; ratio {t_ours / t_naive:.1f}x"
    )
    return {"sitemap_urls_per_s": count / t_ours, "sitemap_vs_naive_ratio": t_ours / t_naive}


async def main(quick: bool) -> dict[str, Any]:
    articles = load_articles(300)
    out: dict[str, Any] = {"bench": "parse", "quick": quick}
    out |= section_feeds(articles, 1_000_000 if quick else 5_000_000, 1 if quick else 2)
    sizes = (
        [2_000, 8_000, 16_000, 64_000] if quick else [2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 256_000]
    )
    out["pool_overhead"] = await section_pool_overhead(articles, sizes, 5 if quick else 9)
    out |= await section_lag(articles, 1_000_000 if quick else 5_000_000)
    out |= section_pages(60 if quick else 711)
    out |= section_sitemap(5_000 if quick else 50_000)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()
    result = asyncio.run(main(args.quick))
    sys.stdout.flush()
    print(json.dumps(result, separators=(",", ":")))
