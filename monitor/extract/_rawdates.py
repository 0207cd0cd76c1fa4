"""Date evidence found in a page's source rather than in its parsed structure: a sentence stating the
original publication date outright, and the masthead widget that prints today's date.

Both search the markup with plain substring scans first, because those run at memory speed while a
regular expression or an XPath query over a whole page costs ten times more; the expensive step runs
only where the scan found something.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from lxml import etree

from monitor.extract._dates import written_dates

__all__ = ["drop_today", "stated_original"]

# "This article was originally published on 26 Sep 2019", "First published: 3 May 2021": a sentence that
# states the original date outright, wherever it sits (often in a footer note).
_STATED_ORIGINAL = re.compile(r"\b(?:originally|first)\s+p(?:ublished|osted)$", re.I)
_STATED_MAX = 200  # occurrences of the verb looked at (JSON-LD repeats "datePublished" a lot)
_STATED_REACH = 300  # characters of markup after the phrase that may hold its date
_STATED_GAP = 12  # characters of text allowed between the phrase and the date ("on", ": ", "in print")
_TAG = re.compile(r"<[^>]*>")
# Today's date in a masthead: an element whose id or class names both "today" and "date".
_TODAY = etree.XPath(
    "//*[(contains(@id, 'today') and contains(@id, 'date'))"
    " or (contains(@class, 'today') and contains(@class, 'date'))]"
)
_TODAY_MAX = 80  # characters of text: a date with its weekday and a label, no more
_TODAY_HITS = 200  # occurrences of "today" looked at (prose says it too)


def stated_original(html: str, latest: date) -> date | None:
    """The date of a phrase such as "originally published on 26 Sep 2019" in the page's markup.

    Found by plain substring search for the verb ("ublished", "osted") and a look at the words before
    each occurrence: a case-insensitive regular expression over a whole page costs ten times more, and
    so do more substring searches (each one is a pass over the whole page).
    """
    seen = 0
    for stem in ("ublished", "osted"):
        at = html.find(stem)
        while at != -1 and seen < _STATED_MAX:
            seen += 1
            end = at + len(stem)
            if _STATED_ORIGINAL.search(html, max(0, at - 20), end):
                tail = " ".join(_TAG.sub(" ", html[end : end + _STATED_REACH]).split())
                found = written_dates(tail[: _STATED_GAP + 40])
                if found and found[0][0] <= _STATED_GAP and found[0][2] is None and found[0][1] <= latest:
                    return found[0][1]
            at = html.find(stem, end)
    return None


def _today_in_markup(html: str) -> bool:
    """True when some tag's markup holds both "today" and "date" (``<p id="todays-date">``).

    A substring search over the page, then a look at the tag around each hit: the XPath query in
    ``drop_today`` tests every element of the tree and costs ~3 ms a page, this ~0.05 ms.
    """
    at = html.find("today")
    seen = 0
    while at != -1 and seen < _TODAY_HITS:
        seen += 1
        opened = html.rfind("<", 0, at)
        if opened > html.rfind(">", 0, at):  # inside a tag
            closed = html.find(">", at)
            if "date" in html[opened : closed if closed != -1 else at + _TODAY_MAX]:
                return True
        at = html.find("today", at + 5)
    return False


def drop_today(tree: Any, html: str) -> None:
    """Remove the masthead widget that prints today's date (``id="todays-date"``, ``class="date-today"``):
    it is the date of the visit, never of the article, yet it sits right above the headline where every
    date rule looks first. The tree goes to the content extractor next, which loses nothing."""
    if not _today_in_markup(html):
        return
    for element in _TODAY(tree):
        # Only a small element: a class such as "usatoday-site" may name a whole page's wrapper.
        if element.getparent() is not None and len(element.text_content()) <= _TODAY_MAX:
            element.drop_tree()
