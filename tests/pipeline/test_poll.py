"""Pipeline.poll against a real local HTTP server and a real store: the polling behaviours of issue 3."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from monitor.fetch import FetchPolicy, HttpFetcher
from monitor.match import EngineHolder
from monitor.match import WatchlistSpec as MatchSpec
from monitor.pipeline import InlineRunner, Pipeline, PipelineOptions, PollSummary
from monitor.store import SourceRow, SourceSpec, Store, WatchlistSpec
from tests._support import Clock
from tests.fetch.httpserver import LocalServer, Request, Response

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def rss(*items: tuple[str, str, str]) -> bytes:
    """items: (guid, title, link)."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid isPermaLink='false'>{g}</guid>"
        f"<pubDate>Fri, 20 Nov 2026 08:00:00 +0100</pubDate></item>"
        for g, t, link in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Test</title>{body}</channel></rss>'.encode()
    )


def page(title: str, *paras: str) -> bytes:
    ps = "".join(f"<p>{p}</p>" for p in paras)
    return (
        f"<html><head><title>{title}</title></head><body><nav>Home News Sport</nav>"
        f"<article><h1>{title}</h1>{ps}</article><footer>Copyright 2026 Test Outlet</footer></body></html>"
    ).encode()


GLACIER = page(
    "Glacier lake warning issued for Tarnvik valley",
    "Authorities in the Tarnvik valley issued a flood warning on Friday after meltwater from the Osel "
    "glacier raised the level of the lake behind the moraine by two metres in a week.",
    "Residents of the three villages below the lake were told to prepare to leave at short notice, and the "
    "valley road was closed to visitors until engineers finish inspecting the natural dam.",
)
BAKERY = page(
    "Village bakery wins regional bread prize",
    "A family bakery in Holmsund won the regional bread prize on Thursday with a sourdough rye that the "
    "judges called the best loaf they had tasted in a decade of judging the competition.",
    "The owners said they would use the prize money to repair the old wood-fired oven that has baked the "
    "village's bread since the nineteen twenties and is now in need of new bricks.",
)


@dataclass
class Env:
    store: Store
    server: LocalServer
    pipeline: Pipeline
    clock: Clock

    def source(self, name: str = "feed") -> SourceRow:
        return self.store.get_source(name)

    async def poll(self, name: str = "feed") -> PollSummary:
        return await self.pipeline.poll(self.source(name))


@pytest.fixture
async def env(db_url: str) -> AsyncIterator[Env]:
    store = Store(db_url)
    store.upgrade()
    clock = Clock(T0)
    holder = EngineHolder()
    policy = FetchPolicy(allow_private_networks=True, connect_timeout_s=1.0, total_timeout_s=3.0)
    async with LocalServer() as server, HttpFetcher(policy=policy) as fetcher:
        pipeline = Pipeline(
            store=store,
            fetcher=fetcher,
            engine=holder,
            cpu=InlineRunner(),
            options=PipelineOptions(policy=policy),
            clock=clock,
        )
        yield Env(store, server, pipeline, clock)
    store.close()


async def setup(
    env: Env,
    *,
    first_poll: str = "alert",
    feeds: dict[str, str] | None = None,
    query: str = "glacier AND flood",
    trust: bool = False,
) -> None:
    feeds = feeds or {"feed": "/feed.xml"}
    specs = [
        SourceSpec(
            name=n, url=env.server.url(p), first_poll=first_poll, options={"trust_feed_content": trust}
        )
        for n, p in feeds.items()
    ]
    env.store.sync_config(specs, [WatchlistSpec(name="flood", query=query)], now=env.clock())
    rows = env.store.list_watchlists()
    await env.pipeline.engine.rebuild([MatchSpec(id=r.id, name=r.name, query=r.query) for r in rows])
    env.server.route("/glacier", Response(headers=[("Content-Type", "text/html")], body=GLACIER))
    env.server.route("/bakery?utm_source=rss", Response(headers=[("Content-Type", "text/html")], body=BAKERY))
    env.server.route("/bakery", Response(headers=[("Content-Type", "text/html")], body=BAKERY))


FEED2 = rss(("g1", "Glacier lake warning", "/glacier"), ("g2", "Bakery prize", "/bakery?utm_source=rss"))


async def test_new_articles_hits_and_alerts(env: Env) -> None:
    await setup(env)
    env.server.route("/feed.xml", Response(headers=[("Content-Type", "application/rss+xml")], body=FEED2))
    await env.poll()
    assert env.store.counts()["articles"] == 2
    hits = env.store.list_hits()
    assert [h.title for h in hits] == ["Glacier lake warning issued for Tarnvik valley"]
    assert "«" not in hits[0].snippet and "flood warning" in hits[0].snippet
    assert env.store.outbox_summary(now=env.clock())[0] == 1
    assert env.server.url("/bakery") in {u for u, _ in env.store.export_articles()}


async def test_unchanged_body_without_validators_skips_parsing(env: Env) -> None:
    await setup(env)
    env.server.route("/feed.xml", Response(headers=[("Content-Type", "application/rss+xml")], body=FEED2))
    await env.poll()
    pages_before = len(env.server.hits("/glacier"))
    env.clock.advance(hours=1)
    await env.poll()
    assert len(env.server.hits("/glacier")) == pages_before
    assert env.source().polls == 2 and env.source().error_count == 0


async def test_etag_304(env: Env) -> None:
    await setup(env)

    def feed(req: Request) -> Response:
        if req.headers.get("if-none-match") == '"v1"':
            return Response(status=304, headers=[("ETag", '"v1"')])
        return Response(headers=[("Content-Type", "application/rss+xml"), ("ETag", '"v1"')], body=FEED2)

    env.server.route("/feed.xml", feed)
    await env.poll()
    assert env.source().etag == '"v1"'
    env.clock.advance(hours=1)
    summary = await env.poll()
    assert summary.not_modified is True
    assert env.store.counts()["articles"] == 2


async def test_permanent_redirect_updates_source_url(env: Env) -> None:
    await setup(env)
    env.server.route("/feed.xml", Response(status=301, headers=[("Location", env.server.url("/moved.xml"))]))
    env.server.route("/moved.xml", Response(headers=[("Content-Type", "application/rss+xml")], body=FEED2))
    await env.poll()
    assert env.source().url == env.server.url("/moved.xml")
    assert env.store.counts()["articles"] == 2


async def test_gone_deactivates_with_reason(env: Env) -> None:
    await setup(env)
    env.server.route("/feed.xml", Response(status=410))
    await env.poll()
    src = env.source()
    assert not src.active and src.deactivated_reason and "410" in src.deactivated_reason
    assert env.store.claim_due_sources(now=env.clock() + timedelta(days=30), limit=10) == []


async def test_failure_backoff_then_recovery(env: Env) -> None:
    await setup(env)
    env.server.route("/feed.xml", Response(status=500))
    delays = []
    for _ in range(4):
        await env.poll()
        src = env.source()
        delays.append((src.next_check_at - env.clock()).total_seconds())
        env.clock.now = src.next_check_at
    src = env.source()
    assert src.error_count == 4 and src.last_error and "500" in src.last_error
    assert delays == sorted(delays) and delays[-1] > delays[0] * 3  # exponential, with jitter
    env.server.route("/feed.xml", Response(headers=[("Content-Type", "application/rss+xml")], body=FEED2))
    await env.poll()
    src = env.source()
    assert (src.error_count, src.last_error) == (0, None)
    assert env.store.counts()["articles"] == 2


async def test_retry_after_is_honoured(env: Env) -> None:
    await setup(env)
    env.server.route("/feed.xml", Response(status=429, headers=[("Retry-After", "7200")]))
    await env.poll()
    assert env.source().next_check_at >= env.clock() + timedelta(seconds=7200)


async def test_same_article_through_two_feeds_is_stored_and_alerted_once(env: Env) -> None:
    await setup(env, feeds={"a": "/a.xml", "b": "/b.xml"})
    env.server.route("/a.xml", Response(headers=[("Content-Type", "application/rss+xml")], body=FEED2))
    # the second feed links the same page with tracking parameters and a different guid
    other = rss(("other-guid", "Glacier", "/glacier?utm_campaign=x#top"))
    env.server.route("/b.xml", Response(headers=[("Content-Type", "application/rss+xml")], body=other))
    await env.poll("a")
    await env.poll("b")
    assert env.store.counts()["articles"] == 2
    assert env.store.outbox_summary(now=env.clock())[0] == 1


async def test_first_poll_store_then_alerts_only_new(env: Env) -> None:
    await setup(env, first_poll="store")
    env.server.route("/feed.xml", Response(headers=[("Content-Type", "application/rss+xml")], body=FEED2))
    await env.poll()
    assert [h.alerted for h in env.store.list_hits()] == [False]
    assert env.store.outbox_summary(now=env.clock())[0] == 0
    env.server.route(
        "/glacier2",
        Response(
            headers=[("Content-Type", "text/html")], body=GLACIER.replace(b"two metres", b"three metres")
        ),
    )
    feed3 = rss(("g3", "Glacier update", "/glacier2"), ("g1", "Glacier lake warning", "/glacier"))
    env.server.route("/feed.xml", Response(headers=[("Content-Type", "application/rss+xml")], body=feed3))
    env.clock.advance(hours=1)
    await env.poll()
    assert env.store.outbox_summary(now=env.clock())[0] == 1


async def test_first_poll_skip_records_without_matching(env: Env) -> None:
    await setup(env, first_poll="skip")
    env.server.route("/feed.xml", Response(headers=[("Content-Type", "application/rss+xml")], body=FEED2))
    await env.poll()
    assert env.store.counts()["articles"] == 2
    assert env.store.list_hits() == []
    assert env.server.hits("/glacier") == []  # no page fetched for the back catalogue


async def test_trusted_feed_content_fetches_no_page(env: Env) -> None:
    await setup(env, trust=True)
    item = (
        "<item><title>Glacier lake warning</title><link>/glacier</link><guid>t1</guid>"
        "<description><![CDATA[<p>Authorities issued a flood warning after meltwater from the glacier raised "
        "the lake by two metres in a single week, and told residents to prepare to leave.</p>]]>"
        "</description></item>"
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{item}</channel></rss>'.encode()
    env.server.route("/feed.xml", Response(headers=[("Content-Type", "application/rss+xml")], body=feed))
    await env.poll()
    assert env.server.hits("/glacier") == []
    assert len(env.store.list_hits()) == 1


async def test_broken_feed_records_error_and_keeps_going(env: Env) -> None:
    await setup(env)
    env.server.route("/feed.xml", Response(headers=[("Content-Type", "text/html")], body=b"<html>not a feed"))
    summary = await env.poll()
    assert summary.ok is False
    src = env.source()
    assert src.error_count == 1 and src.last_error and "feed.xml" in src.last_error
