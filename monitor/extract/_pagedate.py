"""The publication date of a page: what it says outright, shows next to its headline, declares in its
markup, its URL, and what its text mentions.

The policy is the *original* publication date, consistently: a modification date is used only when the
page gives no earlier one. Rule order (first that yields a date wins; no date after the fetch, see
``latest_allowed``):

1. the feed's date for the entry (``"feed"``), when the caller has one;
2. a phrase stating the original date outright ("originally published on 26 Sep 2019"), wherever it is
   (``_rawdates``); then the masthead widget showing today's date is removed (``drop_today``): it is the
   date of the visit, sitting right where rules 3 and 6 look first;
3. the first date shown next to the headline ``<h1>`` that is not labelled as an update, in words
   ("Updated", "Last modified on"...) or in markup (itemprop ``dateModified``, classes such as
   ``updated`` or ``updated-on``, as WordPress themes print them), with two corrections from the
   declared metadata: an ambiguous numeric date (03/10/2023) is read the way a declared date or the URL
   says, and a date one day off the declared publication moment, where that moment falls on the shown
   day in some time zone, is the same moment printed in another zone: the declared calendar date wins
   (unless the URL carries the shown date, which is the publisher's own calendar);
4. the declared publication date: ``<time pubdate>``, JSON-LD ``datePublished`` of the main article
   object, Open Graph / schema.org / Dublin Core meta tags, microformats ``published`` on a ``<time>``,
   JSON-LD ``dateCreated`` last; machine-readable (ISO 8601) values only, in the publisher's own zone;
5. an update date shown next to the headline, when nothing older is declared;
6. htmldate's markup search (``original_date=True``, not its "extensive" free-text search);
7. a date in the URL (``"url"``);
8. a date written in the declared metadata ("July 17, 2025"), then the first date in the visible text
   (not an update unless there is nothing else), then a labelled month without a day anywhere in it
   ("Last Updated: June 2022", the first of the month);
9. the fetch date (``"first_seen"``).

Measured on the 588 dated pages of the WCXB development set (``bench/extract.py``): date accuracy went
from 0.8707 (the previous chain: headline date, JSON-LD ``datePublished``, htmldate, URL, visible text)
to 0.8997. Effect of each rule, as the number of right pages lost when that rule alone is removed from
the final chain: declared dates from meta tags and not only JSON-LD -16, htmldate -16, time-zone
correction -5, update shown with nothing declared -4, visible text -4, ambiguous day/month read as the
metadata says -2, update markers in markup -2, ``<time pubdate>`` -1, microformats ``published`` -1,
written metadata dates -1, stated original phrase 0 (one page right, one page whose reference date is
neither its stated original nor its update date). Reading the "Updated" label across the markup's
whitespace: 0 (one page each way). Dropping htmldate's extensive search changed nothing on these pages
once rules 5 and 8 existed, and cut the date search from ~9 to ~2 ms a page.

Later general fixes, each with its own tests: month names in Spanish, Portuguese, French, Italian, German
and Dutch and hyphenated dates ("04-ago-2021"; ``_dates``), the today's-date widget and the labelled
month took the 588 pages from 0.8997 to 0.9048 (one page each, none lost). Reading the headline window
in whitespace-collapsed text instead of raw text (templates indent heavily) was tried and rejected: one
page right, four lost (the window then reaches dates further from the headline).

Of the 56 pages still wrong, about half have a reference date that the page neither shows nor declares
(an older original known from elsewhere; 5 of them show no date at all). 16 show only "Updated X" next to
the headline and declare an older publication date, and the reference takes X; on 20 other pages of that
kind it takes the publication date, so the original-date policy stays (preferring X would lose 4 pages;
no feature of those pages, such as the label's wording, a matching declared modification date or the time
between the two dates, tells the two groups apart). Ten show a date without label that equals the
declared modification date: the reference takes the shown date on five and the declared publication date
on five, so that is not used either. A few disagree with the reference by a day with no metadata to
correct them; on one the reference is the UTC date of a declared moment, while on ten others it is the
publisher's local date, which is what we take.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from htmldate import find_date
from lxml import etree

from monitor.core.types import DateSource
from monitor.extract._dates import (
    date_in_url,
    labelled_month,
    latest_allowed,
    publisher_date,
    written_dates,
)
from monitor.extract._meta import PageMeta
from monitor.extract._rawdates import drop_today, stated_original

__all__ = ["choose_date", "shown_dates", "stated_original", "visible_date"]

# Not visible, or not the article. Forms and buttons are walked: ASP.NET pages wrap the whole page in a
# <form>, and an unclosed <button> swallows the rest of a page when lxml parses it.
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "nav", "footer", "aside", "select",
                        "iframe", "head", "title"})
_UPDATE_LABEL = re.compile(r"(?:updated|modified|revised|reviewed|edited)\W{0,3}(?:on|at)?\W{0,3}$", re.I)
# Markup that says "this is the modification date" without words: schema.org itemprop, WordPress and
# theme classes ("updated", "updated-on", "date-modified"). A part naming publication wins, because
# WordPress marks a never-edited post "entry-date published updated".
_ATTR_PART = re.compile(r"[a-z]+")
_UPDATE_PARTS = frozenset({"updated", "modified", "datemodified", "lastmod", "lastupdated"})
_PUBLISHED_PARTS = frozenset({"published", "datepublished", "pubdate", "publishdate"})
_SYNTHETIC_LABEL = "Updated:"
_HEADLINE_BEFORE = 100  # characters of visible text before the headline where the date may sit
_HEADLINE_AFTER = 600  # ... and after it (byline block)
_HEADLINE_SCAN = 50_000  # characters of visible text searched for the headline <h1>
_VISIBLE_SCAN = 20_000  # characters of visible text searched for any date (last resort)
_VISIBLE_WINDOW = 2_000  # ... in windows of this many characters
_LABEL_SCAN = 200_000  # characters of visible text searched for a labelled month, the very last resort
_LABEL_REACH = 300  # characters of markup text before a date searched for its "Updated" label
_DATE_SPAN = 60  # longer than any written date, so that one on a window's edge is seen whole
_ISO_DAY = re.compile(r"\s*((?:19|20)\d\d)-(\d\d)-(\d\d)")
_WEST, _EAST = timedelta(hours=12), timedelta(hours=14)  # the extreme UTC offsets


@dataclass(frozen=True, slots=True)
class ShownDate:
    """A date written in the page's visible text near the headline."""

    value: date
    other: date | None  # the other reading of an ambiguous numeric date (03/10/2023), else None
    updated: bool  # labelled as a modification date, in words or in markup
    offset: int = 0  # where it starts in the text searched


def _marks_update(element: Any) -> bool:
    """True when the element's class or itemprop marks a modification date (see ``_UPDATE_PARTS``)."""
    attrs = element.get("class") or ""
    prop = element.get("itemprop")
    if prop:
        attrs = f"{attrs} {prop}"
    # Substrings of every marker, tested before any regular expression: most elements carry none.
    if "pdate" not in attrs and "odif" not in attrs and "astmod" not in attrs:
        return False
    parts = set(_ATTR_PART.findall(attrs.lower()))
    return bool(parts & _UPDATE_PARTS) and not parts & _PUBLISHED_PARTS


def _visible_text(
    tree: Any, *, headline: str | None, find_h1: bool, max_chars: int
) -> tuple[str, int | None]:
    """Visible body text in document order (no scripts, styles, navigation, footers, asides).

    With ``find_h1`` the offset of the headline ``<h1>`` (the one agreeing with ``headline``) is returned
    and the walk stops shortly after it; otherwise it stops after ``max_chars`` characters. An element
    whose markup marks a modification date gets a written "Updated:" label in front of its text, so that
    the text-level label rule covers both.
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
            if _marks_update(element):
                chunks.append(_SYNTHETIC_LABEL)
                size += len(_SYNTHETIC_LABEL) + 1
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


def _dates_with_labels(text: str, latest: date) -> list[ShownDate]:
    out = []
    for offset, value, other in written_dates(text):
        if value > latest:
            continue
        before = " ".join(text[max(0, offset - _LABEL_REACH) : offset].split())[-30:]  # spacing collapsed
        updated = bool(_UPDATE_LABEL.search(before))
        other = other if other is not None and other <= latest else None
        out.append(ShownDate(value, other, updated, offset))
    return out


def shown_dates(tree: Any, *, headline: str | None, latest: date) -> list[ShownDate]:
    """The dates a reader sees next to the headline (none after ``latest``), in reading order."""
    if not any(_is_headline(h1, headline) for h1 in tree.iter("h1")):
        return []  # the walk below would cross the whole page looking for it
    text, h1_at = _visible_text(tree, headline=headline, find_h1=True, max_chars=_HEADLINE_SCAN)
    if h1_at is None:
        return []
    return _dates_with_labels(text[max(0, h1_at - _HEADLINE_BEFORE) : h1_at + _HEADLINE_AFTER], latest)


def visible_date(tree: Any, *, latest: date) -> date | None:
    """The first date written in the page's visible text that is not labelled as an update, else the
    first update date (the last resort before the fetch date: an update is closer to the truth), else
    a labelled month without a day ("Last updated: June 2022", see ``labelled_month``).

    The text is searched in windows, front to back, because the first date is usually found early and
    the date patterns are costly over a whole page.
    """
    text, _ = _visible_text(tree, headline=None, find_h1=False, max_chars=_VISIBLE_SCAN)
    first_update: date | None = None
    for start in range(0, len(text), _VISIBLE_WINDOW):
        # Each window starts early enough that a date on its edge keeps its label in view.
        lead = min(start, _LABEL_REACH)
        window = text[start - lead : start + _VISIBLE_WINDOW + _DATE_SPAN]
        for found in _dates_with_labels(window, latest):
            if found.offset < lead or found.offset >= lead + _VISIBLE_WINDOW:
                continue  # belongs to the previous or the next window
            if not found.updated:
                return found.value
            first_update = first_update or found.value
    if first_update is not None:
        return first_update
    if len(text) > _VISIBLE_SCAN:  # cut short: a "Last reviewed" line sits at the end of the article
        text, _ = _visible_text(tree, headline=None, find_h1=False, max_chars=_LABEL_SCAN)
    return labelled_month(text)


@dataclass(frozen=True, slots=True)
class _Declared:
    day: date  # the calendar date as written (the publisher's zone)
    instant: datetime | None  # the moment, when the value carries a time and a UTC offset


def _declared(values: Iterable[str], latest: date) -> list[_Declared]:
    """Declared timestamps that are machine-readable (ISO 8601) and not after ``latest``.

    Written dates in metadata ("13/11/2025", "August 11, 2019") are left to htmldate and, after it, to
    ``_written``: they are hand-typed more often than generated, and their day/month order is a guess.
    """
    out = []
    for raw in values:
        match = _ISO_DAY.match(raw)
        if not match:
            continue
        try:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            continue
        if day > latest:
            continue
        try:
            instant: datetime | None = datetime.fromisoformat(raw.strip().replace(" ", "T", 1))
        except ValueError:
            instant = None
        if instant is not None and instant.utcoffset() is None:
            instant = None
        out.append(_Declared(day, instant))
    return out


def _written(raw: str) -> date | None:
    """A declared date typed as text ("July 17, 2025"): trusted only when nothing machine-readable is."""
    found = written_dates(raw[:60])
    return found[0][1] if found and found[0][2] is None else None


def _same_moment(shown: date, declared: _Declared) -> bool:
    """True when ``shown`` is the calendar date of the declared moment in some zone (UTC-12 to UTC+14):
    the page prints the date in its reader's or its newsroom's zone, the metadata in another one."""
    if declared.instant is None or shown == declared.day:
        return False
    return (declared.instant - _WEST).date() <= shown <= (declared.instant + _EAST).date()


def _htmldate(tree: Any, latest: date) -> date | None:
    """htmldate's markup search, original date preferred, without its URL step (we do URLs ourselves)
    and without its "extensive" free-text search: that one cost more than the whole rest of the date
    search and found nothing on the WCXB pages that ``visible_date`` and the written metadata miss."""
    try:
        found = find_date(tree, extensive_search=False, original_date=True, url="",
                          max_date=latest.isoformat(), outputformat="%Y-%m-%d")
    except (ValueError, TypeError):  # htmldate raises on a few malformed trees
        return None
    day = _declared([found], latest) if found else []
    return day[0].day if day else None


def _url_date(urls: tuple[str, ...], latest: date) -> date | None:
    for url in urls:
        found = date_in_url(url)
        if found is not None and found <= latest:
            return found
    return None


def choose_date(
    tree: Any, meta: PageMeta, *, html: str, title: str | None, urls: tuple[str, ...], fetched_at: datetime,
    feed_published: datetime | None,
) -> tuple[date, DateSource]:
    """The article's date and where it came from; see the module docstring for the order."""
    latest = latest_allowed(fetched_at)
    if feed_published is not None:
        found = publisher_date(feed_published, fetched_at)
        if found is not None:
            return found, "feed"
    found = stated_original(html, latest)
    if found is not None:
        return found, "page"
    drop_today(tree, html)
    published = _declared(meta.published, latest)
    shown = shown_dates(tree, headline=title, latest=latest)
    original = next((d for d in shown if not d.updated), None)
    if original is not None:
        value = original.value
        if original.other is not None:
            evidence = {d.day for d in (*published, *_declared(meta.modified, latest))}
            in_url = _url_date(urls, latest)
            if in_url is not None:
                evidence.add(in_url)
            if original.other in evidence and value not in evidence:
                value = original.other  # an ambiguous 03/10/2023 read the way the metadata says
        if published and _same_moment(value, published[0]) and _url_date(urls, latest) != value:
            return published[0].day, "page"
        return value, "page"
    if published:
        return published[0].day, "page"
    if shown:
        return shown[0].value, "page"  # only an update date is shown and nothing older is declared
    found = _htmldate(tree, latest)
    if found is not None:
        return found, "page"
    found = _url_date(urls, latest)
    if found is not None:
        return found, "url"
    found = next((day for day in map(_written, meta.published) if day is not None and day <= latest), None)
    if found is None:
        found = visible_date(tree, latest=latest)
    if found is not None:
        return found, "page"
    return fetched_at.date(), "first_seen"
