"""The parse stage: bytes in, entries out.

Every parser is a pure function of a response body (bytes, never a URL or a path), the URL it came
from (to resolve relative links and to say *where* in error messages) and, where it matters for the
charset, the response headers. Anything malformed comes out as :class:`ParseError` (or
:class:`FeedRefused` for bodies that are unsafe to parse at all), never as another exception.
:class:`ParserPool` runs the same functions in worker processes for the event loop's sake.

The names below are loaded on first use (PEP 562): the daemon's event-loop process hands the parsers to
worker processes and need not hold feedparser and lxml.html itself, and a worker that imports a parser
need not hold ``ParserPool`` and the logging stack it brings (structlog, rich: ~11 MB).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.core.lazy import lazy_exports

if TYPE_CHECKING:
    from monitor.parse._feed import parse_feed
    from monitor.parse._html import FEED_TYPES, discover_feeds, parse_page_links
    from monitor.parse._jsonfeed import parse_json_feed
    from monitor.parse._pool import INLINE_MAX_BYTES, ParserPool
    from monitor.parse._sitemap import parse_sitemap
    from monitor.parse._sniff import sniff_kind
    from monitor.parse._types import (
        DiscoveredFeed,
        FeedRefused,
        PageLinks,
        ParsedFeed,
        ParseError,
        SitemapResult,
    )

__all__ = [
    "FEED_TYPES",
    "INLINE_MAX_BYTES",
    "DiscoveredFeed",
    "FeedRefused",
    "PageLinks",
    "ParseError",
    "ParsedFeed",
    "ParserPool",
    "SitemapResult",
    "discover_feeds",
    "parse_feed",
    "parse_json_feed",
    "parse_page_links",
    "parse_sitemap",
    "sniff_kind",
]

_HOME = {
    "FEED_TYPES": "_html",
    "INLINE_MAX_BYTES": "_pool",
    "DiscoveredFeed": "_types",
    "FeedRefused": "_types",
    "PageLinks": "_types",
    "ParseError": "_types",
    "ParsedFeed": "_types",
    "ParserPool": "_pool",
    "SitemapResult": "_types",
    "discover_feeds": "_html",
    "parse_feed": "_feed",
    "parse_json_feed": "_jsonfeed",
    "parse_page_links": "_html",
    "parse_sitemap": "_sitemap",
    "sniff_kind": "_sniff",
}

# __getattr__ is hidden from mypy, which would otherwise type any misspelt name as Any.
_getattr, __dir__ = lazy_exports(__name__, _HOME, globals(), __all__)
if not TYPE_CHECKING:
    __getattr__ = _getattr
