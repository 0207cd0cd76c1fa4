"""Dates written in text and URLs, and the rule that no publication date lies after the fetch.

htmldate does the markup-level search on pages; this module covers what it does not: a date written as a
line of plain text ("September 28, 2021"), a date in a URL path, the date shown next to a headline, and
the clamp against the fetch time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from monitor.core.types import DateSource

__all__ = [
    "MIN_YEAR",
    "choose_text_date",
    "date_in_url",
    "dates_in_text",
    "labelled_month",
    "latest_allowed",
    "parse_date_line",
    "publisher_date",
    "written_dates",
]

MIN_YEAR = 1995  # nothing we monitor was published on the web before this

# Month names and their usual abbreviations, lower-cased, in the languages of the sources we expect
# (English first; then Spanish, Portuguese, French, Italian, German, Dutch): a page written in one of
# them prints its dateline that way ("04-ago-2021", "3 de mayo de 2024", "12. März 2023", "1er juin
# 2022"). Names shared by several languages map to the same month, so the table stays unambiguous;
# abbreviations that are common English words ("out", "set" in Portuguese) are left out.
_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "enero", "ene", "janeiro", "janvier", "janv", "gennaio", "gen", "januar",
        "jänner", "januari"),
    2: ("february", "feb", "febrero", "fevereiro", "fev", "février", "févr", "fevr", "febbraio", "februar",
        "februari"),
    3: ("march", "mar", "marzo", "março", "mars", "märz", "mär", "maart", "mrt"),
    4: ("april", "apr", "abril", "abr", "avril", "avr", "aprile"),
    5: ("may", "mayo", "maio", "mai", "maggio", "mag", "mei"),
    6: ("june", "jun", "junio", "junho", "juin", "giugno", "giu", "juni"),
    7: ("july", "jul", "julio", "julho", "juillet", "juil", "luglio", "lug", "juli"),
    8: ("august", "aug", "agosto", "ago", "août", "aout", "augustus"),
    9: ("september", "sept", "sep", "septiembre", "setiembre", "setembro", "septembre",
        "settembre"),
    10: ("october", "oct", "octubre", "outubro", "octobre", "ottobre", "ott", "oktober", "okt"),
    11: ("november", "nov", "noviembre", "novembro", "novembre"),
    12: ("december", "dec", "diciembre", "dic", "dezembro", "dez", "décembre", "déc", "dicembre",
         "dezember"),
}
_MONTHS = {name: number for number, names in _MONTH_NAMES.items() for name in names}
# Longest names first, so that "june" is not read as "jun" followed by a stray "e".
_MON = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
# The two written forms match any word where the month goes, and the word is looked up in ``_MONTHS``
# afterwards: one character class is several times faster than an alternation of ~80 month names, and
# these patterns run over every page's visible text.
_WORD = r"([^\W\d_]{3,10})\.?"
_MDY = re.compile(_WEEKDAY + r"\b" + _WORD + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)\b", re.I)
# Day first: "3 May 2024", "3rd of May, 2024", "3. Mai 2024", "3 de mayo de 2024", "1er juin 2022", and
# with hyphens, "04-ago-2021" / "21-Nov-2026".
_DMY = re.compile(
    _WEEKDAY + r"\b(\d{1,2})(?:st|nd|rd|th|er|º)?\.?(?:\s+(?:of\s+|de\s+)?|-)" + _WORD
    + r"(?:,?\s+|\s+de\s+|-)((?:19|20)\d\d)\b",
    re.I,
)
# A month and a year with no day ("June 2022"), only after a label: see ``labelled_month``.
# Matched only on the few characters before each year (``_YEAR``): the alternations cost ~0.1 ms per
# 1,000 characters, and this runs over whole pages that show no other date.
_LABELLED_MONTH = re.compile(
    r"\b(?:published|posted|updated|modified|revised|reviewed|date[ds]?)(?:\s+on)?\W{0,3}\s*\b" + _MON
    + r",?\s+$",
    re.I,
)
_LABELLED_REACH = 45  # characters before the year: the longest label, month name and separators
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)\b")
_DIGIT = re.compile(r"\d")
_ISO = re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b")
_SLASH = re.compile(r"\b(\d{1,2})([/.])(\d{1,2})\2((?:19|20)\d\d)\b")

# A line that is only a date, optionally labelled and followed by a time: a dateline standing alone.
_LABEL = r"(?:(?:published|posted|updated|last updated|modified|date|first published)(?:\s+on)?\s*[:|-]?\s*)?"
_TIME = r"(?:\s*(?:[,|•·-]|at)?\s*\d{1,2}[:.]\d\d(?:\s*[ap]\.?m\.?)?(?:\s*[A-Z]{2,5}|\s*[+-]\d\d:?\d\d)?)?"
_DATE_LINE = re.compile(
    r"^\s*" + _LABEL + r"(?P<date>.{6,40}?)" + _TIME + r"\s*$", re.I
)

# Dates in URL paths: /2022/01/25/, /2022-01-25-, _20220125_ ...
_DATE_LINE_SCAN = 12  # a standalone dateline sits near the top; further down a date line is an event
_URL_YMD = re.compile(r"(?<!\d)((?:19|20)\d\d)[/_-](0?[1-9]|1[0-2])[/_-](0?[1-9]|[12]\d|3[01])(?!\d)")
_URL_COMPACT = re.compile(r"(?<![\d])((?:19|20)\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?![\d])")
# /2023/october/03/
_URL_NAMED = re.compile(r"/((?:19|20)\d\d)/" + _MON + r"/(0?[1-9]|[12]\d|3[01])(?=/)", re.I)


def _make(year: int, month: int, day: int) -> date | None:
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    return value if value.year >= MIN_YEAR else None


def _month(name: str) -> int:
    return _MONTHS[name.lower().rstrip(".")]


def dates_in_text(text: str) -> Iterator[tuple[int, date]]:
    """Every date written in ``text`` with its offset, in order of appearance.

    English month names, ISO dates and numeric d/m/y. Numeric dates are read month-first (US) unless the
    first number cannot be a month: the ambiguity is real, and US-style pages dominate what we measured.
    """
    for offset, value, _other in written_dates(text):
        yield offset, value


def written_dates(text: str) -> list[tuple[int, date, date | None]]:
    """Like ``dates_in_text``, with the other reading of an ambiguous numeric date (``03/10/2023``: 10
    March or 3 October) as a third element, None when the date can be read only one way. A caller that
    has other evidence (the page's metadata, its URL) can then pick the reading that agrees with it."""
    found: list[tuple[int, date, date | None]] = []
    has_digit_year = "19" in text or "20" in text
    if not has_digit_year:
        return found
    for match in _MDY.finditer(text):
        month = _MONTHS.get(match.group(1).lower())
        value = _make(int(match.group(3)), month, int(match.group(2))) if month else None
        if value:
            found.append((match.start(), value, None))
    for match in _DMY.finditer(text):
        month = _MONTHS.get(match.group(2).lower())
        value = _make(int(match.group(3)), month, int(match.group(1))) if month else None
        if value:
            found.append((match.start(), value, None))
    for match in _ISO.finditer(text):
        value = _make(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if value:
            found.append((match.start(), value, None))
    for match in _SLASH.finditer(text):
        first, second, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
        dot = match.group(2) == "."  # 28.09.2021 is day-first everywhere it is written
        value = _make(year, second, first) if dot or first > 12 else _make(year, first, second)
        if value:
            ambiguous = first != second and first <= 12 and second <= 12
            other = (_make(year, first, second) if dot else _make(year, second, first)) if ambiguous else None
            found.append((match.start(), value, other))
    found.sort(key=lambda item: item[0])
    return found


def labelled_month(text: str) -> date | None:
    """The first day of a labelled month without a day ("Last updated: June 2022"), else None.

    Only with a label: a bare "June 2022" in running text is an event far more often than a dateline.
    A page that gives no more than the month is dated to its first day, the closest date we can name.
    """
    for year in _YEAR.finditer(text):
        match = _LABELLED_MONTH.search(text, max(0, year.start() - _LABELLED_REACH), year.start())
        if match:
            return _make(int(year.group(1)), _month(match.group(1)), 1)
    return None


def parse_date_line(line: str) -> date | None:
    """The date if ``line`` is nothing but a (possibly labelled, possibly timed) date, else None."""
    if len(line) > 70 or not _DIGIT.search(line):
        return None
    match = _DATE_LINE.match(line)
    if not match:
        return None
    core = match.group("date").strip(" ,.|-")
    for pattern in (_MDY, _DMY, _ISO, _SLASH):
        full = pattern.fullmatch(core)
        if full:
            return next((value for _, value in dates_in_text(core)), None)
    return None


def date_in_url(url: str | None) -> date | None:
    """A full year-month-day date in the URL path (not the host, not a bare year or month)."""
    if not url:
        return None
    path = url.split("://", 1)[-1]
    path = path[path.find("/") :] if "/" in path else ""
    for pattern in (_URL_YMD, _URL_COMPACT):
        match = pattern.search(path)
        if match:
            value = _make(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            if value:
                return value
    match = _URL_NAMED.search(path)
    if match:
        return _make(int(match.group(1)), _month(match.group(2)), int(match.group(3)))
    return None


def latest_allowed(fetched_at: datetime) -> date:
    """The latest calendar date a publication date may have, given when we fetched the page.

    A publisher's calendar date can be one day ahead of ours (UTC+14 at most), so a date-only value may
    exceed the fetch date by the zone difference; anything later is a typo, an event date or an expiry.
    """
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    return (fetched_at.astimezone(UTC) + timedelta(hours=14)).date()


def publisher_date(published: datetime, fetched_at: datetime) -> date | None:
    """The calendar date of a feed timestamp in its own zone, or None if it is after the fetch."""
    if published.tzinfo is not None and fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    elif published.tzinfo is None and fetched_at.tzinfo is not None:
        fetched_at = fetched_at.replace(tzinfo=None)
    # A few minutes of clock skew between the publisher's server and ours is not a future date.
    if published - fetched_at > timedelta(minutes=10):
        return None
    value = published.date()
    return value if value.year >= MIN_YEAR else None


def choose_text_date(
    *, published: datetime | None, stated: date | None, lines: list[str], url: str | None,
    fetched_at: datetime,
) -> tuple[date, DateSource]:
    """The date of text that has no page around it (extracted text, a feed entry's content).

    ``published`` (the feed's date, ``"feed"``), then ``stated`` (a header date) or a dateline standing
    alone in the first lines (``"text"``), then a date in the URL (``"url"``), else the fetch date
    (``"first_seen"``); never after the fetch.
    """
    latest = latest_allowed(fetched_at)
    if published is not None:
        found = publisher_date(published, fetched_at)
        if found is not None:
            return found, "feed"
    dateline = next((d for d in map(parse_date_line, lines[:_DATE_LINE_SCAN]) if d is not None), None)
    for candidate in (stated, dateline):
        if candidate is not None and candidate <= latest:
            return candidate, "text"
    found = date_in_url(url)
    if found is not None and found <= latest:
        return found, "url"
    return fetched_at.date(), "first_seen"
