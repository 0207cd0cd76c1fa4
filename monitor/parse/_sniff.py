"""Guess what a body is (feed, JSON feed, sitemap, HTML page) from its first bytes and its headers.

The root element decides, not the Content-Type: servers label feeds ``text/html`` and pages
``text/xml`` often enough that the header is only a tie-breaker for bodies whose root is not telling.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping

from monitor.parse._common import bom_codec, lower_headers, media_type
from monitor.parse._jsonfeed import looks_like_json

__all__ = ["sniff_kind"]

_HEAD = 16384
_PROLOG = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>)", re.S | re.I)
_ROOT = re.compile(r"\s*<([A-Za-z_][\w:.\-]*)")
_HTML_TAGS = frozenset({"html", "head", "body", "meta", "title", "div", "p", "script", "link", "style"})
_XML_MARKERS = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)


def _head_text(body: bytes) -> str:
    if body[:2] == b"\x1f\x8b":  # a gzipped sitemap (or feed): look inside, within a small budget
        try:
            body = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, _HEAD)
        except zlib.error:
            return ""
    head = body[:_HEAD]
    codec = bom_codec(head) or next((c for marker, c in _XML_MARKERS if head.startswith(marker)), None)
    return head.decode(codec or "latin-1", errors="ignore").lstrip("\ufeff")


def _root(text: str) -> tuple[str | None, bool]:
    """The root element's local name (lower-cased) and whether an HTML DOCTYPE preceded it."""
    pos = 0
    html_doctype = False
    while match := _PROLOG.match(text, pos):
        if match.group(0).lstrip()[:9].upper() == "<!DOCTYPE" and "html" in match.group(0)[9:20].lower():
            html_doctype = True
        pos = match.end()
    root = _ROOT.match(text, pos)
    if root is None:
        return None, html_doctype
    return root.group(1).rsplit(":", 1)[-1].lower(), html_doctype


def _url_lines(text: str) -> bool:
    lines = [line.strip() for line in text.splitlines()[:20] if line.strip()]
    return bool(lines) and all(re.fullmatch(r"(?i)(https?|file)://\S+", line) for line in lines)


def sniff_kind(body: bytes, *, headers: Mapping[str, str] | None = None) -> str:
    """One of ``"feed"``, ``"json_feed"``, ``"sitemap"``, ``"html"`` or ``"unknown"``; never raises."""
    try:
        return _sniff(bytes(body), media_type(lower_headers(headers)))
    except Exception:  # sniffing is a hint: a hostile body must not turn it into a crash
        return "unknown"


def _sniff(body: bytes, mtype: str) -> str:
    text = _head_text(body)
    if looks_like_json(body) or text.lstrip().startswith("{"):
        json_feed = "jsonfeed.org/version" in text or mtype == "application/feed+json"
        return "json_feed" if json_feed else "unknown"
    root, html_doctype = _root(text)
    if root in ("rss", "feed", "channel"):
        return "feed"
    if root == "rdf":
        rss1 = "purl.org/rss/1.0" in text or "my.netscape.com/rdf/simple/0.9" in text
        return "feed" if rss1 else "unknown"
    if root in ("urlset", "sitemapindex"):
        return "sitemap"
    if root == "html" or html_doctype or (root in _HTML_TAGS and mtype in ("text/html", "")):
        return "html"
    if root is None:
        if mtype in ("text/html", "application/xhtml+xml"):
            return "html"
        if mtype == "text/plain" or not mtype:
            return "sitemap" if _url_lines(text) else "unknown"
    if mtype in ("application/rss+xml", "application/atom+xml", "application/rdf+xml"):
        return "feed"
    if mtype in ("text/html", "application/xhtml+xml"):
        return "html"
    return "unknown"
