"""``run_once`` claims the next batch of due sources while the last polls of the previous one are still
in flight: a slow source holds up its own worker, not the whole pass."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import monitor.runtime._feeder as feeder_module
from monitor.pipeline import InlineRunner, PollSummary
from monitor.runtime import Daemon
from monitor.settings import load_settings
from monitor.store import SourceRow

FEEDS = 12


def _feed(i: int) -> bytes:
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>Allotment news {i}</title><link>https://allotment{i}.example/</link>"
        f"<item><title>Marrow show {i}</title><link>https://allotment{i}.example/marrow</link>"
        f"<description>The marrow show of plot {i} drew a record crowd on Saturday.</description>"
        "<pubDate>Fri, 20 Nov 2026 09:00:00 GMT</pubDate></item></channel></rss>"
    ).encode()


def _daemon(tmp_path: Path, sources: str, settings: str = "") -> Daemon:
    """A daemon over ``sources`` (YAML list items) in ``tmp_path``, stories off, parsing inline."""
    cfg = tmp_path / "m.yaml"
    cfg.write_text(
        f"database_url: sqlite:///{tmp_path / 'd.db'}\nhttp_port: null\nstories: {{enabled: false}}\n"
        f"{settings}sources:\n{sources}\n",
        encoding="utf-8",
    )
    return Daemon(load_settings(cfg), cpu=InlineRunner(), console_stream=(tmp_path / "o.txt").open("w"))


async def test_a_slow_source_does_not_hold_up_the_next_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeder_module, "CLAIM_BATCH", 4)
    asked: set[int] = set()
    everyone_else = asyncio.Event()
    released_by_timeout: list[bool] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        i = int(head.split(b" ")[1].rsplit(b"feed", 1)[1].split(b".")[0])
        asked.add(i)
        if len(asked) == FEEDS:
            everyone_else.set()
        if i == 0:  # the slow publisher answers once every other feed has been asked for
            try:
                await asyncio.wait_for(everyone_else.wait(), 10)
            except TimeoutError:
                released_by_timeout.append(True)
        body = _feed(i)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sources = "\n".join(
        f'  - {{name: plot{i:02d}, url: "http://127.0.0.1:{port}/feed{i}.xml", trust_feed_content: true}}'
        for i in range(FEEDS)
    )
    daemon = _daemon(tmp_path, sources, "workers: 3\nfetch: {allow_private_networks: true}\n")
    try:
        report = await daemon.run_once()
    finally:
        await daemon.aclose()
        server.close()
        await server.wait_closed()
    assert report.polls == FEEDS and report.failures == 0, report
    assert asked == set(range(FEEDS))
    # With a batch finished before the next was claimed, the slow feed's batch-mates would have been
    # the only ones asked, and it would have waited for its 10 s timeout.
    assert not released_by_timeout


async def test_a_poll_that_crashes_costs_its_source_not_the_pass(tmp_path: Path) -> None:
    """A bug met on one source's input (an exception that no stage expected) is logged and counted as
    that poll's failure; the other sources of the pass are polled and stored, as in the daemon's feeder."""
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    for i in range(3):
        (feeds / f"plot{i}.xml").write_bytes(_feed(i))
    daemon = _daemon(tmp_path, "\n".join(f"  - {{name: plot{i}, url: feeds/plot{i}.xml}}" for i in range(3)))
    poll = daemon.pipeline.poll

    async def crashing(src: SourceRow) -> PollSummary:
        if src.name == "plot1":
            raise RuntimeError("a bug met on this source's input")
        return await poll(src)

    daemon.pipeline.poll = crashing  # type: ignore[method-assign]
    try:
        report = await daemon.run_once()
        stored = daemon.store.counts()["articles"]
    finally:
        await daemon.aclose()
    assert (report.polls, report.failures, report.new_articles) == (3, 1, 2), report
    assert stored == 2
