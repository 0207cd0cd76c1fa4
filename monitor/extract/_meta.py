"""Page metadata read from the parsed tree: title candidates, canonical link, JSON-LD, language, and the
date printed next to the headline.

Everything here reads the tree and never modifies it: the content extractor runs afterwards on the same
tree (parsing a page twice costs more than everything in this module together).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lxml import etree

from monitor.extract._dates import dates_in_text

__all__ = ["PageMeta", "headline_date", "read_meta", "visible_date"]

_ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle", "report",
     "opinionnewsarticle", "backgroundnewsarticle", "techarticle", "scholarlyarticle", "liveblogposting",
     "posting", "socialmediaposting", "medicalwebpage", "webpage", "howto", "recipe", "review"}
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "nav", "footer", "aside", "select",
                        "button", "form", "iframe", "head", "title"})
_UPDATE_LABEL = re.compile(r"(?:updated|modified|revised|reviewed|edited)\W{0,3}(?:on|at)?\W{0,3}$", re.I)
_HEADLINE_BEFORE = 100  # characters of visible text before the headline where the date may sit
_HEADLINE_AFTER = 600  # ... and after it (byline block)
_HEADLINE_SCAN = 50_000  # characters of visible text searched for the headline <h1>
_VISIBLE_SCAN = 20_000  # characters of visible text searched for any date (last resort)


@dataclass(slots=True)
class PageMeta:
    """What the page says about itself (raw strings, whitespace-collapsed, not yet chosen between)."""

    og_title: str | None = None
    html_title: str | None = None
    site_name: str | None = None
    h1s: list[str] = field(default_factory=list)
    ld_headline: str | None = None
    ld_published: str | None = None
    canonical: str | None = None
    description: str | None = None
    language: str | None = None


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


def _read_json_ld(scripts: list[str], meta: PageMeta) -> None:
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
            # Prefer real article types over the generic WebPage a CMS adds to every page.
            rank = 1 if kinds - {"webpage", "medicalwebpage"} else 2
            if rank >= best_rank:
                continue
            headline = obj.get("headline") or (obj.get("name") if rank == 1 else None)
            published = obj.get("datePublished")
            if isinstance(headline, str) and _clean(headline):
                meta.ld_headline = _clean(headline)
            if isinstance(published, str) and published.strip():
                meta.ld_published = published.strip()
            if meta.ld_headline or meta.ld_published:
                best_rank = rank


def read_meta(tree: Any) -> PageMeta:
    """Collect the metadata candidates of a parsed page, in one pass over the relevant elements."""
    meta = PageMeta()
    values: dict[str, str] = {}
    scripts: list[str] = []
    for element in tree.iter("meta", "link", "script", "title", "h1"):
        tag = element.tag
        if tag == "meta":
            content = element.get("content")
            for attr in ("property", "name", "itemprop"):
                key = element.get(attr)
                if key and content:
                    values.setdefault(key.strip().lower(), content)
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
    _read_json_ld(scripts, meta)
    return meta


def _visible_text(
    tree: Any, *, headline: str | None, find_h1: bool, max_chars: int
) -> tuple[str, int | None]:
    """Visible body text in document order (no scripts, navigation, footers, asides, forms).

    With ``find_h1`` the offset of the headline ``<h1>`` (the one agreeing with ``headline``) is returned
    and the walk stops shortly after it; otherwise it stops after ``max_chars`` characters.
    """
    body = tree.find(".//body")
    if body is None:
        return "", None
    chunks: list[str] = []
    size = 0
    h1_at: int | None = None
    walker = etree.iterwalk(body, events=("start", "end"))
    for event, element in walker:
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _SKIP_TAGS:
                walker.skip_subtree()
                continue
            if find_h1 and tag == "h1" and h1_at is None and _is_headline(element, headline):
                h1_at = size
            if element.text:
                chunks.append(element.text)
                size += len(element.text) + 1
        elif element.tail and element is not body:
            chunks.append(element.tail)
            size += len(element.tail) + 1
        if size > max_chars or (h1_at is not None and size > h1_at + _HEADLINE_AFTER + 200):
            break
    return " ".join(chunks), h1_at


def _is_headline(h1: Any, headline: str | None) -> bool:
    text = " ".join(h1.text_content().split()).lower()
    if headline is None or not text:
        return True
    return text[:40] in headline.lower() or headline[:40].lower() in text


def _first_original_date(text: str, latest: date) -> date | None:
    """The first date in ``text`` that is not in the future and not labelled as an update."""
    for offset, value in dates_in_text(text):
        if value > latest:
            continue
        if _UPDATE_LABEL.search(text[max(0, offset - 30) : offset]):
            continue
        return value
    return None


def headline_date(tree: Any, *, headline: str | None, latest: date) -> date | None:
    """The date a reader sees next to the headline, unless it is labelled as an update.

    Measured on real pages this beats metadata when both exist: metadata often carries a CMS import or
    template date while the byline shows the publication date. "Updated ..." dates are skipped: the
    original publication date is the one we report.
    """
    text, h1_at = _visible_text(tree, headline=headline, find_h1=True, max_chars=_HEADLINE_SCAN)
    if h1_at is None:
        return None
    return _first_original_date(text[max(0, h1_at - _HEADLINE_BEFORE) : h1_at + _HEADLINE_AFTER], latest)


def visible_date(tree: Any, *, latest: date) -> date | None:
    """The first (non-update) date written in the page's visible text: the last resort before the fetch
    date. It replaces htmldate's extensive search, which found a few more right dates on the WCXB pages
    (0.878 against 0.872 date accuracy) at ten times the cost of the whole rest of the date search."""
    text, _ = _visible_text(tree, headline=None, find_h1=False, max_chars=_VISIBLE_SCAN)
    return _first_original_date(text, latest)
