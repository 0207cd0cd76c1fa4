"""``extract_html``: one fetched page in, one ``NormalizedArticle`` out.

Pipeline (bytes -> value, no I/O, nothing cached across calls):

1. decode ourselves (``decode_html``), parse once with lxml (``parse_html``); every later step reads
   that one tree (trafilatura copies the tree it is given and leaves it untouched, so its second run
   below needs no second parse);
2. metadata from the tree (title, canonical URL, language) and the date (``_pagedate``);
3. after removing nested teaser cards, and what the extractor would discard anyway (inert elements, link
   lists in ``<nav>`` and ``<aside>``: less tree for it to copy and filter), main content with
   trafilatura (given only the page's main ``<article>`` or ``<main>`` when that holds nearly all the
   paragraph text, see ``_recall_run``), comments off and its cross-document dedup cache off. Settings
   chosen by measurement (bench/extract.py, 711 pages): recall mode first, because it is both the faster
   and the more accurate single setting. Its balanced mode, whose own escalation steps reach content that
   recall mode misses, runs too only when recall's text looks under-extracted: shorter than
   ``_SHORT_TEXT`` characters *and* either shorter than ``_UNDER_EXTRACTED`` of the text the page holds
   in ``<p>`` elements or shorter than the description floor below; the longer text wins. Measured: the
   second run went from 117 to 45 of the 711 pages (41 once link lists go first) with the same body F1
   (the pages where balanced mode helped had at most 0.63 of their paragraph text extracted; a 0.6 bar
   loses that one), about 70 trafilatura runs of ~25 ms fewer. When the result is still empty or much
   shorter than the page's description, readability-lxml gets a try;
4. ``clean_paragraphs`` (the text-level cleanup shared with the other paths).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from readability import Document

from monitor.core.types import NormalizedArticle
from monitor.extract._choose import choose_title, choose_url
from monitor.extract._clean import clean_paragraphs
from monitor.extract._decode import decode_html
from monitor.extract._errors import ExtractionError
from monitor.extract._meta import PageMeta, read_meta
from monitor.extract._normalize import normalize_line
from monitor.extract._pagedate import choose_date
from monitor.extract._parse import parse_html

__all__ = ["extract_html"]

_SHORT_TEXT = 4000  # characters; below this the balanced trafilatura run is tried as well
_UNDER_EXTRACTED = 0.75  # ...and only when it holds less than this share of the page's <p> text
_DESCRIPTION_RATIO = 1.5  # extracted text shorter than 1.5x the description means extraction failed
_TEASER_LINKS = 0.25  # a nested <article> with at least this share of its text in links is a card...
_TEASER_SHARE = 0.2  # ...and cards are dropped when together they hold less than this share of the story
_CONTAINERS = ("article", "main")  # a page's main container, in order of trust...
_CONTAINER_SHARE = 0.8  # ...when it holds this share of the page's paragraph text
_LINK_LIST = 0.5  # a <nav> or <aside> with at least this share of its text in links is navigation
_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dd", "dt", "figcaption", "td")


def _drop_nested_teasers(tree: Any) -> None:
    """Remove small, link-heavy ``<article>`` cards nested in a story: "related story" teasers.

    Extractors keep them because they sit inside the main content, and for a monitor they are worse than
    noise (a teaser about another story can trigger a watchlist). Only done when the cards are a small
    part of the outer article: on a hub page made of cards (measured on the WCXB pages) the cards *are*
    the content. A nested article holding most of the outer text (double-wrapped CMS markup) is the story.
    """
    cards: dict[Any, list[tuple[Any, int]]] = {}
    for inner in tree.iter("article"):
        outer = next(inner.iterancestors("article"), None)
        if outer is None:
            continue
        text = _text_length(inner)
        linked = sum(_text_length(a) for a in inner.iter("a"))
        if text and linked >= _TEASER_LINKS * text:
            cards.setdefault(outer, []).append((inner, text))
    for outer, group in cards.items():
        if sum(size for _, size in group) < _TEASER_SHARE * _text_length(outer):
            for card, _ in group:
                if card.getparent() is not None:
                    card.drop_tree()


def _drop_discarded(tree: Any) -> None:
    """Remove what trafilatura discards first anyway, once the metadata has been read: scripts other than
    JSON data, styles, SVG, ``<link>``, ``<meta>`` and ``<footer>``. trafilatura copies the tree it is
    given three times before that cleaning. Measured on the 711 WCXB pages: the recall run took 1.4 ms
    less a page (0.8 for the inert elements, 0.6 for footers) for 0.2 ms spent here, and its text was
    identical on every page. JSON scripts stay (its fallback reads JSON-LD ``articleBody``);
    ``<noscript>``, ``<template>`` and ``<button>`` stay too: removing any of them early changed the text
    of one to six of those pages (``<nav>`` and ``<aside>``: see ``_drop_link_lists``)."""
    etree.strip_elements(tree, "style", "svg", "link", "meta", "footer", with_tail=False)
    for script in [s for s in tree.iter("script") if "json" not in (s.get("type") or "")]:
        script.drop_tree()


def _drop_link_lists(tree: Any) -> None:
    """Remove ``<nav>`` and ``<aside>`` elements that are mostly link text: menus, breadcrumbs, "related"
    boxes. trafilatura discards them too, but only after copying the tree several times and running its
    XPath filters over them (navigation is a fifth of a page's elements). Measured on the 711 WCXB pages:
    5-6 % less CPU time per page, and body F1 0.9469 -> 0.9481 (two pages where the extractor had
    picked a menu improved, no page lost). A ``<nav>`` or ``<aside>`` holding prose (some sites wrap a
    table of contents, or the article itself, in one) stays: removing every ``<nav>`` lost most of
    the text of two pages.
    """
    for element in list(tree.iter("nav", "aside")):
        if element.getparent() is None:
            continue  # inside one removed already
        linked = sum(_text_length(a) for a in element.iter("a"))
        if linked >= _LINK_LIST * _text_length(element):
            element.drop_tree()


def _text_length(element: Any) -> int:
    return len(" ".join(element.text_content().split()))


def _trafilatura(tree: Any, url: str, *, recall: bool) -> str:
    text = trafilatura.extract(
        tree, url=url, include_comments=False, favor_recall=recall, include_tables=True,
        deduplicate=False, output_format="txt", with_metadata=False,
    )
    return text or ""


def _paragraph_chars(tree: Any) -> int:
    """Characters of text in the page's ``<p>`` elements (whitespace collapsed)."""
    return sum(len(" ".join(p.text_content().split())) for p in tree.iter("p"))


def _readability(text: str) -> str:
    try:
        summary = Document(text).summary(html_partial=True)
    except Exception:  # readability raises bare Exceptions on unparseable input
        return ""
    if not summary or not summary.strip():
        return ""
    fragment = lxml_html.fragment_fromstring(summary, create_parent="div")
    blocks = []
    for element in fragment.iter(*_BLOCKS):
        if any(ancestor.tag in _BLOCKS for ancestor in element.iterancestors()):
            continue  # nested block: its text is already in the outer one
        blocks.append(element.text_content())
    return "\n".join(blocks)


def _main_container(tree: Any, paragraph_chars: int) -> Any | None:
    """The page's one outermost ``<article>`` (else ``<main>``) when it holds at least ``_CONTAINER_SHARE``
    of the text of the page's ``<p>`` elements, else None."""
    if not paragraph_chars:
        return None
    for tag in _CONTAINERS:
        outermost = [e for e in tree.iter(tag) if next(e.iterancestors(tag), None) is None]
        if len(outermost) == 1 and _paragraph_chars(outermost[0]) >= _CONTAINER_SHARE * paragraph_chars:
            return outermost[0]
    return None


def _recall_run(tree: Any, container: Any | None, url: str) -> str:
    """trafilatura's recall run, on the main container alone when there is one.

    The container is moved into an empty document for the run and put back afterwards, so the tree stays
    whole for the other steps. Measured on the 711 WCXB pages: 491 pages have such a container;
    extraction took 4 % less CPU time and body F1 went 0.9481 -> 0.9484 (recall unchanged at 0.9613):
    trafilatura then spends no copies and filters on the rest of the page.
    """
    parent = None if container is None else container.getparent()
    if parent is None:
        return _trafilatura(tree, url, recall=True)
    index = parent.index(container)
    document = lxml_html.Element("html")
    etree.SubElement(document, "body").append(container)
    try:
        return _trafilatura(document, url, recall=True)
    finally:
        parent.insert(index, container)


def _content(tree: Any, text: str, url: str, meta: PageMeta) -> tuple[str, str]:
    _drop_nested_teasers(tree)
    _drop_discarded(tree)
    _drop_link_lists(tree)
    paragraph_chars = _paragraph_chars(tree)
    body = _recall_run(tree, _main_container(tree, paragraph_chars), url)
    extractor = "trafilatura"
    floor = _DESCRIPTION_RATIO * len(meta.description or "")
    if len(body) < _SHORT_TEXT and (len(body) < floor or len(body) < _UNDER_EXTRACTED * paragraph_chars):
        balanced = _trafilatura(tree, url, recall=False)
        if len(balanced) > len(body):
            body = balanced
    if not body.strip() or len(body) < floor:
        fallback = _readability(text)
        if len(fallback) > len(body):
            body, extractor = fallback, "readability"
    return body, extractor


def extract_html(
    data: bytes,
    *,
    url: str,
    fetched_at: datetime,
    content_type: str | None = None,
    feed_title: str | None = None,
    feed_published: datetime | None = None,
    language_hint: str | None = None,
) -> NormalizedArticle:
    """Extract and normalise one article page. Raises ``ExtractionError`` when no text is found."""
    text, _encoding = decode_html(data, content_type=content_type)
    tree = parse_html(text)
    meta = read_meta(tree)  # before _content, which removes teasers and discarded elements from the tree
    canonical = choose_url(meta.canonical, url)
    title = choose_title(meta, feed_title=feed_title, url=canonical)
    day, source = choose_date(tree, meta, html=text, title=title, urls=(canonical, url),
                              fetched_at=fetched_at, feed_published=feed_published)
    body, extractor = _content(tree, text, url, meta)
    title = normalize_line(title, repair_dashes=False) if title else None
    paragraphs = clean_paragraphs([body], title=title, repair_dashes=False, cut_trailing_sections=False)
    if not title:
        if len(paragraphs) < 2:
            raise ExtractionError(f"no title and no article text found in {url}")
        title, paragraphs = paragraphs[0], paragraphs[1:]
    if not paragraphs:
        raise ExtractionError(f"no article text found in {url}")
    return NormalizedArticle(
        title=title,
        date=day,
        date_source=source,
        url=canonical,
        paragraphs=paragraphs,
        language=meta.language or language_hint,
        extractor=extractor,
    )
