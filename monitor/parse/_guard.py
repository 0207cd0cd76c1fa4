"""Refuse hostile XML before any parser sees it.

Entity declarations are the root of "billion laughs" (exponential) and quadratic-blowup attacks: expat
expands internal entities, and feedparser's loose parser keeps the "safe" ones. Feeds never need them,
so a document that has a DOCTYPE *and* declares an entity is refused outright, by a byte search that
costs microseconds whatever the declarations would have expanded to.

The search runs on the raw bytes for every encoding a parser could decode without an ASCII-compatible
byte stream (UTF-16/32 in either byte order, EBCDIC), so that re-encoding the attack does not hide it.
Requiring a DOCTYPE as well keeps an innocent article *about* XML (``<!ENTITY`` inside a CDATA section,
with no DOCTYPE) parseable.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from monitor.parse._types import FeedRefused, ParseError

_ENCODINGS = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
MAX_DECOMPRESSED = 50 * 1024 * 1024  # the sitemap protocol's own limit for an uncompressed sitemap


def _patterns(word: str) -> tuple[bytes, ...]:
    lowered = word.lower()
    return (lowered.encode("ascii"), *(lowered.encode(enc) for enc in _ENCODINGS))


_ENTITY = _patterns("<!ENTITY")
_DOCTYPE = _patterns("<!DOCTYPE")


def _views(body: bytes) -> Iterable[bytes]:
    """Lower-cased views of the body in which an ASCII pattern can be searched."""
    # bytes.lower() only touches A-Z, so it lower-cases ASCII text inside UTF-16/32 too.
    yield body.lower()
    if body[:4] == b"\x4c\x6f\xa7\x94" or body[:2] == b"\x4c\x6f":  # '<?xm' / '<?' in EBCDIC (cp037)
        yield body.decode("cp037", errors="replace").lower().encode("ascii", errors="replace")


def _contains(body_views: list[bytes], patterns: tuple[bytes, ...]) -> bool:
    return any(pattern in view for view in body_views for pattern in patterns)


def refuse_entities(body: bytes, *, url: str, what: str) -> None:
    """Raise :class:`FeedRefused` when ``body`` has a DOCTYPE that declares entities."""
    views = list(_views(body))
    if _contains(views, _DOCTYPE) and _contains(views, _ENTITY):
        raise FeedRefused(
            f"refused {what} at {url}: it declares XML entities (<!ENTITY in a DOCTYPE), "
            "which can expand without bound",
            url=url,
        )


def refuse_doctype(body: bytes, *, url: str, what: str) -> None:
    """Raise :class:`FeedRefused` when ``body`` has any DOCTYPE (sitemaps never need one)."""
    views = list(_views(body))
    if _contains(views, _DOCTYPE):
        refuse_entities(body, url=url, what=what)  # the more specific message first
        raise FeedRefused(f"refused {what} at {url}: it has a DOCTYPE, which sitemaps never need", url=url)


def is_gzip(body: bytes) -> bool:
    return body[:2] == b"\x1f\x8b"


def gunzip(body: bytes, *, url: str, what: str, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Decompress a gzip body, refusing more than ``limit`` bytes of output (a zip bomb would not stop)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ParseError(f"corrupt gzip {what} at {url}: {exc}", url=url) from exc
    if len(out) > limit:
        raise FeedRefused(
            f"refused {what} at {url}: it inflates to more than {limit // (1024 * 1024)} MB", url=url
        )
    if not inflater.eof:
        raise ParseError(f"truncated gzip {what} at {url}", url=url)
    return out
