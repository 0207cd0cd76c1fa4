"""HTML sources: article links scraped with a CSS selector, and feed autodiscovery.

lxml's HTML parser (libxml2) never fetches anything and copes with tag soup; cssselect translates the
selectors a source's config gives into XPath. Compiled selectors are cached: the same few selectors are
used on every poll.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping

import lxml.html
from cssselect import SelectorError
from lxml.cssselect import CSSSelector

from monitor.core import Entry
from monitor.parse._common import (
    base_url,
    collapse,
    html_document,
    lower_headers,
    parse_contract,
    resolve_url,
    same_site,
)
from monitor.parse._types import DiscoveredFeed, PageLinks, ParseError

__all__ = ["FEED_TYPES", "discover_feeds", "parse_page_links"]

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}
)


@functools.lru_cache(maxsize=256)
def _compile(selector: str) -> CSSSelector:
    return CSSSelector(selector, translator="html")


def _selector(selector: str, *, url: str) -> CSSSelector:
    try:
        return _compile(selector)
    except (SelectorError, SyntaxError, ValueError) as exc:
        raise ParseError(f"invalid CSS selector {selector!r} for {url}: {exc}", url=url) from exc


def _anchor(element: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The link an element stands for: itself when it is ``<a href>``, else its first ``<a href>``."""
    if element.tag == "a" and element.get("href"):
        return element
    for anchor in element.iter("a"):
        if anchor.get("href"):
            return anchor
    return None


def _links(elements: list[lxml.html.HtmlElement], *, base: str) -> Iterator[tuple[str, str | None]]:
    for element in elements:
        if not isinstance(element, lxml.html.HtmlElement):
            continue  # a selector can also match comments or text in odd documents
        anchor = _anchor(element)
        if anchor is None:
            continue
        link = resolve_url(base, anchor.get("href"))
        if link is None:
            continue
        title = collapse(anchor.text_content()) or collapse(anchor.get("title"))
        if title is None and anchor is not element:
            title = collapse(element.text_content())
        yield link, title


@parse_contract("HTML page")
def parse_page_links(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    selector: str,
    next_selector: str | None = None,
    same_site_only: bool = True,
) -> PageLinks:
    """Article links of a listing page, in document order, de-duplicated, fragments dropped.

    ``selector`` picks the links (or elements containing them); ``javascript:``/``mailto:`` links and,
    by default, links to other sites are ignored. ``next_selector`` picks the next listing page.
    """
    article_sel = _selector(selector, url=url)
    next_sel = _selector(next_selector, url=url) if next_selector else None
    doc = html_document(bytes(body), url=url, headers=lower_headers(headers), what="HTML page")
    base = base_url(doc, url)
    seen: set[str] = set()
    entries: list[Entry] = []
    for link, title in _links(article_sel(doc), base=base):
        if link in seen or (same_site_only and not same_site(link, url)):
            continue
        seen.add(link)
        entries.append(Entry(url=link, title=title))
    next_url = None
    if next_sel is not None:
        for link, _title in _links(next_sel(doc), base=base):
            if link != resolve_url(url, url) and (not same_site_only or same_site(link, url)):
                next_url = link
                break
    return PageLinks(entries=tuple(entries), next_url=next_url)


@parse_contract("HTML page")
def discover_feeds(
    body: bytes, *, url: str, headers: Mapping[str, str] | None = None
) -> list[DiscoveredFeed]:
    """Feeds a page advertises with ``<link rel="alternate" type=...>``, absolute, in document order."""
    doc = html_document(bytes(body), url=url, headers=lower_headers(headers), what="HTML page")
    base = base_url(doc, url)
    found: list[DiscoveredFeed] = []
    seen: set[str] = set()
    for link in doc.iter("link"):
        rel = {token.lower() for token in (link.get("rel") or "").split()}
        mtype = (link.get("type") or "").split(";", 1)[0].strip().lower()
        if "alternate" not in rel or mtype not in FEED_TYPES:
            continue
        href = resolve_url(base, link.get("href"))
        if href is None or href in seen:
            continue
        seen.add(href)
        found.append(DiscoveredFeed(url=href, title=collapse(link.get("title")), type=mtype))
    return found
