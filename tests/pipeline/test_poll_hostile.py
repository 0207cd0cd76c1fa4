"""Issue 3's hostile and broken servers, through ``Pipeline.poll`` into the store: what each leaves behind.

``tests/fetch`` shows what the fetcher raises; here a real local server, a real store (SQLite, and
PostgreSQL when configured) and the pipeline show the stored outcome: the error and its time, the
failure count and the backoff, a deactivation, a moved URL, nothing ingested from a refused body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from monitor.fetch import FetchPolicy, HttpFetcher, Resolver
from monitor.match import EngineHolder
from monitor.pipeline import InlineRunner, Pipeline, PipelineOptions
from monitor.store import PollRecord, SourceSpec, SourceUpdate, Store
from monitor.store.models import Source
from tests._support import Clock
from tests.fetch.httpserver import (
    BacklogFullServer,
    LocalServer,
    Response,
    gzip_bomb,
    regrouped,
    streamed,
)
from tests.pipeline.test_poll import BAKERY, FEED2, GLACIER, T0, Env

RSS = [("Content-Type", "application/rss+xml")]
LOCAL = FetchPolicy(allow_private_networks=True, connect_timeout_s=1.0, total_timeout_s=3.0)


@asynccontextmanager
async def make_env(
    db_url: str, *, policy: FetchPolicy = LOCAL, resolver: Resolver | None = None
) -> AsyncIterator[Env]:
    store = Store(db_url)
    store.upgrade()
    clock = Clock(T0)
    try:
        async with LocalServer() as server, HttpFetcher(policy=policy, resolver=resolver) as fetcher:
            pipeline = Pipeline(
                store=store,
                fetcher=fetcher,
                engine=EngineHolder(),
                cpu=InlineRunner(),
                options=PipelineOptions(policy=policy),
                clock=clock,
            )
            yield Env(store, server, pipeline, clock)
    finally:
        store.close()


@pytest.fixture
async def env(db_url: str) -> AsyncIterator[Env]:
    async with make_env(db_url) as running:
        yield running


def add_source(env: Env, url: str, *, allow_private: bool | None = None) -> None:
    env.store.sync_config(
        [SourceSpec(name="feed", url=url, first_poll="store", allow_private_networks=allow_private)],
        [],
        now=env.clock(),
    )
    env.server.route("/glacier", Response(headers=[("Content-Type", "text/html")], body=GLACIER))
    env.server.route("/bakery", Response(headers=[("Content-Type", "text/html")], body=BAKERY))


def problem(env: Env) -> tuple[str | None, object]:
    """The stored feed problem and its time (``source ls`` reads them; the pipeline only writes)."""
    with env.store.session() as s:
        row = s.scalars(select(Source).where(Source.name == "feed")).one()
        return row.last_problem, row.last_problem_at


async def failed_once(env: Env, *, contains: str) -> None:
    summary = await env.poll()
    src = env.source()
    assert summary.ok is False and src.error_count == 1
    assert src.last_error is not None and contains in src.last_error, src.last_error
    assert src.last_error_at == env.clock() and src.next_check_at > env.clock()
    assert src.active and env.store.counts()["articles"] == 0


async def test_308_updates_the_stored_url(env: Env) -> None:
    add_source(env, env.server.url("/feed.xml"))
    env.server.route("/feed.xml", Response(status=308, headers=[("Location", env.server.url("/new.xml"))]))
    env.server.route("/new.xml", Response(headers=RSS, body=FEED2))
    await env.poll()
    assert env.source().url == env.server.url("/new.xml")
    env.clock.advance(hours=1)
    await env.poll()
    assert len(env.server.hits("/feed.xml")) == 1  # the next poll goes to the new address directly


async def test_redirect_loop_is_a_recorded_error(env: Env) -> None:
    add_source(env, env.server.url("/a.xml"))
    env.server.route("/a.xml", Response(status=302, headers=[("Location", env.server.url("/b.xml"))]))
    env.server.route("/b.xml", Response(status=302, headers=[("Location", env.server.url("/a.xml"))]))
    await failed_once(env, contains="redirect loop")
    assert env.source().url == env.server.url("/a.xml")


@pytest.mark.parametrize("form", ["seconds", "http-date"])
async def test_429_retry_after_in_both_forms(env: Env, form: str) -> None:
    add_source(env, env.server.url("/feed.xml"))
    # An HTTP date is read against the real time of the response, so it is made from the real clock.
    later = datetime.now(UTC) + timedelta(hours=3)
    value = "10800" if form == "seconds" else format_datetime(later, usegmt=True)
    env.server.route("/feed.xml", Response(status=429, headers=[("Retry-After", value)]))
    await failed_once(env, contains="429")
    assert env.source().next_check_at >= env.clock() + timedelta(hours=2, minutes=59)


async def test_500_backs_off_and_keeps_the_source(env: Env) -> None:
    add_source(env, env.server.url("/feed.xml"))
    env.server.route("/feed.xml", Response(status=500))
    await failed_once(env, contains="500")


async def test_connect_timeout_is_a_recorded_error(db_url: str) -> None:
    policy = FetchPolicy(allow_private_networks=True, connect_timeout_s=0.2, total_timeout_s=3.0)
    async with make_env(db_url, policy=policy) as env:
        hung = BacklogFullServer()
        try:
            add_source(env, hung.url("/feed.xml"))
            await failed_once(env, contains="connect timed out")
        finally:
            hung.close()


async def test_drip_one_byte_a_second_is_cut_and_recorded(db_url: str) -> None:
    policy = FetchPolicy(allow_private_networks=True, connect_timeout_s=1.0, total_timeout_s=1.5)
    async with make_env(db_url, policy=policy) as env:
        add_source(env, env.server.url("/feed.xml"))
        drip = streamed([bytes([b]) for b in FEED2], delay_s=1.0)
        env.server.route("/feed.xml", Response(200, [*RSS, ("Content-Length", str(len(FEED2)))], drip, False))
        await failed_once(env, contains="no complete response within 1.5s")


async def test_gzip_bomb_is_a_recorded_error(env: Env) -> None:
    add_source(env, env.server.url("/feed.xml"))
    bomb = streamed(lambda: regrouped(gzip_bomb(1 << 30), size=256 << 10))
    env.server.route("/feed.xml", Response(200, [*RSS, ("Content-Encoding", "gzip")], bomb))
    await failed_once(env, contains="decoded body exceeds")


async def test_oversize_body_is_a_recorded_error(db_url: str) -> None:
    policy = FetchPolicy(allow_private_networks=True, total_timeout_s=3.0, max_wire_bytes=64 << 10)
    async with make_env(db_url, policy=policy) as env:
        add_source(env, env.server.url("/feed.xml"))
        env.server.route("/feed.xml", Response(headers=RSS, body=FEED2 + b" " * (128 << 10)))
        await failed_once(env, contains="Content-Length")


async def test_entity_feed_is_refused_and_nothing_ingested(env: Env) -> None:
    add_source(env, env.server.url("/feed.xml"))
    lol = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<rss version='2.0'><channel><title>&b;</title><item><title>x</title><link>/glacier</link>"
        b"</item></channel></rss>"
    )
    env.server.route("/feed.xml", Response(headers=RSS, body=lol))
    await failed_once(env, contains="ENTITY")
    assert env.server.hits("/glacier") == []


async def test_redirect_to_a_private_address_is_refused(db_url: str) -> None:
    async def dns(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    policy = FetchPolicy(
        connect_timeout_s=1.0, total_timeout_s=3.0, allowed_private_hosts=frozenset({"public.test"})
    )
    async with make_env(db_url, policy=policy, resolver=dns) as env:
        add_source(env, env.server.url("/feed.xml", host="public.test"))
        secret = env.server.url("/secret")
        env.server.route("/feed.xml", Response(status=302, headers=[("Location", secret)]))
        env.server.route("/secret", Response(headers=RSS, body=FEED2))
        await failed_once(env, contains="loopback")
        assert env.server.hits("/secret") == []


def _served(status: Callable[[], int]) -> Callable[[object], Response]:
    def answer(_request: object) -> Response:
        code = status()
        return Response(headers=RSS, body=FEED2) if code == 200 else Response(status=code)

    return answer


async def test_feed_disappears_then_comes_back(env: Env) -> None:
    add_source(env, env.server.url("/feed.xml"))
    state = {"status": 404}
    env.server.route("/feed.xml", _served(lambda: state["status"]))
    delays: list[float] = []
    for _ in range(5):
        await env.poll()
        src = env.source()
        delays.append((src.next_check_at - env.clock()).total_seconds())
        env.clock.now = src.next_check_at
    src = env.source()
    assert src.error_count == 5 and src.active and src.last_error and "404" in src.last_error
    assert delays == sorted(delays) and delays[-1] > 4 * delays[0]  # exponential backoff, jittered
    state["status"] = 200
    summary = await env.poll()
    src = env.source()
    assert summary.ok and (src.error_count, src.last_error, src.last_error_at) == (0, None, None)
    assert env.store.counts()["articles"] == 2
    assert src.next_check_at - env.clock() < timedelta(seconds=delays[-1])  # back to the normal pace


# -- the feed problem (an ill-formed feed that still yields entries) ---------------------------------------


LATIN1_DECLARED_UTF8 = (
    "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Café</title>"
    "<item><title>Glacier lake warning à Tarnvik</title><link>/glacier</link><guid>g1</guid></item>"
    "</channel></rss>"
).encode("latin-1")


async def test_wrong_declared_charset_is_ingested_and_the_problem_stored_then_cleared(env: Env) -> None:
    add_source(env, env.server.url("/feed.xml"))
    env.server.route("/feed.xml", Response(headers=RSS, body=LATIN1_DECLARED_UTF8))
    summary = await env.poll()
    assert summary.ok and env.store.counts()["articles"] == 1
    text, at = problem(env)
    assert text is not None and "encoding" in text.lower() and at == env.clock()
    # an unchanged body is not parsed again: the problem stays as it was
    env.clock.advance(hours=1)
    await env.poll()
    assert problem(env)[0] == text
    # a clean parse clears it
    env.clock.advance(hours=1)
    env.server.route("/feed.xml", Response(headers=RSS, body=FEED2))
    await env.poll()
    assert problem(env) == (None, None)


async def test_a_stray_ampersand_is_ingested_with_its_problem(env: Env) -> None:
    add_source(env, env.server.url("/feed.xml"))
    broken = FEED2.replace(b"<title>Test</title>", b"<title>Fish & Chips</title>")
    env.server.route("/feed.xml", Response(headers=RSS, body=broken))
    summary = await env.poll()
    assert summary.ok and summary.new_articles == 2
    text, _at = problem(env)
    assert text is not None and "not well-formed" in text


def test_store_keeps_the_feed_problem_until_a_clean_parse(db_url: str) -> None:
    store = Store(db_url)
    store.upgrade()
    t0 = T0
    store.sync_config([SourceSpec(name="feed", url="https://example.org/feed.xml")], [], now=t0)
    sid = store.get_source("feed").id

    def apply(at: timedelta, **update: object) -> tuple[str | None, object]:
        now = t0 + at
        base: dict[str, object] = {"success": True, "next_check_at": now, "current_interval_s": 900.0}
        store.apply_poll(PollRecord(sid, SourceUpdate(**{**base, **update})), now=now)  # type: ignore[arg-type]
        with store.session() as s:
            row = s.get(Source, sid)
            assert row is not None
            return row.last_problem, row.last_problem_at

    try:
        bozo = "SAXParseException: not well-formed (invalid token)"
        assert apply(timedelta(0), parsed=True, problem=bozo) == (bozo, t0)
        assert apply(timedelta(hours=1)) == (bozo, t0)  # 304: nothing parsed, nothing changes
        assert apply(timedelta(hours=2), success=False, error="HTTP 500") == (bozo, t0)
        assert apply(timedelta(hours=3), parsed=True, problem=bozo) == (bozo, t0 + timedelta(hours=3))
        assert apply(timedelta(hours=4), parsed=True, problem=None) == (None, None)
    finally:
        store.close()
