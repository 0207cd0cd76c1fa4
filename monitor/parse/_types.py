"""The values and errors the parse stage hands back.

They are frozen, slotted dataclasses (like ``monitor.core``'s) so that they pickle cheaply across the
process boundary of :class:`~monitor.parse.ParserPool` and cannot be mutated by a later stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.core import Entry

FeedKind = str  # "rss" | "rdf" | "atom" | "cdf" | "json"; a plain str keeps room for feedparser's rarer kinds


class ParseError(ValueError):
    """A body could not be parsed; the message says what was expected and where (the URL).

    ``url`` is kept as an attribute so that callers can log it as a bound field; ``__reduce__`` is
    defined because an exception with keyword-only state does not survive pickling (the ParserPool
    sends these back from worker processes) otherwise.
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_error, (type(self), str(self), self.url))


class FeedRefused(ParseError):
    """The body was refused before parsing because parsing it would be unsafe (entities, DTDs, bombs)."""


def _rebuild_error(cls: type[ParseError], message: str, url: str | None) -> ParseError:
    return cls(message, url=url)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed: channel metadata and its entries, newest first as the feed lists them.

    ``ttl_s`` is the publisher's polling hint (RSS ``<ttl>`` or ``sy:updatePeriod``/``updateFrequency``)
    in seconds; ``problem`` is set when the feed was ill-formed but still yielded entries, so that the
    operator can see that a source degrades before it breaks.
    """

    title: str | None
    link: str | None
    entries: tuple[Entry, ...]
    ttl_s: float | None = None
    problem: str | None = None
    kind: FeedKind = "rss"


@dataclass(frozen=True, slots=True)
class PageLinks:
    """Article links scraped from an HTML listing page, plus the next listing page if any."""

    entries: tuple[Entry, ...]
    next_url: str | None = None


@dataclass(frozen=True, slots=True)
class SitemapResult:
    """URLs of a (news) sitemap; ``sitemaps`` holds the children of a sitemap index."""

    entries: tuple[Entry, ...]
    sitemaps: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DiscoveredFeed:
    """One feed advertised by an HTML page through ``<link rel="alternate">``."""

    url: str
    title: str | None
    type: str
