"""Where the CPU work of a poll runs: the feed is parsed and its carried text normalised in ONE call to the
CPU runner (one process-pool round trip per feed), and that call works across a real process boundary."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest

from monitor.match import WatchlistSpec as MatchSpec
from monitor.pipeline import ExecutorRunner, InlineRunner
from monitor.store import SourceSpec, WatchlistSpec
from tests.fetch.httpserver import Response
from tests.pipeline.test_poll import Env
from tests.pipeline.test_poll_hostile import make_env

R = TypeVar("R")

PARAGRAPH = (
    "Ferry crews in the Osel archipelago walked out on Monday over a new rota that cuts rest days, "
    "leaving the island of Varn without a crossing for the first time since the storm of last winter."
)


def feed(count: int) -> bytes:
    items = "".join(
        f"<item><title>Ferry strike day {i}</title><link>/story/{i}</link><guid>s{i}</guid>"
        f"<description><![CDATA[<p>Day {i} of the dispute.</p><p>{PARAGRAPH}</p>]]></description></item>"
        for i in range(count)
    )
    channel = f"<channel><title>T</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


@pytest.fixture
async def env(db_url: str) -> AsyncIterator[Env]:
    async with make_env(db_url) as running:
        yield running


class CountingRunner(InlineRunner):
    """The inline runner, recording which functions were sent to it (and the entries ``carry_entries``
    was given)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.carried: list[str] = []

    async def run(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        self.calls.append(fn.__name__)
        if fn.__name__ == "carry_entries":
            self.carried.extend(entry.url for entry in args[0])
        return await super().run(fn, *args, **kwargs)


async def _setup(env: Env) -> None:
    spec = SourceSpec(
        name="feed", url=env.server.url("/feed.xml"), first_poll="alert", options={"trust_feed_content": True}
    )
    env.store.sync_config([spec], [WatchlistSpec(name="ferry", query="ferry AND strike")], now=env.clock())
    rows = env.store.list_watchlists()
    await env.pipeline.engine.rebuild([MatchSpec(id=r.id, name=r.name, query=r.query) for r in rows])


async def test_a_trusted_feed_costs_one_cpu_call_whatever_its_length(env: Env) -> None:
    await _setup(env)
    runner = CountingRunner()
    env.pipeline.cpu = runner
    env.server.route("/feed.xml", Response(headers=[("Content-Type", "application/rss+xml")], body=feed(12)))
    summary = await env.poll()
    assert summary.new_articles == 12 and summary.hits == 12
    assert runner.calls == ["read_feed"]
    assert [r for r in env.server.requests if r.path.startswith("/story/")] == []
    texts = dict(env.store.export_articles())
    assert all(PARAGRAPH in text for text in texts.values())


async def test_a_later_poll_normalises_only_the_new_entries(env: Env) -> None:
    """After the first poll, the entries already stored are parsed but not normalised again: the new ones
    go to one ``carry_entries`` call, and their articles are made of the feed's text as before."""
    await _setup(env)
    runner = CountingRunner()
    env.pipeline.cpu = runner
    route = env.server.route
    route("/feed.xml", Response(headers=[("Content-Type", "application/rss+xml")], body=feed(3)))
    assert (await env.poll()).new_articles == 3
    runner.calls.clear()
    route("/feed.xml", Response(headers=[("Content-Type", "application/rss+xml")], body=feed(5)))
    summary = await env.poll()
    assert summary.new_articles == 2 and summary.hits == 2 and summary.alerts == 2
    assert runner.calls == ["read_feed", "carry_entries"]
    assert sorted(runner.carried) == [env.server.url("/story/3"), env.server.url("/story/4")]
    assert [r for r in env.server.requests if r.path.startswith("/story/")] == []
    texts = dict(env.store.export_articles())
    assert len(texts) == 5 and all(PARAGRAPH in text for text in texts.values())


async def test_the_same_call_through_a_process_pool(env: Env) -> None:
    await _setup(env)
    pool = ExecutorRunner(processes=1)
    env.pipeline.cpu = pool
    try:
        env.server.route(
            "/feed.xml", Response(headers=[("Content-Type", "application/rss+xml")], body=feed(3))
        )
        summary = await env.poll()
    finally:
        pool.close()
    assert summary.ok and summary.new_articles == 3 and summary.hits == 3
    assert env.store.outbox_summary(now=env.clock())[0] == 3
