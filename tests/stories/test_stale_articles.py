"""Articles already older than the story window when they are decided (a new source's back catalogue).

They are decided like any other (old copies arriving together form one story) and leave the index when
the stage's transaction commits, in the deciding process and in one that catches up from the database;
current articles are kept and group as before.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from monitor.pipeline import StoryService
from monitor.store import PollRecord, Store
from tests.stories.test_story_outbox import NOW, _record, _setup


def _dated(record: PollRecord, published: date, url: str) -> PollRecord:
    (art,) = record.articles
    return replace(record, articles=(replace(art, published=published, url=url, content_hash="h-" + url),))


def test_back_catalogue_articles_group_then_leave_the_index_at_commit(db_url: str) -> None:
    store = Store(db_url)
    try:
        sources, wl = _setup(store, ("console",))
        old = (NOW - timedelta(days=10)).date()  # outside the 72 h window of NOW
        stories = StoryService()
        for outlet in ("wire", "herald"):  # the same story, ten days old, from two outlets, one stage run
            store.apply_poll(
                _dated(_record(sources[outlet], outlet, wl), old, f"https://{outlet}.example/old"),
                now=NOW,
                defer_stories=True,
            )
        stage = store.assign_stories(stories, now=NOW)
        assert stage.articles == 2 and store.pending_stories() == 0
        assert [s.member_count for s in store.list_stories()] == [2]  # grouped as before
        assert len(stories.index) == 0  # and nothing kept: the next prune would drop them anyway

        # current articles are kept and group, with this index and with a second one catching up
        store.apply_poll(_record(sources["wire"], "wire", wl), now=NOW, defer_stories=True)
        store.assign_stories(stories, now=NOW)
        assert len(stories.index) == 1
        other = StoryService()
        store.apply_poll(_record(sources["ledger"], "ledger", wl), now=NOW, defer_stories=True)
        store.assign_stories(other, now=NOW + timedelta(minutes=5))
        assert len(other.index) == 2  # the current wire article and its own; not the two old ones
        assert sorted(s.member_count for s in store.list_stories()) == [2, 2]
    finally:
        store.close()
