"""Aggregate queries: cheap ones for health and metrics, and the per-day figures of ``monitor stats``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.store.models import Alert, Article, Hit, Source, Watchlist


def due_sources(session: Session, now: datetime) -> tuple[int, datetime | None]:
    """(sources due now, the earliest next check among them)."""
    count, earliest = session.execute(
        select(func.count(), func.min(Source.next_check_at)).where(
            Source.enabled.is_(True), Source.active.is_(True), Source.next_check_at <= now
        )
    ).one()
    return int(count or 0), earliest


def outbox_depth(session: Session) -> tuple[int, datetime | None]:
    """(pending alerts, creation time of the oldest one)."""
    count, oldest = session.execute(
        select(func.count(), func.min(Alert.created_at)).where(Alert.status == "pending")
    ).one()
    return int(count or 0), oldest


# --- monitor stats ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DayStats:
    """One UTC day: articles first seen, hits recorded, and outbox rows created by their status now."""

    day: str
    articles: int = 0
    hits: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    alerts_pending: int = 0


@dataclass(frozen=True, slots=True)
class WatchlistStats:
    watchlist: str
    hits: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    alerts_pending: int = 0


@dataclass(frozen=True, slots=True)
class StatsReport:
    since: datetime
    days: tuple[DayStats, ...]
    watchlists: tuple[WatchlistStats, ...]
    sources: dict[str, int] = field(default_factory=dict)


SOURCE_HEALTH = ("ok", "new", "failing", "silent", "paused", "deactivated")


def _day(session: Session, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, as text (``YYYY-MM-DD``) on both backends."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)  # SQLite keeps UTC without a zone


def source_health_state(*, enabled: bool, active: bool, error_count: int, ok_once: bool, state: str) -> str:
    """One word per source: deactivated (410 Gone), paused (by a person), failing (last poll failed),
    silent (flagged by the health check), new (never polled successfully) or ok."""
    if not active:
        return "deactivated"
    if not enabled:
        return "paused"
    if error_count:
        return "failing"
    if state == "silent":
        return "silent"
    return "ok" if ok_once else "new"


def stats(session: Session, *, since: datetime) -> StatsReport:
    days: dict[str, dict[str, int]] = {}

    def bump(day: str | None, key: str, n: int) -> None:
        if day is not None:
            days.setdefault(str(day), {})[key] = days.get(str(day), {}).get(key, 0) + int(n)

    aday = _day(session, Article.first_seen_at)
    for day, n in session.execute(
        select(aday, func.count()).where(Article.first_seen_at >= since).group_by(aday)
    ):
        bump(day, "articles", n)
    hday = _day(session, Hit.matched_at)
    for day, n in session.execute(select(hday, func.count()).where(Hit.matched_at >= since).group_by(hday)):
        bump(day, "hits", n)
    lday = _day(session, Alert.created_at)
    for day, status, n in session.execute(
        select(lday, Alert.status, func.count()).where(Alert.created_at >= since).group_by(lday, Alert.status)
    ):
        bump(day, f"alerts_{status}", n)

    per_wl: dict[str, dict[str, int]] = {}
    for name, n in session.execute(
        select(Watchlist.name, func.count())
        .join(Hit, Hit.watchlist_id == Watchlist.id)
        .where(Hit.matched_at >= since)
        .group_by(Watchlist.name)
    ):
        per_wl.setdefault(name, {})["hits"] = int(n)
    for name, status, n in session.execute(
        select(Watchlist.name, Alert.status, func.count())
        .join(Alert, Alert.watchlist_id == Watchlist.id)
        .where(Alert.created_at >= since)
        .group_by(Watchlist.name, Alert.status)
    ):
        per_wl.setdefault(name, {})[f"alerts_{status}"] = int(n)

    health = dict.fromkeys(SOURCE_HEALTH, 0)
    for enabled, active, errors, ok_at, state in session.execute(
        select(Source.enabled, Source.active, Source.error_count, Source.last_success_at, Source.health_state)
    ):
        word = source_health_state(
            enabled=enabled, active=active, error_count=errors, ok_once=ok_at is not None, state=state
        )
        health[word] += 1

    def pick(values: dict[str, int], cls: Any, **key: str) -> Any:
        return cls(**key, **{k: v for k, v in values.items() if k in cls.__dataclass_fields__})

    return StatsReport(
        since=since,
        days=tuple(pick(v, DayStats, day=d) for d, v in sorted(days.items())),
        watchlists=tuple(pick(v, WatchlistStats, watchlist=w) for w, v in sorted(per_wl.items())),
        sources=health,
    )
