"""Fixtures for the delivery tests: the real store (SQLite, and PostgreSQL when configured), real local
receivers (scriptable HTTP server, aiosmtpd), real notifiers, a hand-moved clock, and alert rows written
the way the pipeline writes them (``Store.apply_poll``)."""

from __future__ import annotations

import email
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from typing import Any

import pytest

from monitor.core import Span, WatchlistHit
from monitor.notify import EmailNotifier, Notifier, SlackNotifier, WebhookNotifier
from monitor.runtime import Dispatcher
from monitor.store import NewArticle, PollRecord, SourceSpec, SourceUpdate, Store, WatchlistSpec
from tests._support import Clock, restore_logging
from tests.notify._servers import LocalController, Recorded, RecordingServer, SMTPRecorder

__all__ = ["Clock", "restore_logging"]  # re-exported; restore_logging is an autouse fixture

NOW = datetime(2026, 11, 20, 10, 20, tzinfo=UTC)


@dataclass
class Env:
    store: Store
    clock: Clock
    source_id: int = 0
    watchlists: dict[str, int] = field(default_factory=dict)
    articles: int = 0

    def setup(self, *specs: WatchlistSpec) -> None:
        self.store.sync_config(
            [SourceSpec(name="src", url="https://src.example/feed")], list(specs), now=self.clock()
        )
        self.source_id = self.store.list_sources(now=self.clock())[0].id
        self.watchlists = {w.name: w.id for w in self.store.list_watchlists()}

    def enqueue(self, n: int = 1, *, hits: tuple[str, ...] = ("w",), title: str = "Story") -> list[str]:
        """``n`` new articles, each hit by the watchlists ``hits``; answers their titles."""
        titles = []
        arts = []
        for _ in range(n):
            self.articles += 1
            k = self.articles
            text = f"{title} {k}: the harbour strike goes on."
            titles.append(f"{title} {k}")
            arts.append(
                NewArticle(
                    url=f"https://news.example/{k}",
                    guid=None,
                    title=f"{title} {k}",
                    published=date(2026, 11, 20),
                    date_source="feed",
                    text=text,
                    content_hash=f"{k:064x}",
                    language="en",
                    extractor="test",
                    hits=tuple(
                        WatchlistHit(
                            self.watchlists[h], text, (Span(text.index("strike"), text.index("strike") + 6),)
                        )
                        for h in hits
                    ),
                )
            )
        update = SourceUpdate(
            success=True, next_check_at=self.clock() + timedelta(hours=1), current_interval_s=900
        )
        self.store.apply_poll(PollRecord(self.source_id, update, tuple(arts)), now=self.clock())
        return titles

    def statuses(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.store.list_alerts(limit=100_000):
            out[row.status] = out.get(row.status, 0) + 1
        return out


@pytest.fixture
def env(db_url: str) -> Iterator[Env]:
    store = Store(db_url)
    store.upgrade()
    try:
        yield Env(store=store, clock=Clock(NOW))
    finally:
        store.close()


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    server = RecordingServer().start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Smtp:
    handler: SMTPRecorder
    port: int

    def messages(self) -> list[Message]:
        return [email.message_from_bytes(raw) for _f, _t, raw in self.handler.messages]


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    handler = SMTPRecorder()
    controller = LocalController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield Smtp(handler, controller.port)
    finally:
        controller.stop()


@pytest.fixture
async def notifiers(http_server: RecordingServer, smtp: Smtp) -> AsyncIterator[dict[str, Notifier]]:
    made: dict[str, Notifier] = {
        "hook": WebhookNotifier(name="hook", url=http_server.url("/hook"), timeout_s=0.5),
        "slack": SlackNotifier(
            name="slack", webhook_url=http_server.url("/slack"), min_interval_s=0.0, timeout_s=0.5
        ),
        "mail": EmailNotifier(
            name="mail",
            host="127.0.0.1",
            port=smtp.port,
            security="none",
            sender="monitor@example.org",
            recipients=["desk@example.org"],
            timeout_s=2.0,
        ),
    }
    yield made
    for n in made.values():
        await n.aclose()


def dispatcher(env: Env, notifiers: dict[str, Notifier], **kwargs: Any) -> Dispatcher:
    kwargs.setdefault("rng", __import__("random").Random(7))
    return Dispatcher(store=env.store, notifiers=notifiers, clock=env.clock, **kwargs)


def on(server: RecordingServer, path: str) -> list[Recorded]:
    return [r for r in server.requests if r.path == path]


def hook_payloads(server: RecordingServer) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in on(server, "/hook")]
