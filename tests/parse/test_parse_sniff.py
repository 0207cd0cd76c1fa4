"""sniff_kind: what a body is, from its root element first and its Content-Type second."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from monitor.parse import sniff_kind

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("rss091.xml", "feed"),
        ("rss10.rdf", "feed"),
        ("rss20.xml", "feed"),
        ("atom03.xml", "feed"),
        ("atom10.xml", "feed"),
        ("utf16_sniffed.xml", "feed"),
        ("feed11.json", "json_feed"),
        ("news_sitemap.xml", "sitemap"),
        ("sitemap_index.xml", "sitemap"),
        ("listing.html", "html"),
        ("discovery.html", "html"),
    ],
)
def test_fixture_kinds(name: str, kind: str) -> None:
    assert sniff_kind((FIXTURES / name).read_bytes()) == kind


def test_root_element_beats_a_wrong_content_type() -> None:
    rss = (FIXTURES / "rss20.xml").read_bytes()
    assert sniff_kind(rss, headers={"Content-Type": "text/html; charset=utf-8"}) == "feed"


@pytest.mark.parametrize(
    ("body", "headers", "kind"),
    [
        (gzip.compress((FIXTURES / "news_sitemap.xml").read_bytes()), None, "sitemap"),
        (b"<!-- hello --><!DOCTYPE html><p>hi", None, "html"),
        (b"<div>fragment</div>", {"content-type": "text/html"}, "html"),
        (b"https://t.example.com/a\nhttps://t.example.com/b\n", None, "sitemap"),
        (b'{"version": "1.0", "items": []}', None, "unknown"),
        (b'{"items": []}', {"content-type": "application/feed+json"}, "json_feed"),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', None, "unknown"),
        (b"\x00\xff\xfe garbage", None, "unknown"),
        (b"", None, "unknown"),
        (b"plain words", {"content-type": "application/rss+xml"}, "feed"),
    ],
)
def test_edge_cases(body: bytes, headers: dict[str, str] | None, kind: str) -> None:
    assert sniff_kind(body, headers=headers) == kind
