"""RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and CDF through feedparser: the only module that may import it.

feedparser is always given a byte *stream* (``io.BytesIO``): given a ``str`` it fetches URLs, and given
``bytes`` it first tries ``open(body)``, so a body such as ``b"/etc/passwd"`` would be read from disk.
The response headers go along (lower-case keys) with ``content-location`` set to the feed URL, which is
what feedparser resolves relative links and ``xml:base`` against.

Entry HTML (``content_html``, ``summary``) is handed on as the feed carries it: feedparser's
``sanitize_html`` and ``resolve_relative_uris`` are off. Nothing downstream renders that HTML or follows
its links: the extract stage turns it into plain text and drops scripts, styles, forms and embeds itself
(``monitor.extract._fragment``), and entry/feed links are resolved whatever the options say. Both
passes re-parse every entry's HTML with sgmllib and cost about half of feedparser's time on a 34 KB
feed of ``bench/poll.py``'s site (5.8 -> 2.9 ms of CPU); the sanitiser also lost most of the article
text of 3 of the 711 WCXB pages wrapped as feed content (word F1 0.843 with it, 0.847 without).
Consumers must treat ``content_html`` as untrusted markup.
"""

from __future__ import annotations

import functools
import io
import math
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser
import feedparser.encodings
import feedparser.mixin
import feedparser.urls

from monitor.core import Entry
from monitor.parse._common import (
    collapse,
    header_charset,
    is_url,
    lower_headers,
    media_type,
    parse_contract,
    parse_date,
    plain_text,
    resolve_url,
    text_to_html,
)
from monitor.parse._guard import gunzip, is_gzip, refuse_entities
from monitor.parse._jsonfeed import looks_like_json, parse_json_feed
from monitor.parse._types import ParsedFeed, ParseError

__all__ = ["parse_feed"]


def _keep_file_urls() -> None:
    """Stop feedparser from turning ``file:///srv/feed.xml`` into ``file://srv/feed.xml``.

    feedparser's ``_urljoin`` "fixes" ``scheme:///x`` typos by dropping the extra slashes, which breaks
    every file URL (the empty host becomes the first path segment) and with it the demo that serves
    feeds from disk. The fix-up is kept for every other scheme; the tests pin this behaviour so that
    a feedparser upgrade that renames the pattern is noticed.
    """
    if isinstance(getattr(feedparser.urls, "_urifixer", None), re.Pattern):
        feedparser.urls._urifixer = re.compile(
            r"^((?![Ff][Ii][Ll][Ee]:)[A-Za-z][A-Za-z0-9+\-.]*://)(/*)(.*?)"
        )


_keep_file_urls()

_JOIN_CACHE_MAX_CHARS = 2048  # longer (hostile) xml:base values are joined uncached, never kept alive


def _memoize_base_joins() -> Callable[[str, str | None], str] | None:
    """Memoise the xml:base join feedparser does at *every* start tag; return the original function.

    ``unknown_starttag`` calls ``make_safe_absolute_uri(self.baseuri, xml_base or self.baseuri)``
    for each element, nearly always with the same two strings (the feed URL twice): a regex and a
    ``urljoin`` on every one of the ~120 elements of a 20-item feed. Cached, ``parse_feed`` takes about
    10 % less CPU (6.0-6.4 -> 5.4-5.7 ms per 34 KB feed of ``bench/poll.py``'s site, machine loaded).
    The function is pure (its inputs are strings, ``ACCEPTABLE_URI_SCHEMES`` and the ``_urifixer`` set
    above), so a small LRU cache in front of it changes no result; the tests compare both on tricky
    inputs.
    """
    original: Callable[[str, str | None], str] | None = getattr(
        feedparser.mixin, "make_safe_absolute_uri", None
    )
    if original is None or getattr(original, "memoized", False):
        return None
    cached = functools.lru_cache(maxsize=256)(original)

    def join(base: str, rel: str | None = None) -> str:
        if len(base) + len(rel or "") > _JOIN_CACHE_MAX_CHARS:
            return original(base, rel)
        return cached(base, rel)

    join.memoized = True  # type: ignore[attr-defined]
    feedparser.mixin.make_safe_absolute_uri = join
    return original


_UNCACHED_JOIN = _memoize_base_joins()

_PERIOD_S = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 604800.0,
    "monthly": 2592000.0,
    "yearly": 31536000.0,
}
_EMAIL_NAME = re.compile(r"^\s*\S+@\S+\s*\((?P<name>[^)]+)\)\s*$")


def _kind(version: str) -> str:
    if version in ("rss090", "rss10"):
        return "rdf"
    if version.startswith("rss"):
        return "rss"
    if version.startswith("atom"):
        return "atom"
    return version or "unknown"


_UNICODE_SIGNATURES = (
    (b"\x00\x00\xfe\xff", "utf-32be"),
    (b"\xff\xfe\x00\x00", "utf-32le"),
    (b"\xfe\xff", "utf-16be"),
    (b"\xff\xfe", "utf-16le"),
    (b"\x00\x00\x00<", "utf-32be"),
    (b"<\x00\x00\x00", "utf-32le"),
    (b"\x00<\x00?", "utf-16be"),
    (b"<\x00?\x00", "utf-16le"),
)


def _signature_charset(body: bytes) -> str | None:
    """The UTF-16/32 encoding a BOM or the XML spec's ``<?`` byte patterns reveal, if any."""
    return next((codec for sig, codec in _UNICODE_SIGNATURES if body.startswith(sig)), None)


def _feedparser_headers(headers: Mapping[str, str] | None, url: str, body: bytes) -> dict[str, str]:
    """The headers feedparser sees.

    A missing Content-Type becomes ``application/xml`` (feedparser otherwise assumes ISO-8859-1 and
    flags every local file as ill-formed), and ``text/xml`` without a charset is read as RFC 7303 says
    (XML declaration, then UTF-8) instead of RFC 3023's obsolete US-ASCII default, which would flag
    most real feeds as ill-formed. A UTF-16/32 byte-order mark wins over everything (RFC 7303 again);
    feedparser would otherwise try UTF-8 first and flag, or worse mis-read, such a feed.
    """
    out = lower_headers(headers)
    out["content-location"] = url
    mtype = media_type(out)
    text_xml = mtype == "text/xml" or (mtype.startswith("text/") and mtype.endswith("+xml"))
    if not mtype or (text_xml and not header_charset(out)):
        mtype = "application/xml"
        out["content-type"] = mtype
    signature = _signature_charset(body)
    if signature is not None:
        out["content-type"] = f"{mtype}; charset={signature}"
    return out


def _refuse_decoded_entities(body: bytes, headers: dict[str, str], url: str) -> None:
    """Search for entity declarations in the text feedparser will parse (after *its* decoding).

    The raw-byte search in ``_guard`` covers ASCII-compatible encodings and UTF-16/32/EBCDIC; this one
    also covers what a Content-Type charset could smuggle in (UTF-7 spells ``<`` as ``+ADw-``).
    """
    try:
        utf8 = feedparser.encodings.convert_to_utf8(dict(headers), body, {})
    except (UnicodeError, LookupError) as exc:  # e.g. non-UTF-8 bytes inside encoding="..."
        raise ParseError(f"cannot tell the character encoding of the feed at {url}: {exc}", url=url) from exc
    if isinstance(utf8, bytes):
        refuse_entities(utf8, url=url, what="feed")


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _entry_date(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published", "updated", "created"):
        # dict.get skips FeedParserDict's deprecated "updated -> published" aliasing (and its warning).
        raw = dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)
        fallback = _utc(dict.get(entry, f"{key}_parsed") if isinstance(entry, dict) else None)
        if raw or fallback:
            found = parse_date(raw if isinstance(raw, str) else None, fallback)
            if found is not None:
                return found
    return None


def _is_html(detail: Any) -> bool:
    kind = detail.get("type", "") if isinstance(detail, Mapping) else ""
    return "html" in str(kind)


def _content_html(entry: Mapping[str, Any]) -> str | None:
    best: str | None = None
    for content in entry.get("content") or ():
        value = content.get("value") if isinstance(content, Mapping) else None
        if not isinstance(value, str) or not value.strip():
            continue
        if not _is_html(content):
            value = text_to_html(value)
        if best is None or len(value) > len(best):
            best = value
    return best


def _author(entry: Mapping[str, Any]) -> str | None:
    detail = entry.get("author_detail")
    name = detail.get("name") if isinstance(detail, Mapping) else None
    name = name or entry.get("author")
    if not isinstance(name, str):
        return None
    match = _EMAIL_NAME.match(name)  # RSS <author> is "email (Name)"
    return collapse(plain_text(match.group("name") if match else name))


def _language(entry: Mapping[str, Any], default: str | None) -> str | None:
    details = [*(entry.get("content") or ()), entry.get("summary_detail"), entry.get("title_detail")]
    for detail in details:
        if isinstance(detail, Mapping) and isinstance(detail.get("language"), str) and detail["language"]:
            return str(detail["language"]).strip() or default
    return default


def _entry(entry: Mapping[str, Any], *, url: str, language: str | None) -> Entry | None:
    guid = entry.get("id") if isinstance(entry.get("id"), str) else None
    link = resolve_url(url, entry.get("link"))
    if link is None and is_url(guid):
        link = resolve_url(url, guid)
    if link is None:
        for candidate in entry.get("links") or ():
            if isinstance(candidate, Mapping) and candidate.get("rel", "alternate") == "alternate":
                link = resolve_url(url, candidate.get("href"))
                if link:
                    break
    if link is None:
        return None
    summary = entry.get("summary")
    return Entry(
        url=link,
        guid=guid.strip() or None if guid else None,
        title=plain_text(entry.get("title"), markup=_is_html(entry.get("title_detail"))),
        published=_entry_date(entry),
        summary=summary.strip() or None if isinstance(summary, str) else None,
        content_html=_content_html(entry),
        author=_author(entry),
        language=_language(entry, language),
    )


def _ttl_s(feed: Mapping[str, Any]) -> float | None:
    try:
        ttl = float(str(feed.get("ttl", "")).strip() or "nan")
    except ValueError:
        ttl = math.nan
    if math.isfinite(ttl) and ttl > 0:
        return ttl * 60.0
    period = _PERIOD_S.get(str(feed.get("sy_updateperiod", "")).strip().lower())
    if period is None:
        return None
    try:
        frequency = float(str(feed.get("sy_updatefrequency", "1")).strip() or "1")
    except ValueError:
        frequency = 1.0
    if not math.isfinite(frequency) or frequency <= 0:
        frequency = 1.0
    return period / frequency


def _problem(result: Mapping[str, Any]) -> str | None:
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    if exc is None:
        return "ill-formed feed"
    return f"{type(exc).__name__}: {exc}"[:500]


@parse_contract("feed")
def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse an RSS, Atom, RDF or JSON feed body fetched from ``url``.

    Raises :class:`FeedRefused` for entity declarations, :class:`ParseError` when nothing usable was
    found; an ill-formed feed that still yields entries comes back with ``problem`` set.
    """
    body = bytes(body)
    if is_gzip(body):
        body = gunzip(body, url=url, what="feed")
    if looks_like_json(body):
        return parse_json_feed(body, url=url)
    refuse_entities(body, url=url, what="feed")
    fp_headers = _feedparser_headers(headers, url, body)
    _refuse_decoded_entities(body, fp_headers, url)
    result = feedparser.parse(
        io.BytesIO(body), response_headers=fp_headers, resolve_relative_uris=False, sanitize_html=False
    )
    version = str(result.get("version") or "")
    feed: Mapping[str, Any] = result.get("feed") or {}
    raw_entries = result.get("entries") or []
    problem = _problem(result)
    if not raw_entries and (problem or not version):
        reason = problem or "no RSS, Atom or RDF root element"
        raise ParseError(f"no feed entries at {url}: {reason}", url=url)
    language = feed.get("language") or fp_headers.get("content-language")
    language = language.strip() or None if isinstance(language, str) else None
    entries = [e for e in (_entry(raw, url=url, language=language) for raw in raw_entries) if e is not None]
    if raw_entries and not entries:
        raise ParseError(f"none of the {len(raw_entries)} entries at {url} has a usable link", url=url)
    if len(entries) < len(raw_entries):
        skipped = f"{len(raw_entries) - len(entries)} of {len(raw_entries)} entries skipped: no usable link"
        problem = f"{problem}; {skipped}" if problem else skipped
    return ParsedFeed(
        title=plain_text(feed.get("title"), markup=_is_html(feed.get("title_detail"))),
        link=resolve_url(url, feed.get("link")),
        entries=tuple(entries),
        ttl_s=_ttl_s(feed),
        problem=problem,
        kind=_kind(version),
    )
