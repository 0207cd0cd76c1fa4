"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/), which feedparser does not read.

The format is small and plain JSON, so the standard library's parser is all it takes; the work is in
being lenient about what real feeds put in optional fields without ever crashing on them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from monitor.core import Entry
from monitor.parse._common import (
    is_url,
    parse_contract,
    parse_w3c_date,
    plain_text,
    resolve_url,
    text_to_html,
)
from monitor.parse._types import ParsedFeed, ParseError

__all__ = ["looks_like_json", "parse_json_feed"]

_VERSION_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json(body: bytes) -> bool:
    """True when the body starts (after a BOM and blanks) with ``{`` in any encoding JSON allows."""
    head = body[:64]
    try:
        text = head.decode(json.detect_encoding(head), errors="ignore")
    except (LookupError, ValueError):
        return False
    return text.lstrip("\ufeff \t\r\n").startswith("{")


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # the spec says a numeric id must be coerced to a string
    return None


def _author(item: Mapping[str, Any], feed: Mapping[str, Any]) -> str | None:
    for source in (item, feed):
        authors = source.get("authors")
        candidates = authors if isinstance(authors, list) else [source.get("author")]  # 1.1, then 1.0
        names = [
            name for a in candidates if isinstance(a, Mapping) and (name := _str(a.get("name"))) is not None
        ]
        if names:
            return ", ".join(names)
    return None


def _content_html(item: Mapping[str, Any]) -> str | None:
    content = _str(item.get("content_html"))
    if content:
        return content
    text = item.get("content_text")
    if not isinstance(text, str) or not text.strip():
        return None
    return text_to_html(text)


def _entry(item: Any, *, url: str, language: str | None, feed: Mapping[str, Any]) -> Entry | None:
    if not isinstance(item, Mapping):
        return None
    guid = _str(item.get("id"))
    link = resolve_url(url, _str(item.get("url")))
    if link is None:
        link = resolve_url(url, _str(item.get("external_url")))
    if link is None and is_url(guid):
        link = resolve_url(url, guid)
    if link is None:
        return None
    published = parse_w3c_date(_str(item.get("date_published"))) or parse_w3c_date(
        _str(item.get("date_modified"))
    )
    return Entry(
        url=link,
        guid=guid,
        title=plain_text(_str(item.get("title"))),
        published=published,
        summary=_str(item.get("summary")),
        content_html=_content_html(item),
        author=_author(item, feed),
        language=_str(item.get("language")) or language,
    )


@parse_contract("JSON feed")
def parse_json_feed(body: bytes, *, url: str) -> ParsedFeed:
    """Parse a JSON Feed 1.0/1.1 body fetched from ``url``; ParseError when it is not one."""
    try:
        doc = json.loads(bytes(body))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF, too-deep nesting
        raise ParseError(f"not a JSON feed at {url}: invalid JSON: {exc}"[:400], url=url) from exc
    if not isinstance(doc, Mapping):
        raise ParseError(f"not a JSON feed at {url}: the top level is not an object", url=url)
    version = doc.get("version")
    if not isinstance(version, str) or not version.startswith(_VERSION_PREFIX):
        raise ParseError(f"not a JSON feed at {url}: no https://jsonfeed.org/version/ marker", url=url)
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError(f"not a JSON feed at {url}: 'items' is missing or not a list", url=url)
    language = _str(doc.get("language"))
    entries = [e for e in (_entry(i, url=url, language=language, feed=doc) for i in items) if e is not None]
    problem = None
    if len(entries) < len(items):
        if not entries:
            raise ParseError(f"none of the {len(items)} items at {url} has a usable url", url=url)
        problem = f"{len(items) - len(entries)} of {len(items)} items skipped: no usable url"
    return ParsedFeed(
        title=plain_text(_str(doc.get("title"))),
        link=resolve_url(url, _str(doc.get("home_page_url"))),
        entries=tuple(entries),
        ttl_s=None,
        problem=problem,
        kind="json",
    )
