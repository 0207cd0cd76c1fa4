"""SQLAlchemy 2 typed models. The schema itself changes only through Alembic migrations.

All fetch and delivery state lives here (next check, validators, error counts, outbox status), so that
a restart, or another replica, loses nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone; PostgreSQL gets timestamptz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}  # noqa: RUF012


# BigInteger ids on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="feed")
    origin: Mapped[str] = mapped_column(String(16), default="cli")  # "config" | "cli"
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)  # False = paused by a person
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False = deactivated (410 Gone)
    deactivated_reason: Mapped[str | None] = mapped_column(Text)
    first_poll: Mapped[str] = mapped_column(String(8), default="store")
    interval_s: Mapped[float] = mapped_column(Float, default=900.0)
    min_interval_s: Mapped[float] = mapped_column(Float, default=300.0)
    max_interval_s: Mapped[float] = mapped_column(Float, default=86400.0)
    current_interval_s: Mapped[float] = mapped_column(Float, default=900.0)
    allow_private_networks: Mapped[bool | None] = mapped_column(Boolean)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    next_check_at: Mapped[datetime] = mapped_column(index=True)
    lease_until: Mapped[datetime | None] = mapped_column()
    last_checked_at: Mapped[datetime | None] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()
    last_new_entry_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column()
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    recent_entry_times: Mapped[list[Any]] = mapped_column(default=list)
    # A feed that parsed with a problem (feedparser's bozo) but still gave entries: the problem, kept.
    last_problem: Mapped[str | None] = mapped_column(Text)
    last_problem_at: Mapped[datetime | None] = mapped_column()
    # Operations alerting: "ok" | "failing" | "silent", and when it last changed (one alert per change).
    health_state: Mapped[str] = mapped_column(String(16), default="ok", server_default="ok")
    health_changed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_story_pending", "story_pending", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"), index=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    guid: Mapped[str | None] = mapped_column(Text, index=True)
    title: Mapped[str] = mapped_column(Text)
    published: Mapped[date] = mapped_column(Date)
    date_source: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    language: Mapped[str | None] = mapped_column(String(16))
    extractor: Mapped[str] = mapped_column(String(32))
    first_seen_at: Mapped[datetime] = mapped_column(index=True)
    # Story grouping (issue 7): the story this article belongs to and, for a copy, the original.
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"), index=True)
    copy_of_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    # Waiting for the story stage (its story and its alerts are decided there), and the stage's decision
    # number once decided: replicas' indexes catch up in that order (migration 0005).
    story_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    story_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True, index=True)


class Story(Base):
    """A group of articles about one event. ``id`` is the story index's id (its first article's id)."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    # No foreign key: articles point at stories, and a cycle would complicate pruning and SQLite DDL.
    representative_article_id: Mapped[int | None] = mapped_column(Id)
    title: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime] = mapped_column()
    member_count: Mapped[int] = mapped_column(Integer, default=1)
    source_count: Mapped[int] = mapped_column(Integer, default=1)


class Watchlist(Base):
    __tablename__ = "watchlists"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    query: Mapped[str] = mapped_column(Text)
    synonyms: Mapped[list[Any]] = mapped_column(default=list)
    channels: Mapped[list[Any]] = mapped_column(default=list)
    mode: Mapped[str] = mapped_column(String(16), default="immediate")
    origin: Mapped[str] = mapped_column(String(16), default="cli")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class Hit(Base):
    """A watchlist matching an article. Title and URL are copied so that a hit outlives article pruning."""

    __tablename__ = "hits"
    __table_args__ = (UniqueConstraint("article_id", "watchlist_id", name="uq_hits_article_watchlist"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("watchlists.id", ondelete="CASCADE"), index=True)
    article_url: Mapped[str] = mapped_column(Text)
    article_title: Mapped[str] = mapped_column(Text)
    snippet: Mapped[str] = mapped_column(Text)
    spans: Mapped[list[Any]] = mapped_column(default=list)
    alerted: Mapped[bool] = mapped_column(Boolean, default=True)
    matched_at: Mapped[datetime] = mapped_column(index=True)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"), index=True)


class Alert(Base):
    """The outbox: one row per hit and channel, written in the hit's transaction.

    ``dedup_key`` (article, watchlist, channel) is unique, so an alert can never be enqueued twice;
    ``payload`` is a snapshot of what the message needs, so delivery does not depend on the article row.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_due", "status", "next_attempt_at"),
        Index("ix_alerts_channel_due", "channel", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    hit_id: Mapped[int | None] = mapped_column(ForeignKey("hits.id", ondelete="SET NULL"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"), index=True)
    watchlist_id: Mapped[int | None] = mapped_column(ForeignKey("watchlists.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(16), default="immediate")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    claimed_until: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)
    sent_at: Mapped[datetime | None] = mapped_column()
    # The digest this row was sealed into (mode "digest", or held by quiet hours); NULL until then.
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id", ondelete="SET NULL"), index=True)
    # "hit" (a watchlist matched), "story_update" (a later member of an alerted story: update the
    # parent's message in place or reply in its thread) or "ops" (source health, operations channel).
    kind: Mapped[str] = mapped_column(String(16), default="hit", server_default="hit")
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), index=True)


class Digest(Base):
    """One digest message of one channel, sealed before it is sent.

    Sealing (inserting this row and pointing its alerts at it) happens in one transaction, so which rows
    a digest covers is decided once: a crash before, during or after the send re-sends the same rows
    under the same ``idempotency_key`` (derived from channel and period end), never loses or splits them.
    """

    __tablename__ = "digests"
    __table_args__ = (Index("ix_digests_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    channel: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[datetime] = mapped_column()
    period_end: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    claimed_until: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
