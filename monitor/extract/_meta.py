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

__all__ = ["PageMeta", "headline_date", "read_meta"]

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


def _meta_content(tree: Any, *names: str) -> str | None:
    for name in names:
        for attr in ("property", "name", "itemprop"):
            found = tree.xpath(f'//meta[@{attr}="{name}"]/@content')
            if found:
                value = _clean(str(found[0]))
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


def _read_json_ld(tree: Any, meta: PageMeta) -> None:
    best_rank = 99
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        raw = script.text
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
    """Collect the metadata candidates of a parsed page."""
    meta = PageMeta()
    meta.og_title = _meta_content(tree, "og:title", "twitter:title")
    meta.site_name = _meta_content(tree, "og:site_name", "application-name")
    meta.description = _meta_content(tree, "og:description", "description", "twitter:description")
    title = tree.find(".//title")
    meta.html_title = _clean(title.text_content()) if title is not None else None
    for h1 in tree.iter("h1"):
        text = _clean(h1.text_content())
        if text:
            meta.h1s.append(text)
        if len(meta.h1s) >= 5:
            break
    for link in tree.xpath('//link[@href][contains(concat(" ", normalize-space(@rel), " "), " canonical ")]'):
        meta.canonical = _clean(link.get("href"))
        break
    html = tree if tree.tag == "html" else tree.getroottree().getroot()
    lang = html.get("lang") or html.get("xml:lang") or _meta_content(tree, "og:locale", "language")
    if lang:
        meta.language = lang.strip().replace("_", "-").split("-")[0].lower() or None
    _read_json_ld(tree, meta)
    return meta


def _visible_text_around_headline(tree: Any, headline: str | None) -> tuple[str, int] | None:
    """Visible text from shortly before the headline ``<h1>`` to shortly after it, and the h1 offset."""
    body = tree.find(".//body")
    if body is None:
        return None
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
            if tag == "h1" and h1_at is None:
                text = " ".join(element.text_content().split())
                if headline is None or not text or text[:40].lower() in headline.lower() or (
                    headline[:40].lower() in text.lower()
                ):
                    h1_at = size
            if element.text:
                chunks.append(element.text)
                size += len(element.text) + 1
        elif element.tail and element is not body:
            chunks.append(element.tail)
            size += len(element.tail) + 1
        if h1_at is not None and size > h1_at + _HEADLINE_AFTER + 200:
            break
    if h1_at is None:
        return None
    text = " ".join(chunks)
    start = max(0, h1_at - _HEADLINE_BEFORE)
    return text[start : h1_at + _HEADLINE_AFTER], h1_at - start


def headline_date(tree: Any, *, headline: str | None, latest: date) -> date | None:
    """The date a reader sees next to the headline, unless it is labelled as an update.

    Measured on real pages this beats metadata when both exist: metadata often carries a CMS import or
    template date while the byline shows the publication date. "Updated ..." dates are skipped: the
    original publication date is the one we report.
    """
    found = _visible_text_around_headline(tree, headline)
    if found is None:
        return None
    text, _ = found
    for offset, value in dates_in_text(text):
        if value > latest:
            continue
        if _UPDATE_LABEL.search(text[max(0, offset - 30) : offset]):
            continue
        return value
    return None
