"""The plain-text path (text extracted elsewhere, such as the seed files) and the HTML/text dispatcher."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path, PurePath

from monitor.core.types import NormalizedArticle
from monitor.core.urls import canonical_url
from monitor.extract._boilerplate import is_boilerplate, strip_list_marker
from monitor.extract._clean import clean_paragraphs
from monitor.extract._dates import choose_text_date
from monitor.extract._decode import decode_html
from monitor.extract._errors import ExtractionError
from monitor.extract._html import extract_html
from monitor.extract._normalize import normalize_line, split_lines

__all__ = ["normalize_document", "normalize_text"]

_HEADER_DATE = re.compile(r"^\d{8}$")
_HEADER_URL = re.compile(r"^[a-z][a-z0-9+.-]*:\S+$", re.I)
_UNKNOWN_URL = "about:blank"  # the URL line must never be empty; this says "no address known"
_HTML_SNIFF = re.compile(
    rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<meta\s|<title>|<div[\s>]|<p>", re.I
)


def _header(lines: list[str]) -> tuple[str, date, str] | None:
    """``(title, date, url)`` when the text starts with the reference header."""
    if len(lines) < 3 or not _HEADER_DATE.match(lines[1]) or not _HEADER_URL.match(lines[2]):
        return None
    try:
        day = datetime.strptime(lines[1], "%Y%m%d").date()
    except ValueError:
        return None
    return lines[0], day, lines[2]


def normalize_text(
    text: str,
    *,
    fetched_at: datetime,
    url: str | None = None,
    title: str | None = None,
    published: datetime | None = None,
) -> NormalizedArticle:
    """Normalise text already extracted elsewhere.

    If the text starts with the reference header (title line, YYYYMMDD line, URL line) the header is used;
    otherwise the first line that is not furniture is the title. Explicit arguments win over both. Date
    order: ``published`` (``"feed"``), the header date or a dateline near the top (``"text"``), a date in
    the URL (``"url"``), else ``fetched_at`` (``"first_seen"``); never later than the fetch.
    """
    return _normalize_text(text, fetched_at=fetched_at, url=url, title=title, published=published)


def _normalize_text(
    text: str,
    *,
    fetched_at: datetime,
    url: str | None,
    title: str | None,
    published: datetime | None,
    fallback_url: str | None = None,
) -> NormalizedArticle:
    """``normalize_text`` with a URL used only when neither the caller nor the header gives one."""
    lines = [normalize_line(raw, repair_dashes=False) for raw in split_lines(text)]
    lines = [line for line in lines if line]
    header = _header(lines)
    header_date: date | None = None
    if header is not None:
        header_title, header_date, header_url = header
        title = title or header_title
        url = url or header_url
        body = lines[3:]
    elif title:
        body = lines
    else:
        start = next((i for i, line in enumerate(lines) if not is_boilerplate(strip_list_marker(line))), None)
        if start is None:
            raise ExtractionError("the text has no line that could be a title")
        title, body = strip_list_marker(lines[start]), lines[start + 1 :]
    title = normalize_line(title, repair_dashes=False)
    if not title:
        raise ExtractionError("the title is empty")
    # Re-clean from the raw text so that lost-dash repair sees the original double spaces.
    raw_body = _raw_body(text, skip=len(lines) - len(body))
    paragraphs = clean_paragraphs(raw_body, title=title, repair_dashes=True)
    if not paragraphs:
        raise ExtractionError("no article text left after cleanup")
    day, source = choose_text_date(
        published=published, stated=header_date, lines=body, url=url, fetched_at=fetched_at
    )
    return NormalizedArticle(
        title=title,
        date=day,
        date_source=source,
        url=canonical_url(url) if url else (fallback_url or _UNKNOWN_URL),
        paragraphs=paragraphs,
        language=None,
        extractor="text",
    )


def _raw_body(text: str, *, skip: int) -> list[str]:
    """The raw (un-normalised) lines after the first ``skip`` non-blank lines."""
    raw = [line for line in split_lines(text) if normalize_line(line, repair_dashes=False)]
    return raw[skip:]


def _looks_like_html(data: bytes, content_type: str | None, path: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("text/html", "application/xhtml+xml"):
        return True
    if media.startswith("text/") and media != "text/html":
        return False
    suffix = PurePath(path).suffix.lower() if path else ""
    if suffix in (".html", ".htm", ".xhtml"):
        return True
    if suffix in (".txt", ".text", ".md"):
        return False
    return bool(_HTML_SNIFF.search(data[:2048]))


def normalize_document(
    data: bytes,
    *,
    fetched_at: datetime,
    url: str | None = None,
    content_type: str | None = None,
    path: str | None = None,
) -> NormalizedArticle:
    """Sniff HTML vs plain text and dispatch to ``extract_html`` or ``normalize_text``.

    The media type decides when it is given, then the file suffix, then the first bytes. Without a URL, a
    ``path`` becomes a ``file://`` URL (made absolute against the working directory, not resolved: no
    file-system access happens here) used when the text has no header URL of its own.
    """
    path_url = _file_url(path) if path is not None else None
    if _looks_like_html(data, content_type, path):
        page_url = url or path_url or _UNKNOWN_URL
        return extract_html(data, url=page_url, fetched_at=fetched_at, content_type=content_type)
    text, _encoding = decode_html(data, content_type=content_type)
    # A header URL in the text beats the file's own location; an explicit ``url`` beats both.
    return _normalize_text(text, fetched_at=fetched_at, url=url, title=None, published=None,
                           fallback_url=path_url)


def _file_url(path: str) -> str:
    return Path(path).absolute().as_uri()
