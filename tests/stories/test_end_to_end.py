"""Issue 7 end to end: five outlets report one event; one watchlist matches; the real daemon pass
(``Daemon.run_once``: fetch, parse, extract, match, story assignment, store, dispatcher) delivers ONE
alert per channel naming the four other outlets; a sixth outlet later updates it, never re-alerts."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from monitor.runtime import Daemon
from monitor.settings import load_settings
from monitor.store import Store
from monitor.store.models import Alert, Article, Story
from tests.conftest import StaticServer
from tests.notify._servers import RecordingServer, Reply
from tests.stories._outlets import outlets, rss

SLACK_TS = "1700000000.000100"


@pytest.fixture
def receiver() -> Iterator[RecordingServer]:
    server = RecordingServer().start()
    server.default = Reply(200, {"ok": True, "channel": "C0STORY", "ts": SLACK_TS})
    try:
        yield server
    finally:
        server.stop()


def _write_feeds(server: StaticServer, names: list[str], *, when: datetime) -> None:
    for name, items in outlets().items():
        folder = server.root / name
        folder.mkdir(exist_ok=True)
        shown = items if name in names else []
        feed = folder / "feed.xml"
        before = feed.stat().st_mtime if feed.exists() else 0.0
        feed.write_text(rss(server.base, name, shown, when=when), encoding="utf-8")
        # The static server answers If-Modified-Since to the second: a rewrite within the same second as
        # the previous write would be served as 304 Not Modified, so move the new file's mtime past it.
        stamp = max(time.time(), before + 2.0)
        os.utime(feed, (stamp, stamp))


def _config(tmp_path: Path, server: StaticServer, receiver: RecordingServer, db_url: str) -> Path:
    sources = "".join(
        f"""
  - name: {name}
    url: {server.url(f"{name}/feed.xml")}
    first_poll: alert
    trust_feed_content: true
"""
        for name in outlets()
    )
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"""
database_url: "{db_url}"
log_format: json
http_port: null
fetch:
  allow_private_networks: true
channels:
  hook:
    type: webhook
    url: {receiver.url("/hook")}
  slack:
    type: slack
    token: xoxb-test-token-for-stories
    channel: C0STORY
    api_base: {receiver.url("/api")}
    min_interval: 0.01
sources:{sources}
watchlists:
  - name: port-incidents
    query: 'Kelmsport AND (tanker OR fire)'
    channels: [hook, slack]
stories:
  state_file: {tmp_path / "stories.npz"}
""",
        encoding="utf-8",
    )
    return cfg


def _run_once(cfg: Path) -> None:
    async def go() -> None:
        daemon = Daemon(load_settings(str(cfg)))
        try:
            await daemon.run_once()
        finally:
            await daemon.aclose()

    asyncio.run(go())


def _posts(receiver: RecordingServer, path: str) -> list[dict[str, Any]]:
    return [r.json() for r in receiver.requests if r.path == path]


def test_five_outlets_one_alert_then_an_update(
    tmp_path: Path, static_server: StaticServer, receiver: RecordingServer, db_url: str
) -> None:
    first_five = ["meridian-press", "coast-herald", "daily-ledger", "harbour-times", "estuary-news"]
    _write_feeds(static_server, first_five, when=datetime.now(UTC))
    cfg = _config(tmp_path, static_server, receiver, db_url)

    _run_once(cfg)

    hook = _posts(receiver, "/hook")
    assert len(hook) == 1, hook  # exactly one alert, not five
    alert = hook[0]
    assert alert["type"] == "alert"
    assert alert["watchlists"][0]["name"] == "port-incidents"
    others = set(first_five) - {alert["source"]}
    assert set(alert["also_reported_by"]) == others
    assert len(alert["also_reported_by"]) == 4
    slack = _posts(receiver, "/api/chat.postMessage")
    assert len(slack) == 1
    slack_text = json.dumps(slack[0]["blocks"])
    assert "Also reported by" in slack_text
    assert all(name in slack_text for name in others)

    store = Store(db_url)
    try:
        with store.session() as s:
            stories = s.scalars(select(Story)).all()
            event = [st for st in stories if st.member_count > 1]
            assert len(event) == 1, [(st.id, st.title, st.member_count) for st in stories]
            story = event[0]
            assert story.member_count == 5 and story.source_count == 5
            copies = s.scalars(select(Article).where(Article.copy_of_id.is_not(None))).all()
            assert len(copies) == 2  # the two wire copies
            # Sources are polled concurrently, so which outlet's article came first (and so gave the story
            # its id) varies; the copies point at the first wire text stored, which is in the story.
            (original_id,) = {a.copy_of_id for a in copies}
            original = s.get(Article, original_id)
            assert original is not None and original.copy_of_id is None
            assert {a.story_id for a in [*copies, original]} == {story.id}
            assert min(a.id for a in [*copies, original]) == original_id
            lane = s.scalars(select(Article).where(Article.title.like("%cycling%"))).one()
            assert lane.story_id != story.id
            kinds = sorted(a.kind for a in s.scalars(select(Alert)))
            assert kinds == ["hit", "hit"] + ["story_update"] * 8  # 4 later members x 2 channels
            assert {a.status for a in s.scalars(select(Alert))} == {"sent"}
        hits = store.list_story_hits(story=story.id)
        assert len(hits) == 5 and {h.story_id for h in hits} == {story.id}
    finally:
        store.close()

    # A sixth outlet reports later: an update of the same alert, not a new alert.
    _write_feeds(static_server, [*first_five, "sixth"], when=datetime.now(UTC))
    before = len(receiver.requests)
    _run_once(cfg)
    later = receiver.requests[before:]
    paths = [r.path for r in later]
    assert "/api/chat.postMessage" not in paths, paths
    updates = [r.json() for r in later if r.path == "/api/chat.update"]
    assert len(updates) == 1 and updates[0]["ts"] == SLACK_TS
    assert "sixth" in json.dumps(updates[0]["blocks"])
    hook_later = [r.json() for r in later if r.path == "/hook"]
    assert len(hook_later) == 1
    update = hook_later[0]
    assert update["type"] == "story_update"
    assert update["member"]["source"] == "sixth"
    assert update["parent_idempotency_key"] == alert["idempotency_key"]
    assert set(update["also_reported_by"]) == set(first_five) - {alert["source"]} | {"sixth"}
    assert [r.headers.get("x-monitor-event") for r in later if r.path == "/hook"] == ["story_update"]
