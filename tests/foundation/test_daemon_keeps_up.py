"""The embedded daemon polls as fast as its workers go while sources are due, not one tick's worth.

Its tick (30 s by default) queues at most twice the workers; it used to wait for the next tick to queue
more, so a deployment of thousands of sources was polled at about one source a second.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from monitor.pipeline import InlineRunner
from monitor.runtime import Daemon
from monitor.settings import load_settings
from tests.conftest import StaticServer

FEEDS = 40


def _feed(i: int) -> str:
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>Parish bulletin {i}</title><link>https://parish{i}.example/</link>"
        f"<item><title>Bell tower {i} repaired</title><link>https://parish{i}.example/bell</link>"
        f"<description>The bell tower of parish {i} rang again on Sunday after the repairs.</description>"
        "<pubDate>Fri, 20 Nov 2026 09:00:00 GMT</pubDate></item></channel></rss>"
    )


async def test_a_backlog_of_due_sources_is_polled_without_waiting_for_ticks(
    tmp_path: Path, static_server: StaticServer
) -> None:
    for i in range(FEEDS):
        (static_server.root / f"feed{i}.xml").write_text(_feed(i), encoding="utf-8")
    sources = "\n".join(
        f'  - {{name: parish{i}, url: "{static_server.url(f"feed{i}.xml")}", trust_feed_content: true}}'
        for i in range(FEEDS)
    )
    cfg = tmp_path / "m.yaml"
    cfg.write_text(
        f"database_url: sqlite:///{tmp_path / 'd.db'}\ntick: 30s\nworkers: 2\nhttp_port: null\n"
        f"fetch: {{allow_private_networks: true}}\nstories: {{enabled: false}}\nsources:\n{sources}\n",
        encoding="utf-8",
    )
    out = (tmp_path / "out.txt").open("w", encoding="utf-8")
    daemon = Daemon(load_settings(cfg), cpu=InlineRunner(), console_stream=out)
    task = asyncio.create_task(daemon.run_forever())
    started = time.monotonic()
    try:
        polled = 0
        while time.monotonic() - started < 20:  # the old pace: 4 sources per 30 s tick
            await asyncio.sleep(0.2)
            if daemon.last_tick is None:  # still migrating and syncing the config
                continue
            polled = sum(1 for s in daemon.store.list_sources(now=daemon.clock()) if s.polls)
            if polled == FEEDS:
                break
    finally:
        daemon.request_stop()
        await asyncio.wait_for(task, timeout=15)
        await daemon.aclose()
        out.close()
    assert polled == FEEDS, f"{polled} of {FEEDS} sources polled within 20 s"
    assert daemon.store.counts()["articles"] == FEEDS
