"""Plain values going in and out of the store, so that no ORM object escapes a session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from monitor.core import WatchlistHit


class StoreError(Exception):
    """A store operation that cannot be done as asked (unknown name, duplicate, ...)."""


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """What a person declares about a source (config file or CLI)."""

    name: str
    url: str
    kind: str = "feed"
    interval_s: float = 900.0
    min_interval_s: float = 300.0
    max_interval_s: float = 86400.0
    first_poll: str = "store"
    allow_private_networks: bool | None = None
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SourceRow:
    """A source with its fetch state, as the pipeline and the CLI see it."""

    id: int
    name: str
    url: str
    kind: str
    origin: str
    options: dict[str, Any]
    enabled: bool
    active: bool
    deactivated_reason: str | None
    first_poll: str
    interval_s: float
    min_interval_s: float
    max_interval_s: float
    current_interval_s: float
    allow_private_networks: bool | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    next_check_at: datetime
    last_checked_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    error_count: int
    polls: int
    recent_entry_times: tuple[datetime, ...]
    articles_24h: int = 0


@dataclass(frozen=True, slots=True)
class WatchlistSpec:
    name: str
    query: str
    channels: tuple[str, ...] = ("console",)
    mode: str = "immediate"
    synonyms: tuple[tuple[str, ...], ...] = ()
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class WatchlistRow:
    id: int
    name: str
    query: str
    channels: tuple[str, ...]
    mode: str
    synonyms: tuple[tuple[str, ...], ...]
    origin: str
    enabled: bool
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An article the pipeline decided to store, with the hits it produced."""

    url: str
    guid: str | None
    title: str
    published: date
    date_source: str
    text: str
    content_hash: str
    language: str | None
    extractor: str
    hits: tuple[WatchlistHit, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceUpdate:
    """The new fetch state of a source after one poll (success or failure)."""

    success: bool
    next_check_at: datetime
    current_interval_s: float
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    error: str | None = None
    deactivate_reason: str | None = None
    new_url: str | None = None
    recent_entry_times: tuple[datetime, ...] = ()
    new_entries: int = 0
    # A parsed document sets the source's feed problem (None: a clean parse clears it); a poll that
    # parsed nothing (304, unchanged body, failure) leaves it as it was.
    parsed: bool = False
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class PollRecord:
    """The intent of one poll, applied by ``Store.apply_poll`` in a single transaction."""

    source_id: int
    update: SourceUpdate
    articles: tuple[NewArticle, ...] = ()
    alert: bool = True


@dataclass(frozen=True, slots=True)
class ApplyReport:
    articles_added: int = 0
    duplicates: int = 0
    hits_added: int = 0
    alerts_enqueued: int = 0
    article_ids: tuple[int, ...] = ()
    hits_by_watchlist: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    article_id: int | None
    watchlist_id: int | None
    channel: str
    mode: str
    attempts: int
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class HitRow:
    id: int
    watchlist: str
    article_id: int | None
    title: str
    url: str
    snippet: str
    spans: tuple[tuple[int, int], ...]
    matched_at: datetime
    alerted: bool


@dataclass(frozen=True, slots=True)
class AlertListRow:
    id: int
    channel: str
    status: str
    attempts: int
    watchlist: str | None
    title: str
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime
