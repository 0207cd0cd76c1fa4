"""Page metadata read from the parsed tree: title candidates, canonical link, JSON-LD, language, and the
publication and modification dates the page declares in its markup.

Everything here reads the tree and never modifies it: the content extractor runs afterwards on the same
tree (parsing a page twice costs more than everything in this module together).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PageMeta", "read_meta"]

_ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle", "report",
     "opinionnewsarticle", "backgroundnewsarticle", "techarticle", "scholarlyarticle", "liveblogposting",
     "posting", "socialmediaposting", "medicalwebpage", "webpage", "howto", "recipe", "review"}
)
# Keys (property / name / itemprop of a <meta>, lower-cased; "time:..." for <time> markers) declaring the
# publication date, most trusted first: HTML's own <time pubdate>, then Open Graph and schema.org
# microdata, written by the CMS from the post record; the generic names ("date", "published") are
# sometimes hand-written and come last.
_PUBLISHED_KEYS = (
    "time:pubdate", "article:published_time", "og:published_time", "og:article:published_time",
    "datepublished", "time:published", "pubdate", "publishdate", "publish-date", "publish_date",
    "parsely-pub-date", "sailthru.date", "dc.date.issued", "dcterms.issued", "dc.date", "date", "published",
)
# The microformats (hAtom "published", h-entry "dt-published") class of the element holding the date.
_MICROFORMAT_PUBLISHED = re.compile(r"(?:^|\s)(?:dt-)?published(?:\s|$)")
_MODIFIED_KEYS = (
    "article:modified_time", "og:updated_time", "datemodified", "dcterms.modified", "last-modified",
    "updated",
)


@dataclass(slots=True)
class PageMeta:
    """What the page says about itself (raw strings, whitespace-collapsed, not yet chosen between)."""

    og_title: str | None = None
    html_title: str | None = None
    site_name: str | None = None
    h1s: list[str] = field(default_factory=list)
    ld_headline: str | None = None
    published: list[str] = field(default_factory=list)  # declared publication dates, most trusted first
    modified: list[str] = field(default_factory=list)  # declared modification dates, same order
    canonical: str | None = None
    description: str | None = None
    language: str | None = None


@dataclass(slots=True)
class _LinkedData:
    headline: str | None = None
    published: str | None = None
    created: str | None = None
    modified: str | None = None


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    value = " ".join(value.split())
    return value or None


def _first(values: dict[str, str], *names: str) -> str | None:
    for name in names:
        value = values.get(name)
        if value:
            return value
    return None


def _ld_objects(data: Any) -> list[dict[str, Any]]:
    """Flatten a JSON-LD document (lists, @graph) into its objects, outermost first."""
    out: list[dict[str, Any]] = []
    stack = [data]
    while stack and len(out) < 200:
        item = stack.pop(0)
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            out.append(item)
            graph = item.get("@graph")
            if isinstance(graph, list):
                stack.extend(graph)
    return out


def _types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).lower() for k in kinds if k}


def _text(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value.strip() or None if isinstance(value, str) else None


def _read_json_ld(scripts: list[str]) -> _LinkedData:
    """Headline and dates of the page's main article object (a real article type beats the generic
    WebPage a CMS adds to every page)."""
    found = _LinkedData()
    best_rank = 99
    for raw in scripts:
        if not raw or len(raw) > 500_000:
            continue
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            continue
        for obj in _ld_objects(data):
            kinds = _types(obj)
            if not kinds & _ARTICLE_TYPES:
                continue
            rank = 1 if kinds - {"webpage", "medicalwebpage"} else 2
            if rank >= best_rank:
                continue
            headline = obj.get("headline") or (obj.get("name") if rank == 1 else None)
            candidate = _LinkedData(
                headline=_clean(headline) if isinstance(headline, str) else None,
                published=_text(obj, "datePublished"),
                created=_text(obj, "dateCreated"),
                modified=_text(obj, "dateModified"),
            )
            if candidate.headline or candidate.published:
                # A better-ranked object overrides only what it declares itself.
                found = _LinkedData(
                    headline=candidate.headline or found.headline,
                    published=candidate.published or found.published,
                    created=candidate.created or found.created,
                    modified=candidate.modified or found.modified,
                )
                best_rank = rank
    return found


def read_meta(tree: Any) -> PageMeta:
    """Collect the metadata candidates of a parsed page, in one pass over the relevant elements."""
    meta = PageMeta()
    values: dict[str, str] = {}
    scripts: list[str] = []
    for element in tree.iter("meta", "link", "script", "title", "h1", "time"):
        tag = element.tag
        if tag == "meta":
            content = element.get("content")
            for attr in ("property", "name", "itemprop"):
                key = element.get(attr)
                if key and content:
                    values.setdefault(key.strip().lower(), content)
        elif tag == "time":
            # schema.org microdata on the visible date (<time itemprop="datePublished" datetime="...">) and
            # HTML's own marker of an article's publication time (<time pubdate datetime="...">).
            prop, stamp = element.get("itemprop"), element.get("datetime")
            if stamp and element.get("pubdate") is not None:
                values.setdefault("time:pubdate", stamp)
            if stamp and _MICROFORMAT_PUBLISHED.search(element.get("class") or ""):
                values.setdefault("time:published", stamp)
            if prop and stamp:
                values.setdefault(prop.strip().lower(), stamp)
        elif tag == "link":
            rel = (element.get("rel") or "").lower().split()
            if "canonical" in rel and meta.canonical is None:
                meta.canonical = _clean(element.get("href"))
        elif tag == "script":
            if (element.get("type") or "").strip().lower() == "application/ld+json" and element.text:
                scripts.append(element.text)
        elif tag == "title":
            if meta.html_title is None:
                meta.html_title = _clean(element.text_content())
        elif len(meta.h1s) < 5:
            text = _clean(element.text_content())
            if text:
                meta.h1s.append(text)
    clean = {key: value for key, value in ((k, _clean(v)) for k, v in values.items()) if value}
    meta.og_title = _first(clean, "og:title", "twitter:title")
    meta.site_name = _first(clean, "og:site_name", "application-name")
    meta.description = _first(clean, "og:description", "description", "twitter:description")
    root = tree if tree.tag == "html" else tree.getroottree().getroot()
    lang = root.get("lang") or root.get("xml:lang") or _first(clean, "og:locale", "language")
    if lang:
        meta.language = lang.strip().replace("_", "-").split("-")[0].lower() or None
    linked = _read_json_ld(scripts)
    meta.ld_headline = linked.headline
    declared = (clean.get("time:pubdate"), linked.published, *(clean.get(k) for k in _PUBLISHED_KEYS[1:]))
    meta.published = [v for v in (*declared, linked.created) if v]
    meta.modified = [v for v in (linked.modified, *(clean.get(k) for k in _MODIFIED_KEYS)) if v]
    return meta
