"""The ``Store`` facade: every method is one short transaction and returns plain values.

The methods are synchronous (SQLAlchemy's ORM); the runtime calls them from worker threads so that the
event loop keeps fetching while the database works.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from monitor.core import WatchlistHit
from monitor.store import (
    _health,
    _ingest,
    _migrate,
    _outbox,
    _prune,
    _search,
    _sources,
    _stats,
    _stories,
    _story_queries,
    _story_stage,
)
from monitor.store._engine import make_engine
from monitor.store._types import (
    AlertListRow,
    AlertRow,
    ApplyReport,
    HitRow,
    PollRecord,
    SourceRow,
    SourceSpec,
    WatchlistRow,
    WatchlistSpec,
)
from monitor.store.models import Article, Hit, Source, Watchlist

T = TypeVar("T")


class Store:
    """Articles, hits, sources, watchlists and the alert outbox in one SQLAlchemy database."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine: Engine = make_engine(url, echo=echo)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._session.begin() as session:
            yield session

    def _tx(self, fn: Callable[[Session], T]) -> T:
        with self.session() as s:
            return fn(s)

    # schema -------------------------------------------------------------------------------------------
    def upgrade(self, *, in_child: bool = False) -> None:
        """Migrate the schema to the head; ``in_child``: in a child process, so that this one never
        loads Alembic (the daemon's choice, see ``store/_migrate.py``)."""
        if in_child:
            _migrate.upgrade_in_child(self.engine)
        else:
            _migrate.upgrade(self.engine)

    def current_revision(self) -> str | None:
        return _migrate.current_revision(self.engine)

    def is_current(self) -> bool:
        return self.current_revision() == _migrate.HEAD_REVISION

    def schema_drift(self) -> list[str]:
        return _migrate.schema_drift(self.engine)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    # sources ------------------------------------------------------------------------------------------
    def sync_config(
        self, sources: Sequence[SourceSpec], watchlists: Sequence[WatchlistSpec], *, now: datetime
    ) -> dict[str, tuple[int, int, int]]:
        def run(s: Session) -> dict[str, tuple[int, int, int]]:
            # Replicas that start together sync one after the other (the migration's advisory lock,
            # held to the end of this transaction): concurrent inserts of one new name would collide.
            _migrate.lock_schema(s.connection())
            return {
                "sources": _sources.sync_sources(s, sources, now),
                "watchlists": _sources.sync_watchlists(s, watchlists, now),
            }

        return self._tx(run)

    def add_source(self, spec: SourceSpec, *, now: datetime) -> SourceRow:
        return self._tx(lambda s: _sources.source_row(_sources.add_source(s, spec, now)))

    def remove_source(self, ref: str) -> str:
        def run(s: Session) -> str:
            src = _sources.find_source(s, ref)
            s.delete(src)
            return src.name

        return self._tx(run)

    def set_source_enabled(self, ref: str, enabled: bool, *, now: datetime) -> SourceRow:
        def run(s: Session) -> SourceRow:
            src = _sources.find_source(s, ref)
            src.enabled = enabled
            src.updated_at = now
            if enabled:
                src.next_check_at = min(src.next_check_at, now)
            return _sources.source_row(src)

        return self._tx(run)

    def get_source(self, ref: str) -> SourceRow:
        return self._tx(lambda s: _sources.source_row(_sources.find_source(s, ref)))

    def list_sources(self, *, now: datetime) -> list[SourceRow]:
        return self._tx(lambda s: _sources.list_sources(s, now))

    def claim_due_sources(self, *, now: datetime, limit: int, lease_s: float = 600.0) -> list[SourceRow]:
        return self._tx(lambda s: _sources.claim_due(s, now=now, limit=limit, lease_s=lease_s))

    def make_all_due(self, *, now: datetime) -> int:
        return self._tx(lambda s: _sources.force_due(s, now))

    # the job queue's polls (see _sources.start_poll for the fencing) -----------------------------------
    def due_source_ids(self, *, now: datetime, limit: int) -> list[int]:
        return self._tx(lambda s: _sources.due_ids(s, now=now, limit=limit))

    def lease_sources(self, ids: Sequence[int], *, until: datetime, now: datetime) -> int:
        return self._tx(lambda s: _sources.lease_ids(s, ids, until=until, now=now))

    def start_poll(self, source_id: int, *, lease: datetime, now: datetime) -> SourceRow | None:
        return self._tx(lambda s: _sources.start_poll(s, source_id, lease=lease, now=now))

    # watchlists ---------------------------------------------------------------------------------------
    def list_watchlists(self) -> list[WatchlistRow]:
        return self._tx(
            lambda s: [
                _sources.watchlist_row(w) for w in s.scalars(select(Watchlist).order_by(Watchlist.name))
            ]
        )

    def add_watchlist(self, spec: WatchlistSpec, *, now: datetime, replace: bool = False) -> WatchlistRow:
        return self._tx(
            lambda s: _sources.watchlist_row(_sources.add_watchlist(s, spec, now, replace=replace))
        )

    def remove_watchlist(self, name: str) -> None:
        self._tx(lambda s: s.delete(_sources.find_watchlist(s, name)))

    def watchlists_version(self) -> tuple[int, str | None]:
        """A cheap fingerprint (count, newest update) that changes when any watchlist changes."""

        def run(s: Session) -> tuple[int, str | None]:
            count, newest = s.execute(select(func.count(), func.max(Watchlist.updated_at))).one()
            return int(count), str(newest) if newest is not None else None

        return self._tx(run)

    # ingest -------------------------------------------------------------------------------------------
    def known(
        self, *, urls: Sequence[str], guids: Sequence[str] = (), hashes: Sequence[str] = ()
    ) -> _ingest.Known:
        return self._tx(lambda s: _ingest.known(s, urls=urls, guids=guids, hashes=hashes))

    def apply_poll(self, record: PollRecord, *, now: datetime, defer_stories: bool = False) -> ApplyReport:
        """One poll's intent in one transaction; with ``defer_stories`` its articles wait for the story
        stage (``assign_stories``), which writes their alerts (see store/_story_stage.py)."""
        return self._tx(lambda s: _ingest.apply_poll(s, record, now, defer_stories=defer_stories))

    def apply_polls(
        self, records: Sequence[tuple[PollRecord, datetime]], *, defer_stories: bool = False
    ) -> list[ApplyReport | Exception]:
        """Several polls, each with its own time, in one transaction (group commit: see
        ``pipeline/_recorder.py``); a poll's own failure is its exception, in its place in the answer, and
        rolls back that poll alone. Raises when the transaction itself fails."""
        return self._tx(lambda s: _ingest.apply_polls(s, records, defer_stories=defer_stories))

    # stories ------------------------------------------------------------------------------------------
    def assign_stories(
        self, stories: _stories.StoryAssigner | None, *, now: datetime, limit: int = 500
    ) -> _story_stage.StageReport:
        """Decide up to ``limit`` pending articles' stories and write their alerts, in one transaction;
        ``stories`` is told whether it committed. None writes the alerts without stories."""
        try:
            report = self._tx(lambda s: _story_stage.assign_pending(s, stories, now, limit=limit))
        except BaseException:
            if stories is not None:
                stories.rolled_back()
            raise
        if stories is not None:
            stories.committed()
        return report

    def pending_stories(self) -> int:
        """Articles waiting for the story stage."""
        return self._tx(
            lambda s: int(s.scalar(select(func.count()).where(Article.story_pending.is_(True))) or 0)
        )

    def story_members_after(
        self, *, after_seq: int, since: datetime, limit: int = 2000
    ) -> list[_stories.StoredMember]:
        """Decided articles with their stories (index warm-up and catch-up), in decision order."""
        return self._tx(lambda s: _stories.members_after(s, after_seq=after_seq, since=since, limit=limit))

    def max_story_seq(self) -> int:
        """The newest decision number (0 for none): a saved story index ahead of it belongs to another
        database (or one that was reset)."""
        return self._tx(lambda s: int(s.scalar(select(func.max(Article.story_seq))) or 0))

    def list_stories(
        self, *, since: datetime | None = None, limit: int = 100
    ) -> list[_story_queries.StoryRow]:
        return self._tx(lambda s: _story_queries.list_stories(s, since=since, limit=limit))

    def get_story(self, story_id: int) -> _story_queries.StoryDetail | None:
        return self._tx(lambda s: _story_queries.get_story(s, story_id))

    def list_story_hits(
        self,
        *,
        watchlist: str | None = None,
        since: datetime | None = None,
        story: int | None = None,
        limit: int = 100,
    ) -> list[_story_queries.StoryHitRow]:
        return self._tx(
            lambda s: _story_queries.list_hits(s, watchlist=watchlist, since=since, story=story, limit=limit)
        )

    # outbox -------------------------------------------------------------------------------------------
    def claim_alerts(self, *, now: datetime, limit: int, lease_s: float, worker: str) -> list[AlertRow]:
        return self._tx(lambda s: _outbox.claim(s, now=now, limit=limit, lease_s=lease_s, worker=worker))

    def mark_sent(self, ids: Sequence[int], *, now: datetime, external_id: str | None = None) -> None:
        self._tx(lambda s: _outbox.mark_sent(s, ids, now=now, external_id=external_id))

    def mark_retry(self, ids: Sequence[int], *, error: str, next_attempt_at: datetime) -> None:
        self._tx(lambda s: _outbox.mark_retry(s, ids, error=error, next_attempt_at=next_attempt_at))

    def mark_failed(self, ids: Sequence[int], *, error: str) -> None:
        self._tx(lambda s: _outbox.mark_failed(s, ids, error=error))

    def requeue_failed(self, *, ids: Sequence[int] | None, now: datetime) -> int:
        return self._tx(lambda s: _outbox.requeue_failed(s, ids=ids, now=now))

    def outbox_summary(self, *, now: datetime) -> tuple[int, datetime | None]:
        return self._tx(lambda s: _outbox.pending_summary(s, now=now))

    def list_alerts(self, *, status: str | None = None, limit: int = 100) -> list[AlertListRow]:
        return self._tx(lambda s: _outbox.list_alerts(s, status=status, limit=limit))

    # search and backfill ------------------------------------------------------------------------------
    def iter_articles(
        self, *, since: datetime | None = None, newest_first: bool = True
    ) -> Iterator[_search.StoredArticle]:
        """Stored articles, streamed in batches from one read transaction."""
        with self._session() as s:
            yield from _search.iter_articles(s, since=since, newest_first=newest_first)

    def record_backfill_hits(
        self, *, watchlist_id: int, hits: Sequence[tuple[_search.StoredArticle, WatchlistHit]], now: datetime
    ) -> int:
        return self._tx(lambda s: _search.record_hits(s, watchlist_id=watchlist_id, hits=hits, now=now))

    # health and metrics -------------------------------------------------------------------------------
    def due_summary(self, *, now: datetime) -> tuple[int, datetime | None]:
        return self._tx(lambda s: _stats.due_sources(s, now))

    def outbox_depth(self) -> tuple[int, datetime | None]:
        return self._tx(_stats.outbox_depth)

    # housekeeping (operations CLI, retention, source-health alerts) -----------------------------------
    def stats(self, *, since: datetime) -> _stats.StatsReport:
        return self._tx(lambda s: _stats.stats(s, since=since))

    def source_health(self) -> dict[int, _health.SourceHealth]:
        return self._tx(_health.source_health)

    def health_inputs(self) -> list[_health.HealthInput]:
        return self._tx(_health.health_inputs)

    def apply_health(
        self, transitions: Sequence[_health.HealthTransition], *, channel: str | None, now: datetime
    ) -> list[_health.HealthTransition]:
        """Apply health transitions and enqueue their ops alerts in one transaction."""
        return self._tx(lambda s: _health.apply_transitions(s, transitions, channel=channel, now=now))

    def count_older_articles(self, *, cutoff: datetime) -> int:
        return self._tx(lambda s: _prune.count_older(s, cutoff=cutoff))

    def prune_articles_batch(self, *, cutoff: datetime, batch: int) -> int:
        """Delete one batch of old articles (one short transaction); hits and alerts keep their copies."""
        return self._tx(lambda s: _prune.prune_batch(s, cutoff=cutoff, batch=batch))

    # queries ------------------------------------------------------------------------------------------
    def list_hits(
        self, *, watchlist: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[HitRow]:
        def run(s: Session) -> list[HitRow]:
            stmt = (
                select(Hit, Watchlist.name)
                .join(Watchlist, Watchlist.id == Hit.watchlist_id)
                .order_by(Hit.matched_at.desc(), Hit.id.desc())
                .limit(limit)
            )
            if watchlist:
                stmt = stmt.where(Watchlist.name == watchlist)
            if since:
                stmt = stmt.where(Hit.matched_at >= since)
            return [
                HitRow(
                    id=h.id,
                    watchlist=name,
                    article_id=h.article_id,
                    title=h.article_title,
                    url=h.article_url,
                    snippet=h.snippet,
                    spans=tuple((int(a), int(b)) for a, b in h.spans or ()),
                    matched_at=h.matched_at,
                    alerted=h.alerted,
                )
                for h, name in s.execute(stmt).all()
            ]

        return self._tx(run)

    def counts(self) -> dict[str, int]:
        def run(s: Session) -> dict[str, int]:
            return {
                name: int(s.scalar(select(func.count()).select_from(model)) or 0)
                for name, model in (
                    ("sources", Source),
                    ("articles", Article),
                    ("hits", Hit),
                    ("watchlists", Watchlist),
                )
            }

        return self._tx(run)

    def export_articles(
        self, *, since: datetime | None = None, watchlist: str | None = None
    ) -> list[tuple[str, str]]:
        """(canonical URL, normalised text) of stored articles, oldest first."""

        def run(s: Session) -> list[tuple[str, str]]:
            stmt = select(Article.url, Article.text).order_by(Article.first_seen_at, Article.id)
            if since is not None:
                stmt = stmt.where(Article.first_seen_at >= since)
            if watchlist is not None:
                stmt = stmt.where(
                    Article.id.in_(
                        select(Hit.article_id)
                        .join(Watchlist, Watchlist.id == Hit.watchlist_id)
                        .where(Watchlist.name == watchlist)
                    )
                )
            return [(u, t) for u, t in s.execute(stmt).all()]

        return self._tx(run)
