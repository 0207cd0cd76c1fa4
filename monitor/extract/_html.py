"""``extract_html``: one fetched page in, one ``NormalizedArticle`` out.

Pipeline (bytes -> value, no I/O, nothing cached across calls):

1. decode ourselves (``decode_html``), parse with lxml (a second parse only when the balanced run below
   is needed: trafilatura prunes the tree it is given);
2. read metadata from the untouched tree (title, canonical URL, dates, language);
3. main content with trafilatura, comments off and its cross-document dedup cache off. Settings chosen
   by measurement (bench/extract.py, 711 pages): recall mode first, because it is both the faster and
   the more accurate single setting; when its text is short (under ``_SHORT_TEXT`` characters) the
   balanced mode, whose own escalation steps reach content recall mode misses, runs too and the longer
   text wins; when the result is still empty or much shorter than the page's description,
   readability-lxml gets a try;
4. ``clean_paragraphs`` (the text-level cleanup shared with the plain-text path).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import trafilatura
from htmldate import find_date
from lxml import html as lxml_html
from readability import Document

from monitor.core.types import DateSource, NormalizedArticle
from monitor.extract._choose import choose_title, choose_url
from monitor.extract._clean import clean_paragraphs
from monitor.extract._dates import date_in_url, latest_allowed, publisher_date
from monitor.extract._decode import decode_html
from monitor.extract._errors import ExtractionError
from monitor.extract._meta import PageMeta, headline_date, read_meta, visible_date
from monitor.extract._normalize import normalize_line

__all__ = ["extract_html"]

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_SHORT_TEXT = 4000  # characters; below this the balanced trafilatura run is tried as well
_DESCRIPTION_RATIO = 1.5  # extracted text shorter than 1.5x the description means extraction failed
_TEASER_LINKS = 0.25  # a nested <article> with at least this share of its text in links is a card...
_TEASER_SHARE = 0.2  # ...and cards are dropped when together they hold less than this share of the story
_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dd", "dt", "figcaption", "td")
_ISO_DAY = re.compile(r"((?:19|20)\d\d)-(\d\d)-(\d\d)")


def _parse(text: str) -> Any:
    tree = trafilatura.load_html(_XML_DECLARATION.sub("", text, count=1))
    if tree is None:
        raise ExtractionError("the payload is not an HTML document")
    return tree


def _iso_date(value: str | None, latest: date) -> date | None:
    match = _ISO_DAY.match(value.strip()) if value else None
    if not match:
        return None
    try:
        found = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return found if found <= latest else None


def _htmldate(tree: Any, latest: date) -> date | None:
    """htmldate's markup search (original date preferred), without its URL step (we do URLs after the
    page) and without its "extensive" free-text search, which costs more than the rest of the stage."""
    try:
        found = find_date(tree, extensive_search=False, original_date=True, url="",
                          max_date=latest.isoformat(), outputformat="%Y-%m-%d")
    except (ValueError, TypeError):  # htmldate raises on a few malformed trees
        return None
    return _iso_date(found, latest)


def _choose_date(
    tree: Any, meta: PageMeta, *, title: str | None, urls: tuple[str, ...], fetched_at: datetime,
    feed_published: datetime | None,
) -> tuple[date, DateSource]:
    """Feed date, then the page (headline byline, JSON-LD, htmldate), then the URL, then any date shown on
    the page, then first seen. Measured order (bench/extract.py); see ``headline_date``."""
    latest = latest_allowed(fetched_at)
    if feed_published is not None:
        found = publisher_date(feed_published, fetched_at)
        if found is not None:
            return found, "feed"
    found = (
        headline_date(tree, headline=title, latest=latest)
        or _iso_date(meta.ld_published, latest)
        or _htmldate(tree, latest)
    )
    if found is not None:
        return found, "page"
    for url in urls:
        found = date_in_url(url)
        if found is not None and found <= latest:
            return found, "url"
    found = visible_date(tree, latest=latest)
    if found is not None:
        return found, "page"
    return fetched_at.date(), "first_seen"


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


def _text_length(element: Any) -> int:
    return len(" ".join(element.text_content().split()))


def _trafilatura(tree: Any, url: str, *, recall: bool) -> str:
    text = trafilatura.extract(
        tree, url=url, include_comments=False, favor_recall=recall, include_tables=True,
        deduplicate=False, output_format="txt", with_metadata=False,
    )
    return text or ""


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


def _content(tree: Any, text: str, url: str, meta: PageMeta) -> tuple[str, str]:
    _drop_nested_teasers(tree)
    body = _trafilatura(tree, url, recall=True)
    extractor = "trafilatura"
    if len(body) < _SHORT_TEXT:
        fresh = _parse(text)
        _drop_nested_teasers(fresh)
        balanced = _trafilatura(fresh, url, recall=False)
        if len(balanced) > len(body):
            body = balanced
    floor = _DESCRIPTION_RATIO * len(meta.description or "")
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
    tree = _parse(text)
    meta = read_meta(tree)  # before content extraction: trafilatura prunes the tree in place
    canonical = choose_url(meta.canonical, url)
    title = choose_title(meta, feed_title=feed_title, url=canonical)
    day, source = _choose_date(tree, meta, title=title, urls=(canonical, url), fetched_at=fetched_at,
                               feed_published=feed_published)
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
