"""The parse stage: bytes in, entries out.

Every parser is a pure function of a response body (bytes, never a URL or a path), the URL it came
from (to resolve relative links and to say *where* in error messages) and, where it matters for the
charset, the response headers. Anything malformed comes out as :class:`ParseError` (or
:class:`FeedRefused` for bodies that are unsafe to parse at all), never as another exception.
:class:`ParserPool` runs the same functions in worker processes for the event loop's sake.
"""

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
