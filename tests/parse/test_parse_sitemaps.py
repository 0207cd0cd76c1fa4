"""parse_sitemap: urlset with news data, sitemap index, gzip, text sitemaps and refusals."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.parse import FeedRefused, ParseError, parse_sitemap

FIXTURES = Path(__file__).parent / "fixtures"
URL = "https://daily.example.com/sitemap.xml"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_news_sitemap() -> None:
    result = parse_sitemap(load("news_sitemap.xml"), url=URL)
    assert result.sitemaps == ()
    summit, park = result.entries  # the duplicate <loc> and the <url> without one are dropped
    assert summit.url == "https://daily.example.com/world/2024/03/08/summit-ends"
    assert summit.title == "Summit ends with & without a deal"
    assert summit.language == "en"
    # news:publication_date wins over lastmod, and keeps its offset.
    assert summit.published == datetime(2024, 3, 8, 16, 45, tzinfo=timezone(timedelta(hours=-5)))
    assert summit.published is not None and summit.published.utcoffset() == timedelta(hours=-5)
    assert park.url == "https://daily.example.com/local/2024/03/07/park"  # whitespace around <loc> trimmed
    assert park.published == datetime(2024, 3, 7, tzinfo=UTC)  # a bare date: midnight UTC
    assert park.title is None


def test_sitemap_index_children_resolved_and_deduplicated() -> None:
    result = parse_sitemap(load("sitemap_index.xml"), url=URL)
    assert result.entries == ()
    assert result.sitemaps == (
        "https://daily.example.com/sitemaps/news.xml",
        "https://daily.example.com/sitemaps/2024-03.xml.gz",
    )


def test_gzipped_sitemap_equals_plain() -> None:
    plain = parse_sitemap(load("news_sitemap.xml"), url=URL)
    assert parse_sitemap(gzip.compress(load("news_sitemap.xml")), url=URL + ".gz") == plain


def test_gzip_bomb_is_refused_without_inflating_it_all() -> None:
    bomb = gzip.compress(b"<" + b" " * (60 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    started = time.perf_counter()
    with pytest.raises(FeedRefused, match="inflates to more than 50 MB"):
        parse_sitemap(bomb, url=URL)
    assert time.perf_counter() - started < 2.0


def test_corrupt_and_truncated_gzip() -> None:
    packed = gzip.compress(load("news_sitemap.xml"))
    with pytest.raises(ParseError, match="truncated gzip"):
        parse_sitemap(packed[: len(packed) // 2], url=URL)
    with pytest.raises(ParseError, match="corrupt gzip"):
        parse_sitemap(b"\x1f\x8b" + b"\x00" * 40, url=URL)


def test_old_google_namespace_and_no_namespace() -> None:
    old = b"""<?xml version="1.0"?><urlset xmlns="http://www.google.com/schemas/sitemap/0.84">
      <url><loc>https://old.example.com/a</loc></url></urlset>"""
    bare = b"<urlset><url><loc>https://bare.example.com/a</loc><lastmod>2024-02</lastmod></url></urlset>"
    assert [e.url for e in parse_sitemap(old, url="https://old.example.com/s.xml").entries] == [
        "https://old.example.com/a"
    ]
    (entry,) = parse_sitemap(bare, url="https://bare.example.com/s.xml").entries
    assert entry.published == datetime(2024, 2, 1, tzinfo=UTC)


def test_text_sitemap() -> None:
    body = b"https://txt.example.com/a\r\n\r\nhttps://txt.example.com/b\nhttps://txt.example.com/a\n"
    result = parse_sitemap(body, url="https://txt.example.com/sitemap.txt")
    assert [e.url for e in result.entries] == ["https://txt.example.com/a", "https://txt.example.com/b"]


def test_entities_and_doctypes_are_refused() -> None:
    with_entity = (
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x "https://e.example.com/">]>'
        b"<urlset><url><loc>&x;a</loc></url></urlset>"
    )
    with pytest.raises(FeedRefused, match="entities"):
        parse_sitemap(with_entity, url=URL)
    with_doctype = b'<?xml version="1.0"?><!DOCTYPE urlset SYSTEM "file:///etc/passwd"><urlset/>'
    with pytest.raises(FeedRefused, match="DOCTYPE") as info:
        parse_sitemap(with_doctype, url=URL)
    assert URL in str(info.value)
    with pytest.raises(FeedRefused):
        parse_sitemap(gzip.compress(load("billion_laughs.xml")), url=URL)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty sitemap"),
        (b"<urlset><url><loc>https://x.example.com/</loc></url>", "not a well-formed sitemap"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "root element is <rss>"),
        (b"just some words", "not a well-formed sitemap"),
    ],
)
def test_not_a_sitemap(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason) as info:
        parse_sitemap(body, url=URL)
    assert URL in str(info.value)
