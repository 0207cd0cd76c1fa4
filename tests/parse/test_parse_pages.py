"""parse_page_links (kind: page sources) and discover_feeds on fixture HTML pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.parse import DiscoveredFeed, ParseError, discover_feeds, parse_page_links

FIXTURES = Path(__file__).parent / "fixtures"
SITE = "https://www.harbour-times.example.com/"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_listing_links_resolved_deduplicated_filtered_in_order() -> None:
    page = parse_page_links(
        load("listing.html"), url=SITE, selector="article.teaser h2", next_selector="a[rel=next]"
    )
    assert [e.url for e in page.entries] == [
        "https://www.harbour-times.example.com/2024/03/tide-tables.html",
        "https://www.harbour-times.example.com/2024/03/harbour-dredging.html",  # relative, fragment dropped
        "https://weather.harbour-times.example.com/storm",  # same registrable domain: same site
        "https://www.harbour-times.example.com/2024/03/caf%C3%A9-opens.html",
    ]
    assert [e.title for e in page.entries] == [
        "New tide tables published",  # the first occurrence wins
        "Harbour dredging starts",
        "Storm warning on the weather desk",
        "Café opens",  # image link: the title attribute
    ]
    assert page.next_url == "https://www.harbour-times.example.com/?page=2"


def test_other_sites_are_kept_when_asked() -> None:
    page = parse_page_links(load("listing.html"), url=SITE, selector="article.teaser a", same_site_only=False)
    urls = [e.url for e in page.entries]
    assert "https://other-paper.example.org/scoop" in urls
    assert not any(u.startswith(("javascript:", "mailto:")) for u in urls)
    assert page.next_url is None  # no next_selector given


def test_walking_to_the_next_page_honours_base_href_and_stops() -> None:
    pages = {SITE: load("listing.html"), f"{SITE}?page=2": load("listing_page2.html")}
    url: str | None = SITE
    seen: list[str] = []
    visited = 0
    while url is not None and visited < 5:
        page = parse_page_links(pages[url], url=url, selector="article.teaser a", next_selector="a.next")
        seen.extend(e.url for e in page.entries if e.url not in seen)
        url = page.next_url
        visited += 1
    assert visited == 2  # page 2's "next" points at itself: no loop
    assert seen[-1] == "https://www.harbour-times.example.com/archive/2024/02/ice-on-the-quay.html"


def test_links_on_a_file_url_page_stay_file_urls(tmp_path: Path) -> None:
    page_path = tmp_path / "site" / "index.html"
    page_path.parent.mkdir()
    page_path.write_bytes(
        b'<html><body><ul><li><a href="pages/a.html">A</a></li>'
        b'<li><a href="https://web.example.com/b">B</a></li></ul></body></html>'
    )
    page = parse_page_links(page_path.read_bytes(), url=page_path.as_uri(), selector="li a")
    assert [e.url for e in page.entries] == [(tmp_path / "site" / "pages" / "a.html").as_uri()]


def test_charset_from_header_beats_meta() -> None:
    body = '<html><head><meta charset="utf-8"></head><body><a class="x" href="/é">Élan</a></body></html>'
    page = parse_page_links(
        body.encode("iso-8859-1"),
        url="https://fr.example.com/",
        headers={"Content-Type": "text/html; charset=ISO-8859-1"},
        selector="a.x",
    )
    assert page.entries[0].title == "Élan"
    assert page.entries[0].url == "https://fr.example.com/é"  # percent-encoding is canonical_url's job


def test_invalid_selector_and_empty_page_raise_parse_error() -> None:
    with pytest.raises(ParseError, match="invalid CSS selector") as info:
        parse_page_links(load("listing.html"), url=SITE, selector="article[[")
    assert SITE in str(info.value)
    with pytest.raises(ParseError, match="empty HTML page"):
        parse_page_links(b"  \n ", url=SITE, selector="a")


def test_discover_feeds_in_document_order_resolved_and_deduplicated() -> None:
    found = discover_feeds(load("discovery.html"), url="https://radio.example.com/en/index.html")
    assert found == [
        DiscoveredFeed(
            "https://radio.example.com/en/feeds/all.rss", "Valley Radio — All news", "application/rss+xml"
        ),
        DiscoveredFeed("https://radio.example.com/podcast.atom", "Podcast", "application/atom+xml"),
        DiscoveredFeed("https://radio.example.com/en/feed.json", None, "application/feed+json"),
        DiscoveredFeed("https://cdn.example.com/radio.json", "JSON", "application/json"),
    ]


def test_discover_feeds_on_a_page_without_any() -> None:
    assert discover_feeds(load("listing.html"), url=SITE) == []


def test_xhtml_page_with_an_xml_declared_encoding() -> None:
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head>'
        '<link rel="alternate" type="application/atom+xml" title="Flux général" href="/flux.atom"/></head>'
        '<body><p><a class="story" href="/a">Été indien</a></p></body></html>'
    ).encode("iso-8859-1")
    assert discover_feeds(body, url="https://x.example.fr/") == [
        DiscoveredFeed("https://x.example.fr/flux.atom", "Flux général", "application/atom+xml")
    ]
    (entry,) = parse_page_links(body, url="https://x.example.fr/", selector="a.story").entries
    assert entry.title == "Été indien"
