"""XML sitemaps (https://www.sitemaps.org/protocol.html), Google News sitemaps and sitemap indexes.

Sitemaps are parsed with a hardened lxml parser: no entity resolution, no network, no DTD loading, no
"huge tree" (libxml2's own depth and size limits stay on). A DOCTYPE is refused before parsing, since a
sitemap never needs one. Elements are matched by local name, so the old Google 0.84 namespace and
namespace-less sitemaps read the same as the standard one. Gzip-compressed bodies are inflated (with a
size limit) first, and a plain-text sitemap (one URL a line, which the protocol also allows) is read too.
"""

from __future__ import annotations

from collections.abc import Mapping

import lxml.etree

from monitor.core import Entry
from monitor.parse._common import (
    collapse,
    header_charset,
    is_url,
    lower_headers,
    parse_contract,
    parse_w3c_date,
    resolve_url,
)
from monitor.parse._guard import gunzip, is_gzip, refuse_doctype
from monitor.parse._types import FeedRefused, ParseError, SitemapResult

__all__ = ["parse_sitemap"]


def _parser(encoding: str | None = None) -> lxml.etree.XMLParser:
    return lxml.etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=False,
        encoding=encoding,
    )


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""  # comments and processing instructions
    return tag.rsplit("}", 1)[-1].lower()


def _children(element: lxml.etree._Element | None) -> dict[str, lxml.etree._Element]:
    """The first child of each local name, in one pass (sitemaps have tens of thousands of these)."""
    found: dict[str, lxml.etree._Element] = {}
    if element is not None:
        for child in element:
            name = _local(child.tag)
            if name and name not in found:
                found[name] = child
    return found


def _text(element: lxml.etree._Element | None) -> str | None:
    if element is None:
        return None
    text = element.text if len(element) == 0 else "".join(element.itertext())
    return collapse(text)


def _url_entry(node: lxml.etree._Element, *, url: str) -> Entry | None:
    fields = _children(node)
    loc = resolve_url(url, _text(fields.get("loc")))
    if loc is None:
        return None
    news = _children(fields.get("news"))
    publication = _children(news.get("publication"))
    published = parse_w3c_date(_text(news.get("publication_date"))) or parse_w3c_date(
        _text(fields.get("lastmod"))
    )
    return Entry(
        url=loc,
        title=_text(news.get("title")),
        published=published,
        language=_text(publication.get("language")),
    )


def _text_sitemap(body: bytes, *, url: str) -> SitemapResult | None:
    """A text sitemap: every non-blank line an absolute URL (else None: it is not one)."""
    try:
        lines = [line.strip() for line in body.decode("utf-8-sig").splitlines() if line.strip()]
    except UnicodeDecodeError:
        return None
    if not lines or not all(is_url(line) and " " not in line for line in lines):
        return None
    urls = dict.fromkeys(u for line in lines if (u := resolve_url(url, line)) is not None)
    return SitemapResult(entries=tuple(Entry(url=u) for u in urls))


def _parse_xml(body: bytes, *, url: str, headers: Mapping[str, str]) -> lxml.etree._Element:
    try:
        return lxml.etree.fromstring(body, parser=_parser())
    except lxml.etree.XMLSyntaxError as exc:
        charset = header_charset(headers)
        if charset and "encoding" in str(exc).lower():
            try:
                return lxml.etree.fromstring(body, parser=_parser(charset))
            except lxml.etree.XMLSyntaxError:
                pass
        raise ParseError(f"not a well-formed sitemap at {url}: {exc}", url=url) from exc


@parse_contract("sitemap")
def parse_sitemap(body: bytes, *, url: str, headers: Mapping[str, str] | None = None) -> SitemapResult:
    """URLs of a ``<urlset>`` (with ``news:`` data) or children of a ``<sitemapindex>``."""
    body = bytes(body)
    if is_gzip(body):
        body = gunzip(body, url=url, what="sitemap")
    if not body.strip():
        raise ParseError(f"empty sitemap at {url}", url=url)
    refuse_doctype(body, url=url, what="sitemap")
    if not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        text = _text_sitemap(body, url=url)
        if text is not None:
            return text
    root = _parse_xml(body, url=url, headers=lower_headers(headers))
    if root.getroottree().docinfo.doctype:
        raise FeedRefused(f"refused sitemap at {url}: it has a DOCTYPE, which sitemaps never need", url=url)
    kind = _local(root.tag)
    if kind == "sitemapindex":
        children = (
            resolve_url(url, _text(_children(node).get("loc")))
            for node in root
            if _local(node.tag) == "sitemap"
        )
        return SitemapResult(entries=(), sitemaps=tuple(dict.fromkeys(c for c in children if c)))
    if kind != "urlset":
        raise ParseError(f"not a sitemap at {url}: root element is <{kind}>, not <urlset>", url=url)
    entries: dict[str, Entry] = {}
    for node in root:
        if _local(node.tag) == "url":
            entry = _url_entry(node, url=url)
            if entry is not None and entry.url not in entries:
                entries[entry.url] = entry
    return SitemapResult(entries=tuple(entries.values()))
