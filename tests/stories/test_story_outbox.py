"""The story stage and delivery of story updates, on SQLite and PostgreSQL.

* an ingest only marks its articles pending: no story and no alert until the stage runs;
* two assigners on one database (two replicas, each with its own index) agree on stories: the second
  catches up from the database (in decision order) before deciding, so a member it decides joins the
  first one's story and writes a ``story_update`` row instead of a second alert;
* a rolled-back stage transaction leaves nothing in the index and the articles pending; the runtime's
  stage then isolates an article whose story cannot be decided and alerts it without one;
* the dispatcher: a story alert names the other outlets; a later member is one console line; a
  ``silence`` channel marks updates delivered unsent; a ``digest`` channel lists them in its digest.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from monitor.core import Span, WatchlistHit
from monitor.notify import ConsoleNotifier
from monitor.pipeline import StoryService
from monitor.runtime import Dispatcher
from monitor.runtime._digest import ChannelPolicy, Schedule
from monitor.runtime._stories import StoryLifecycle
from monitor.store import NewArticle, PollRecord, SourceSpec, SourceUpdate, Store, WatchlistSpec
from monitor.store._stories import StoryDecision, StoryInput, lock_stories
from monitor.store.models import Alert, Article
from monitor.stories import StoryConfig
from tests.stories._outlets import OTHER_D, OTHER_D_TITLE, OTHER_E, OTHER_E_TITLE, WIRE, WIRE_TITLE

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
OUTLETS = ("wire", "herald", "ledger")
TEXTS = {"wire": (WIRE_TITLE, WIRE), "herald": (OTHER_D_TITLE, OTHER_D), "ledger": (OTHER_E_TITLE, OTHER_E)}


def _setup(store: Store, channels: tuple[str, ...]) -> tuple[dict[str, int], int]:
    store.upgrade()
    store.sync_config(
        [SourceSpec(name=o, url=f"https://{o}.example/feed") for o in OUTLETS],
        [WatchlistSpec(name="port", query="Kelmsport", channels=channels)],
        now=NOW,
    )
    sources = {s.name: s.id for s in store.list_sources(now=NOW)}
    return sources, store.list_watchlists()[0].id


def _record(source_id: int, outlet: str, watchlist_id: int) -> PollRecord:
    title, paragraphs = TEXTS[outlet]
    text = "\n".join([title, "20261120", f"https://{outlet}.example/a", *paragraphs]) + "\n"
    hit = WatchlistHit(watchlist_id=watchlist_id, snippet=paragraphs[0], spans=(Span(0, 4),))
    art = NewArticle(
        url=f"https://{outlet}.example/a",
        guid=None,
        title=title,
        published=date(2026, 11, 20),
        date_source="feed",
        text=text,
        content_hash=f"h-{outlet}",
        language="en",
        extractor="test",
        hits=(hit,),
    )
    return PollRecord(
        source_id, SourceUpdate(success=True, next_check_at=NOW, current_interval_s=900.0), (art,)
    )


def _alerts(store: Store) -> list[tuple[str, int | None, str]]:
    with store.session() as s:
        return [(a.kind, a.parent_id, a.channel) for a in s.scalars(select(Alert).order_by(Alert.id))]


def _ingest(store: Store, record: PollRecord, stories: StoryService, *, now: datetime) -> int:
    """A poll's ingest, then one run of the story stage with ``stories``: the articles it decided."""
    store.apply_poll(record, now=now, defer_stories=True)
    return store.assign_stories(stories, now=now).articles


def test_ingest_leaves_articles_pending_until_the_stage_runs(db_url: str) -> None:
    store = Store(db_url)
    try:
        sources, wl = _setup(store, ("console",))
        report = store.apply_poll(_record(sources["wire"], "wire", wl), now=NOW, defer_stories=True)
        assert report.articles_added == 1 and report.alerts_enqueued == 0
        assert store.pending_stories() == 1 and _alerts(store) == [] and store.list_stories() == []
        stage = store.assign_stories(StoryService(), now=NOW)
        assert (stage.articles, stage.alerts) == (1, 1)
        assert store.pending_stories() == 0 and [k for k, _p, _c in _alerts(store)] == ["hit"]
        assert store.assign_stories(StoryService(), now=NOW).articles == 0  # nothing left: no-op
    finally:
        store.close()


def test_two_replicas_agree_through_the_database(db_url: str) -> None:
    store = Store(db_url)
    try:
        sources, wl = _setup(store, ("console",))
        first, second = StoryService(), StoryService()  # two processes, two indexes
        _ingest(store, _record(sources["wire"], "wire", wl), first, now=NOW)
        _ingest(store, _record(sources["herald"], "herald", wl), second, now=NOW + timedelta(hours=1))
        assert len(second.index) == 2  # caught up with the wire article before deciding
        assert second.high_water == first.high_water + 1
        _ingest(store, _record(sources["ledger"], "ledger", wl), first, now=NOW + timedelta(hours=2))
        stories = store.list_stories()
        assert len(stories) == 1 and stories[0].member_count == 3 and stories[0].source_count == 3
        kinds = _alerts(store)
        parent = kinds[0]
        assert parent[0] == "hit"
        with store.session() as s:
            parent_id = s.scalars(select(Alert.id).where(Alert.kind == "hit")).one()
        assert kinds[1:] == [("story_update", parent_id, "console")] * 2
    finally:
        store.close()


def test_catch_up_follows_decision_order_not_article_ids(db_url: str) -> None:
    """Article ids are handed out at insert time; a lower id may be decided later. A replica catching up
    must still see it (decision numbers, not ids, are its high-water mark)."""
    store = Store(db_url)
    try:
        sources, wl = _setup(store, ("console",))
        first, second = StoryService(), StoryService()
        store.apply_poll(_record(sources["wire"], "wire", wl), now=NOW, defer_stories=True)
        store.apply_poll(_record(sources["herald"], "herald", wl), now=NOW, defer_stories=True)
        with store.session() as s:  # the herald article (the higher id) is decided first
            s.execute(update(Article).where(Article.url.like("https://wire%")).values(story_pending=False))
        assert _ingest_pending(store, second) == 1
        with store.session() as s:
            s.execute(update(Article).where(Article.url.like("https://wire%")).values(story_pending=True))
        assert _ingest_pending(store, first) == 1  # decides the wire article after catching up
        assert _ingest(store, _record(sources["ledger"], "ledger", wl), second, now=NOW) == 1
        assert len(second.index) == 3  # the wire article came back through the catch-up
        assert len(store.list_stories()) == 1
    finally:
        store.close()


def _ingest_pending(store: Store, stories: StoryService) -> int:
    return store.assign_stories(stories, now=NOW).articles


class _FailsOn(StoryService):
    """An assigner whose decision for one article blows up after it was indexed (a bug, a bad text)."""

    def __init__(self, poison: str) -> None:
        super().__init__()
        self.poison = poison

    def assign(self, item: StoryInput) -> StoryDecision:
        decision = super().assign(item)
        if item.title == self.poison:
            raise RuntimeError("cannot decide")
        return decision


def test_a_failed_stage_is_forgotten_and_the_bad_article_alerted_alone(db_url: str) -> None:
    store = Store(db_url)
    try:
        sources, wl = _setup(store, ("console",))
        stories = _FailsOn(poison=OTHER_D_TITLE)
        store.apply_poll(_record(sources["wire"], "wire", wl), now=NOW, defer_stories=True)
        store.apply_poll(_record(sources["herald"], "herald", wl), now=NOW, defer_stories=True)
        with pytest.raises(RuntimeError):
            store.assign_stories(stories, now=NOW)
        # Both articles' decisions were in the failed transaction: neither is in the index nor stored.
        assert len(stories.index) == 0 and stories.high_water == 0
        assert store.pending_stories() == 2 and store.list_stories() == [] and _alerts(store) == []

        life = StoryLifecycle(store=store, config=StoryConfig(), path=Path("unused.npz"), clock=lambda: NOW)
        life.service = stories
        life._started = True  # no state file, nothing to warm: the index above is the process's
        totals = asyncio.run(life.assign_pending())
        assert (totals.articles, totals.alerts) == (2, 2)
        assert store.pending_stories() == 0
        with store.session() as s:
            rows = {a.article_id: a for a in s.scalars(select(Alert))}
            herald = s.scalars(select(Article).where(Article.title == OTHER_D_TITLE)).one()
            wire = s.scalars(select(Article).where(Article.title == WIRE_TITLE)).one()
            assert rows[wire.id].kind == "hit" and rows[wire.id].story_id == wire.story_id is not None
            assert herald.story_id is None and rows[herald.id].dedup_key == f"a{herald.id}:w{wl}:console"
    finally:
        store.close()


def test_polls_do_not_wait_for_the_story_stage(db_url: str) -> None:
    """The stage's cluster lock is not taken by ingests: a poll commits while a stage holds it."""
    if not db_url.startswith("postgresql"):
        pytest.skip("the advisory lock exists on PostgreSQL only (SQLite has one writer)")
    store = Store(db_url)
    try:
        sources, wl = _setup(store, ("console",))
        with store.session() as holder:
            lock_stories(holder)  # a stage run in progress elsewhere
            done = store.apply_poll(_record(sources["wire"], "wire", wl), now=NOW, defer_stories=True)
            assert done.articles_added == 1
        assert store.assign_stories(StoryService(), now=NOW).articles == 1
    finally:
        store.close()


def test_dispatcher_story_alert_updates_silence_and_digest(db_url: str) -> None:
    store = Store(db_url)
    out = io.StringIO()
    clock = [NOW]
    try:
        sources, wl = _setup(store, ("console", "quiet", "dig"))
        stories = StoryService()
        notifiers = {n: ConsoleNotifier(name=n, stream=out) for n in ("console", "quiet", "dig")}
        policies = {
            "console": ChannelPolicy(),
            "quiet": ChannelPolicy(story_updates="silence"),
            "dig": ChannelPolicy(story_updates="digest", digest=Schedule(every_s=3600)),
        }
        dispatcher = Dispatcher(store=store, notifiers=notifiers, policies=policies, clock=lambda: clock[0])
        _ingest(store, _record(sources["wire"], "wire", wl), stories, now=NOW)
        _ingest(store, _record(sources["herald"], "herald", wl), stories, now=NOW)
        asyncio.run(dispatcher.drain())
        text = out.getvalue()
        # Both members were in before the alert went out: one alert per channel, naming the other outlet.
        assert text.count("[port] Tanker fire shuts Kelmsport terminals") == 3
        assert text.count("also reported by: herald") == 3
        assert "↳" not in text
        assert {k for k, _p, _c in _alerts(store)} == {"hit", "story_update"}
        with store.session() as s:
            assert {a.status for a in s.scalars(select(Alert))} == {"sent"}
            done = dict(
                s.execute(select(Alert.channel, Alert.external_id).where(Alert.kind == "story_update")).all()
            )
            assert done["quiet"] == "silenced"  # routed before the alert went out: never sent
            assert str(done["console"]).startswith("folded:") and str(done["dig"]).startswith("folded:")

        # A third outlet later: a one-line follow-up on the console channel, nothing on "quiet", and
        # "dig" lists it in its next digest under the story.
        out.seek(0)
        out.truncate()
        later = NOW + timedelta(minutes=10)
        clock[0] = later
        _ingest(store, _record(sources["ledger"], "ledger", wl), stories, now=later)
        asyncio.run(dispatcher.drain())
        text = out.getvalue()
        assert text.count("↳ [port] also reported by ledger: Kelmsport port closed to tankers") == 1
        assert "monitor digest" not in text
        with store.session() as s:
            rows = {
                a.channel: a
                for a in s.scalars(select(Alert).where(Alert.kind == "story_update"))
                if a.article_id == max(x.article_id or 0 for x in s.scalars(select(Alert)))
            }
            assert rows["quiet"].status == "sent" and rows["quiet"].external_id == "silenced"
            assert rows["dig"].mode == "digest" and rows["dig"].status == "pending"
        clock[0] = NOW.replace(minute=0) + timedelta(hours=1, seconds=1)
        out.seek(0)
        out.truncate()
        asyncio.run(dispatcher.drain())
        digest = out.getvalue()
        assert "monitor digest: 1 alert in 1 story" in digest
        assert "Kelmsport port closed to tankers" in digest
    finally:
        store.close()
