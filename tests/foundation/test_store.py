"""The store on SQLite and PostgreSQL: migrations, config sync, ingest de-duplication, the outbox."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from monitor.core import Span, WatchlistHit
from monitor.store import (
    NewArticle,
    PollRecord,
    SourceSpec,
    SourceUpdate,
    Store,
    StoreError,
    WatchlistSpec,
    _migrate,
    head_revision,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    s.upgrade()
    yield s
    s.close()


def art(
    n: int, *, url: str | None = None, chash: str | None = None, hits: tuple[WatchlistHit, ...] = ()
) -> NewArticle:
    return NewArticle(
        url=url or f"https://news.example/{n}",
        guid=f"g{n}",
        title=f"Title {n}",
        published=date(2026, 11, 20),
        date_source="feed",
        text=f"Title {n}\n20261120\nhttps://news.example/{n}\nBody {n}.\n",
        content_hash=chash or f"{n:064x}",
        language="en",
        extractor="test",
        hits=hits,
    )


def ok_update() -> SourceUpdate:
    return SourceUpdate(success=True, next_check_at=NOW + timedelta(minutes=15), current_interval_s=900)


def test_the_head_revision_constant_is_the_migrations_single_head() -> None:
    """``HEAD_REVISION`` spares a current database's daemon from loading Alembic: it must be the head."""
    assert head_revision() == _migrate.HEAD_REVISION


def test_a_current_database_is_upgraded_and_checked_without_loading_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    setup = Store(url)
    setup.upgrade()
    setup.close()
    probe = (
        "import sys; from monitor.store import Store\n"
        f"s = Store({url!r}); s.upgrade(); current = s.is_current(); s.close()\n"
        "print(current, 'alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"], out.stderr
    stale = Store(f"sqlite:///{tmp_path / 'old.db'}")  # an older database goes through Alembic
    _migrate.upgrade(stale.engine, "0004")
    assert stale.current_revision() == "0004" and not stale.is_current()
    stale.upgrade()
    assert stale.is_current() and stale.schema_drift() == []
    stale.close()


def test_the_daemons_upgrade_runs_in_a_child_and_leaves_alembic_out_of_its_process(tmp_path: Path) -> None:
    """A daemon starting on a new or an older database migrates it in a child process: Alembic, Mako and
    Pygments (~14 MB) never stay resident in the long-running process for work done once."""
    new, old = f"sqlite:///{tmp_path / 'new.db'}", f"sqlite:///{tmp_path / 'old.db'}"
    stale = Store(old)
    _migrate.upgrade(stale.engine, "0004")
    stale.close()
    probe = (
        "import sys; from monitor.store import Store\n"
        "for url in sys.argv[1:]:\n"
        "    s = Store(url); before = s.current_revision(); s.upgrade(in_child=True)\n"
        "    print(before, s.is_current()); s.close()\n"
        "print('alembic' in sys.modules, 'mako' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, new, old], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["None True", "0004 True", "False False"]
    for url in (new, old):
        s = Store(url)
        assert s.schema_drift() == []
        s.close()


def test_a_failed_child_upgrade_says_why(tmp_path: Path) -> None:
    """What the migration printed in the child reaches the caller (here: a revision no release has)."""
    s = Store(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        s.upgrade()
        with s.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
        with pytest.raises(_migrate.MigrationError, match=r"(?s)exit status 1.*9999"):
            s.upgrade(in_child=True)
    finally:
        s.close()


def test_an_in_memory_database_is_upgraded_in_this_process() -> None:
    s = Store("sqlite://")
    try:
        s.upgrade(in_child=True)  # a child could not see this process's memory
        assert s.is_current()
    finally:
        s.close()


def test_migrations_single_head_upgrade_from_empty_and_no_drift(db_url: str) -> None:
    s = Store(db_url)
    try:
        assert s.current_revision() is None
        s.upgrade()
        assert s.current_revision() == head_revision()
        assert s.is_current()
        assert s.schema_drift() == []
        tables = set(inspect(s.engine).get_table_names())
        assert {"sources", "articles", "watchlists", "hits", "alerts"} <= tables
        s.upgrade()  # idempotent
        assert s.is_current()
    finally:
        s.close()


def test_sync_config_adds_changes_and_removes(store: Store) -> None:
    specs = [
        SourceSpec(name="a", url="https://a.example/feed"),
        SourceSpec(name="b", url="https://b.example/feed"),
    ]
    wls = [WatchlistSpec(name="w", query="alpha")]
    assert store.sync_config(specs, wls, now=NOW) == {"sources": (2, 0, 0), "watchlists": (1, 0, 0)}
    assert store.sync_config(specs, wls, now=NOW) == {"sources": (0, 0, 0), "watchlists": (0, 0, 0)}
    store.add_source(SourceSpec(name="cli-one", url="https://c.example/feed"), now=NOW)
    changed = [SourceSpec(name="a", url="https://a.example/other")]
    report = store.sync_config(changed, [], now=NOW)
    assert report == {"sources": (0, 1, 1), "watchlists": (0, 0, 1)}
    names = {s.name for s in store.list_sources(now=NOW)}
    assert names == {"a", "cli-one"}  # CLI-added sources are not the config's to remove
    with pytest.raises(StoreError, match="already exists"):
        store.add_source(SourceSpec(name="a", url="https://x.example"), now=NOW)


def _setup(store: Store) -> tuple[int, int]:
    store.sync_config(
        [SourceSpec(name="src", url="https://src.example/feed")],
        [
            WatchlistSpec(name="w1", query="alpha", channels=("console", "hook")),
            WatchlistSpec(name="w2", query="beta"),
        ],
        now=NOW,
    )
    src = store.list_sources(now=NOW)[0]
    wl = {w.name: w.id for w in store.list_watchlists()}
    return src.id, wl["w1"]


def test_apply_poll_stores_once_and_enqueues_once(store: Store) -> None:
    source_id, w1 = _setup(store)
    hit = WatchlistHit(watchlist_id=w1, snippet="Alpha rises.", spans=(Span(0, 5),))
    record = PollRecord(source_id, ok_update(), (art(1, hits=(hit,)), art(2)))
    report = store.apply_poll(record, now=NOW)
    assert (report.articles_added, report.hits_added, report.alerts_enqueued) == (2, 1, 2)
    again = store.apply_poll(record, now=NOW)
    assert (again.articles_added, again.duplicates, again.alerts_enqueued) == (0, 2, 0)
    # same text under another URL, and same URL under another hash: both duplicates
    third = store.apply_poll(
        PollRecord(source_id, ok_update(), (art(3, chash=f"{1:064x}"), art(4, url="https://news.example/2"))),
        now=NOW,
    )
    assert (third.articles_added, third.duplicates) == (0, 2)
    assert store.counts()["articles"] == 2
    known = store.known(urls=["https://news.example/1", "https://x.example"], guids=["g2", "zz"])
    assert known.urls == {"https://news.example/1"} and known.guids == {"g2"}


def test_first_poll_store_records_hits_without_alerts(store: Store) -> None:
    source_id, w1 = _setup(store)
    hit = WatchlistHit(watchlist_id=w1, snippet="Alpha.", spans=())
    report = store.apply_poll(
        PollRecord(source_id, ok_update(), (art(1, hits=(hit,)),), alert=False), now=NOW
    )
    assert (report.hits_added, report.alerts_enqueued) == (1, 0)
    assert [h.alerted for h in store.list_hits()] == [False]


def test_a_concurrent_writer_between_check_and_insert_costs_only_its_article(store: Store) -> None:
    """The batch INSERT fails on the unique URL when another writer stored one of its articles after the
    duplicate check; the batch is rolled back to its savepoint and the others still go in, with their hits."""
    from monitor.store._ingest_rows import NewRows

    source_id, w1 = _setup(store)
    hit = WatchlistHit(watchlist_id=w1, snippet="Alpha.", spans=())
    arts = [art(1, hits=(hit,)), art(2), art(3, hits=(hit,))]
    with store.session() as session:
        rows = NewRows(session, source_id, arts, NOW)  # the duplicate check runs here
        assert rows.duplicates == 0
        # another process stores article 2 and commits before our INSERT
        store.apply_poll(PollRecord(source_id, ok_update(), (arts[1],), alert=False), now=NOW)
        inserted = list(rows)
        assert [a.url for a, _id in inserted] == [arts[0].url, arts[2].url]
        assert rows.duplicates == 1
        assert len({article_id for _a, article_id in inserted}) == 2
    assert store.counts()["articles"] == 3
    again = store.apply_poll(PollRecord(source_id, ok_update(), tuple(arts), alert=False), now=NOW)
    assert (again.articles_added, again.duplicates, again.hits_added) == (0, 3, 0)


def test_quiet_hits_of_one_poll_are_all_stored_with_their_article(store: Store) -> None:
    source_id, w1 = _setup(store)
    w2 = {w.name: w.id for w in store.list_watchlists()}["w2"]
    one = WatchlistHit(watchlist_id=w1, snippet="Alpha.", spans=(Span(0, 5),))
    two = WatchlistHit(watchlist_id=w2, snippet="Beta.", spans=(Span(0, 4),))
    arts = (art(1, hits=(one, two)), art(2), art(3, hits=(two,)))
    report = store.apply_poll(PollRecord(source_id, ok_update(), arts, alert=False), now=NOW)
    assert (report.articles_added, report.hits_added, report.alerts_enqueued) == (3, 3, 0)
    assert report.hits_by_watchlist == {w1: 1, w2: 2}
    got = sorted((h.url, h.snippet, h.spans, h.alerted) for h in store.list_hits())
    assert got == [
        (arts[0].url, "Alpha.", ((0, 5),), False),
        (arts[0].url, "Beta.", ((0, 4),), False),
        (arts[2].url, "Beta.", ((0, 4),), False),
    ]


def test_failure_updates_error_state_and_success_resets(store: Store) -> None:
    source_id, _ = _setup(store)
    fail = SourceUpdate(
        success=False, next_check_at=NOW + timedelta(minutes=2), current_interval_s=900, error="HTTP 500"
    )
    store.apply_poll(PollRecord(source_id, fail), now=NOW)
    store.apply_poll(PollRecord(source_id, fail), now=NOW)
    src = store.get_source("src")
    assert (src.error_count, src.last_error, src.last_error_at) == (2, "HTTP 500", NOW)
    store.apply_poll(PollRecord(source_id, ok_update()), now=NOW)
    src = store.get_source("src")
    assert (src.error_count, src.last_error, src.polls) == (0, None, 1)
    gone = SourceUpdate(
        success=False, next_check_at=NOW, current_interval_s=900, error="410", deactivate_reason="gone: 410"
    )
    store.apply_poll(PollRecord(source_id, gone), now=NOW)
    assert store.claim_due_sources(now=NOW + timedelta(days=1), limit=10) == []
    assert store.get_source("src").deactivated_reason == "gone: 410"


def _source_state(store: Store, name: str) -> dict[str, object]:
    from monitor.store.models import Source

    skip = {"id", "name", "url", "created_at", "origin"}
    with store.session() as session:
        row = session.scalars(select(Source).where(Source.name == name)).one()
        return {c.key: getattr(row, c.key) for c in Source.__table__.columns if c.key not in skip}


def test_batched_source_updates_equal_one_poll_at_a_time(store: Store) -> None:
    """``apply_polls`` (one UPDATE per shape of change, rows not loaded) leaves each source exactly as
    applying the same polls one at a time does, repeats of a source in one batch included."""
    store.sync_config([SourceSpec(name=n, url=f"https://{n}.example/feed") for n in "abcd"], [], now=NOW)
    ids = {s.name: s.id for s in store.list_sources(now=NOW)}
    later = NOW + timedelta(minutes=5)

    def polls(sid: int) -> list[tuple[PollRecord, datetime]]:
        fail = SourceUpdate(success=False, next_check_at=NOW, current_interval_s=60, error="HTTP 503")
        ok = SourceUpdate(
            success=True, next_check_at=later, current_interval_s=600, etag='"e1"', last_modified="Fri",
            body_hash="b1", recent_entry_times=(NOW,), new_entries=1, parsed=True, problem="ill-formed",
        )
        unchanged = SourceUpdate(success=True, next_check_at=later, current_interval_s=900)
        gone = SourceUpdate(
            success=False, next_check_at=later, current_interval_s=900, error="410", deactivate_reason="gone"
        )
        # the shapes of change interleave, so grouping them must not reorder one source's polls
        steps = ((ok, NOW), (fail, NOW), (unchanged, later), (fail, later), (gone, later))
        return [(PollRecord(sid, u), t) for u, t in steps]

    for sid in (ids["a"], ids["b"]):  # one at a time
        for record, t in polls(sid):
            store.apply_poll(record, now=t)
    # c: every poll in one batch (the same source repeated: applied in order); d: one poll per batch
    store.apply_polls(polls(ids["c"]))
    for record, t in polls(ids["d"]):
        store.apply_polls([(record, t)])
    expected = _source_state(store, "a")
    assert expected["polls"] == 2 and expected["error_count"] == 2 and expected["active"] is False
    assert (expected["etag"], expected["last_modified"], expected["body_hash"]) == ('"e1"', "Fri", "b1")
    assert expected["last_error"] == "410" and expected["deactivated_reason"] == "gone"
    assert expected["last_problem"] == "ill-formed" and expected["next_check_at"] == later
    assert _source_state(store, "b") == expected
    assert _source_state(store, "c") == expected
    assert _source_state(store, "d") == expected
    # a batch of distinct sources with different shapes of change
    mixed = [polls(ids[n])[i] for n, i in (("a", 0), ("b", 1), ("c", 2), ("d", 0))]
    store.apply_polls(mixed)
    assert _source_state(store, "b")["etag"] == '"e1"' and _source_state(store, "a")["error_count"] == 0
    assert _source_state(store, "d")["polls"] == 3 and _source_state(store, "c")["polls"] == 3


def test_claim_due_sources_leases(store: Store) -> None:
    _setup(store)
    first = store.claim_due_sources(now=NOW + timedelta(seconds=1), limit=10, lease_s=60)
    assert [s.name for s in first] == ["src"]
    assert store.claim_due_sources(now=NOW + timedelta(seconds=2), limit=10, lease_s=60) == []
    assert len(store.claim_due_sources(now=NOW + timedelta(seconds=120), limit=10, lease_s=60)) == 1
    store.set_source_enabled("src", False, now=NOW)
    assert store.claim_due_sources(now=NOW + timedelta(hours=1), limit=10) == []


def test_outbox_claim_mark_retry_fail_requeue(store: Store) -> None:
    source_id, w1 = _setup(store)
    hit = WatchlistHit(watchlist_id=w1, snippet="Alpha.", spans=())
    store.apply_poll(PollRecord(source_id, ok_update(), (art(1, hits=(hit,)),)), now=NOW)
    rows = store.claim_alerts(now=NOW, limit=10, lease_s=60, worker="t")
    assert sorted(r.channel for r in rows) == ["console", "hook"]
    assert rows[0].payload["title"] == "Title 1" and rows[0].payload["watchlist"] == "w1"
    assert store.claim_alerts(now=NOW, limit=10, lease_s=60, worker="t") == []  # leased
    by_channel = {r.channel: r.id for r in rows}
    store.mark_sent([by_channel["console"]], now=NOW, external_id="x1")
    store.mark_retry([by_channel["hook"]], error="HTTP 503", next_attempt_at=NOW + timedelta(seconds=30))
    assert store.claim_alerts(now=NOW + timedelta(seconds=10), limit=10, lease_s=60, worker="t") == []
    again = store.claim_alerts(now=NOW + timedelta(seconds=31), limit=10, lease_s=60, worker="t")
    assert [r.id for r in again] == [by_channel["hook"]] and again[0].attempts == 2
    store.mark_failed([by_channel["hook"]], error="HTTP 404 channel_not_found")
    failed = store.list_alerts(status="failed")
    assert [(a.id, a.last_error) for a in failed] == [(by_channel["hook"], "HTTP 404 channel_not_found")]
    assert store.requeue_failed(ids=None, now=NOW) == 1
    assert store.outbox_summary(now=NOW + timedelta(seconds=1))[0] == 1


def test_hits_outlive_removed_article_source(store: Store) -> None:
    source_id, w1 = _setup(store)
    hit = WatchlistHit(watchlist_id=w1, snippet="Alpha.", spans=(Span(0, 5),))
    store.apply_poll(PollRecord(source_id, ok_update(), (art(1, hits=(hit,)),)), now=NOW)
    store.remove_source("src")
    hits = store.list_hits(watchlist="w1")
    assert [(h.title, h.spans) for h in hits] == [("Title 1", ((0, 5),))]
    assert store.export_articles(watchlist="w1")[0][0] == "https://news.example/1"


def test_two_processes_upgrading_a_new_database_at_once_both_succeed(db_url: str) -> None:
    """Replicas (or a CLI and a daemon) that start together migrate once; the other waits and finds the
    schema current. On SQLite this is the header-write lock, on PostgreSQL the advisory lock."""
    import subprocess
    import sys

    code = "import sys; from monitor.store import Store; s = Store(sys.argv[1]); s.upgrade(); s.close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE) for _ in range(3)]
    errors = [(p.wait(timeout=120), p.stderr.read().decode() if p.stderr else "") for p in procs]
    assert all(rc == 0 for rc, _ in errors), errors
    s = Store(db_url)
    try:
        assert s.current_revision() == head_revision()
    finally:
        s.close()
