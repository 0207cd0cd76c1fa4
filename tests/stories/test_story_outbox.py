"""Story assignment in the ingest transaction and delivery of story updates, on SQLite and PostgreSQL.

* two assigners on one database (two replicas, each with its own index) agree on stories: the second
  catches up from the database before deciding, so a member it ingests joins the first one's story and
  writes a ``story_update`` row instead of a second alert;
* a rolled-back transaction leaves nothing in the index;
* the dispatcher: a story alert names the other outlets; a later member is one console line; a
  ``silence`` channel marks updates delivered unsent; a ``digest`` channel lists them in its digest.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from monitor.core import Span, WatchlistHit
from monitor.notify import ConsoleNotifier
from monitor.pipeline import StoryService
from monitor.runtime import Dispatcher
from monitor.runtime._digest import ChannelPolicy, Schedule
from monitor.store import NewArticle, PollRecord, SourceSpec, SourceUpdate, Store, WatchlistSpec
from monitor.store.models import Alert
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


def test_two_replicas_agree_through_the_database(db_url: str) -> None:
    store = Store(db_url)
    try:
        sources, wl = _setup(store, ("console",))
        first, second = StoryService(), StoryService()  # two processes, two indexes
        store.apply_poll(_record(sources["wire"], "wire", wl), now=NOW, stories=first)
        store.apply_poll(
            _record(sources["herald"], "herald", wl), now=NOW + timedelta(hours=1), stories=second
        )
        assert len(second.index) == 2  # caught up with the wire article before deciding
        assert second.high_water == first.high_water + 1
        store.apply_poll(
            _record(sources["ledger"], "ledger", wl), now=NOW + timedelta(hours=2), stories=first
        )
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


def test_a_rolled_back_ingest_is_forgotten(db_url: str) -> None:
    store = Store(db_url)
    try:
        sources, wl = _setup(store, ("console",))
        stories = StoryService()
        good = _record(sources["wire"], "wire", wl)
        # The same watchlist hit twice violates uq_hits_article_watchlist after the story was decided.
        art = replace(good.articles[0], hits=good.articles[0].hits * 2)
        with pytest.raises(IntegrityError):
            store.apply_poll(PollRecord(good.source_id, good.update, (art,)), now=NOW, stories=stories)
        assert len(stories.index) == 0 and stories.high_water == 0  # nothing of it kept
        assert store.list_stories() == []
        report = store.apply_poll(_record(sources["herald"], "herald", wl), now=NOW, stories=stories)
        (herald,) = report.article_ids
        assert herald in stories.index and stories.high_water >= herald
        assert [s.id for s in store.list_stories()] == [stories.index.story_of(herald)]
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
        store.apply_poll(_record(sources["wire"], "wire", wl), now=NOW, stories=stories)
        store.apply_poll(_record(sources["herald"], "herald", wl), now=NOW, stories=stories)
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
        store.apply_poll(_record(sources["ledger"], "ledger", wl), now=later, stories=stories)
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
