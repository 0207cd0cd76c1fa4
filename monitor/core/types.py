"""The value types that cross stage boundaries.

They are frozen dataclasses on purpose: a stage returns new values instead of mutating its input, which
keeps the deciders pure and the pipeline easy to reason about.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

DateSource = Literal["feed", "page", "url", "text", "first_seen"]


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What the fetch stage returns for one URL.

    ``status`` is the final HTTP status (200 for local files); ``body`` is the decoded-from-transfer-encoding
    payload (bytes, never text: charset decoding belongs to parse/extract). ``not_modified`` is true for a
    304 or when the body hash equals the previous one.
    """

    url: str
    final_url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    not_modified: bool = False
    permanent_redirect_to: str | None = None
    retry_after_s: float | None = None
    max_age_s: float | None = None
    elapsed_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Entry:
    """One item found in a source (feed entry, scraped link, sitemap URL) before extraction."""

    url: str
    guid: str | None = None
    title: str | None = None
    published: datetime | None = None
    summary: str | None = None
    content_html: str | None = None
    author: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class NormalizedArticle:
    """An article in the reference format: title, YYYYMMDD date, canonical URL, one paragraph per line."""

    title: str
    date: date
    date_source: DateSource
    url: str
    paragraphs: tuple[str, ...]
    language: str | None = None
    extractor: str = "text"

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)

    def to_text(self) -> str:
        """The reference format: UTF-8, LF line ends, a final newline, no blank line."""
        lines = [self.title, self.date.strftime("%Y%m%d"), self.url, *self.paragraphs]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "date": self.date.strftime("%Y%m%d"),
            "date_source": self.date_source,
            "url": self.url,
            "paragraphs": list(self.paragraphs),
            "text": self.to_text(),
            "language": self.language,
            "extractor": self.extractor,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Span:
    """A matched range in ``WatchlistHit.snippet`` (character offsets, end exclusive)."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class WatchlistHit:
    """One watchlist matching one article: the sentence(s) that matched and the matched spans in them."""

    watchlist_id: int
    snippet: str
    spans: tuple[Span, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertWatchlist:
    name: str
    snippet: str
    spans: tuple[Span, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """Everything a channel needs to render one alert; built by the dispatcher from outbox rows.

    ``alert_ids`` are the outbox ids folded into this message (several watchlists of one article on one
    channel make one message); ``idempotency_key`` is stable across retries.
    """

    idempotency_key: str
    alert_ids: tuple[int, ...]
    channel: str
    title: str
    url: str
    source: str
    published: date | None
    watchlists: tuple[AlertWatchlist, ...]
    also_reported_by: tuple[str, ...] = ()
    story_id: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What a channel answered. ``permanent`` failures are not retried; ``retry_after_s`` is a hint."""

    ok: bool
    permanent: bool = False
    error: str | None = None
    retry_after_s: float | None = None
    external_id: str | None = None
