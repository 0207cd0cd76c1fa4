"""The running daemon: CLI changes picked up within a tick, housekeeping jobs on its scheduler, and
SIGHUP re-reading the configuration in a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from monitor.pipeline import InlineRunner
from monitor.runtime import Daemon
from monitor.settings import load_settings
from monitor.store import NewArticle, PollRecord, SourceSpec, SourceUpdate, Store, StoreError
from tests.ops.conftest import Site, cli, page, rss


def _serve_courier(site: Site) -> None:
    site.pages["/feed.xml"] = (
        "application/rss+xml",
        rss([("pier", "New pier lights switched on", "Wed, 18 Nov 2026 17:00:00 +0000")]),
    )
    site.pages["/second.xml"] = (
        "application/rss+xml",
        rss([("buoy", "Storm damages the outer buoy", "Thu, 19 Nov 2026 05:00:00 +0000")]),
    )
    for slug, title in (("pier", "New pier lights switched on"), ("buoy", "Storm damages the outer buoy")):
        site.pages[f"/a/{slug}"] = (
            "text/html; charset=utf-8",
            page(
                title,
                [
                    f"{title}, the harbour office announced on its notice board late in the afternoon, "
                    "after a week of work by the maintenance crew.",
                    "Mariners were asked to report any fault to the duty officer on channel twelve.",
                ],
            ),
        )


def _polled(store: Store, name: str) -> bool:
    try:
        return store.get_source(name).last_success_at is not None
    except StoreError:  # not synced or added yet
        return False


async def _until(what: str, cond: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def test_cli_changes_and_housekeeping_reach_a_running_daemon(tmp_path: Path, site: Site) -> None:
    _serve_courier(site)
    db = f"sqlite:///{tmp_path / 'd.db'}"
    cfg = tmp_path / "m.yaml"
    cfg.write_text(
        f"""
database_url: "{db}"
tick: 1s
http_port: null
fetch: {{allow_private_networks: true}}
channels: {{console: {{type: console}}, ops: {{type: console}}}}
retention: {{max_age: 30d, every: 1s, batch: 2}}
operations: {{channel: ops, failing_after: 1s, every: 1s}}
sources:
  - {{name: courier, url: "{site.url("/feed.xml")}"}}
  - {{name: vanished, url: "{site.url("/gone.xml")}"}}
""",
        encoding="utf-8",
    )
    seed = Store(db)
    old = datetime.now(UTC) - timedelta(days=100)
    try:
        seed.upgrade()
        keep = seed.add_source(
            SourceSpec(name="archive", url="https://archive.example/rss", enabled=False), now=old
        )
        arts = tuple(
            NewArticle(
                url=f"https://archive.example/{n}",
                guid=None,
                title=f"Archived notice {n}",
                published=date(2026, 8, 1),
                date_source="feed",
                text=f"Archived notice {n}\n20260801\nhttps://archive.example/{n}\nOld news {n}.\n",
                content_hash=f"{n:064x}",
                language="en",
                extractor="test",
            )
            for n in range(5)
        )
        update = SourceUpdate(success=True, next_check_at=old, current_interval_s=900.0)
        seed.apply_poll(PollRecord(keep.id, update, arts), now=old)
    finally:
        seed.close()

    out = (tmp_path / "console.txt").open("w", encoding="utf-8")
    daemon = Daemon(load_settings(cfg), cpu=InlineRunner(), console_stream=out)
    task = asyncio.create_task(daemon.run_forever())
    store = Store(db)
    try:
        await _until("the first poll", lambda: _polled(store, "courier"))
        # retention runs on the daemon's scheduler, in batches: the 100-day-old articles go
        await _until(
            "the prune job", lambda: not any(a.title.startswith("Archived") for a in store.iter_articles())
        )
        # the source that answers 404 has failed for longer than failing_after: one ops alert
        await _until(
            "the ops alert",
            lambda: "Source vanished is failing" in (tmp_path / "console.txt").read_text(encoding="utf-8"),
        )
        # a source added from the CLI is polled by the running daemon
        code, output = await asyncio.to_thread(
            cli, cfg, "source", "add", site.url("/second.xml"), "--name", "second", "--no-discover"
        )
        assert code == 0, output
        await _until("the CLI source's poll", lambda: _polled(store, "second"))
        # a watchlist added from the CLI reaches the running matcher within a tick
        code, output = await asyncio.to_thread(cli, cfg, "watchlist", "add", "buoys", "buoy AND storm")
        assert code == 0, output
        await _until("the matcher rebuild", lambda: "buoys" in daemon._watchlist_names.values())
    finally:
        daemon.request_stop()
        await asyncio.wait_for(task, timeout=20)
        await daemon.aclose()
        store.close()
        out.close()
    console = (tmp_path / "console.txt").read_text(encoding="utf-8")
    assert console.count("Source vanished is failing") == 1


class _DaemonProcess:
    """``monitor run`` in a subprocess with JSON logs, its stderr lines collected by a thread."""

    def __init__(self, cfg: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(cfg), "--log-format", "json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            text=True,
        )
        self.lines: list[str] = []
        stderr = self.proc.stderr
        assert stderr is not None

        def collect() -> None:
            self.lines.extend(iter(stderr.readline, ""))

        self.reader = threading.Thread(target=collect, daemon=True)
        self.reader.start()

    def wait(
        self, what: str, cond: Callable[[], bool], *, timeout_s: float = 30, step_s: float = 0.2
    ) -> None:
        """Until ``cond()``; fails at once, with the log's tail, if the process ends meanwhile."""
        deadline = time.monotonic() + timeout_s
        while not cond():
            tail = "".join(self.lines)[-3000:]
            assert self.proc.poll() is None, "the daemon died: " + tail
            assert time.monotonic() < deadline, f"timed out waiting for {what}: " + tail
            time.sleep(step_s)

    def stop(self) -> None:
        """SIGTERM, and a clean exit."""
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=20) == 0

    def close(self) -> None:
        """Kill the process if it still runs (a test failed on the way), and let the reader finish."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=5)


def test_sighup_resyncs_sources_and_watchlists(tmp_path: Path, site: Site) -> None:
    _serve_courier(site)
    db = f"sqlite:///{tmp_path / 'd.db'}"
    cfg = tmp_path / "monitor.yaml"
    head = f'database_url: "{db}"\ntick: 1s\nhttp_port: null\nfetch: {{allow_private_networks: true}}\n'

    def config(sources: dict[str, str], watchlists: dict[str, str]) -> None:
        text = (
            head
            + "sources:\n"
            + "".join(f'  - {{name: {n}, url: "{site.url(p)}"}}\n' for n, p in sources.items())
        )
        text += "watchlists:\n" + "".join(f"  - {{name: {n}, query: '{q}'}}\n" for n, q in watchlists.items())
        cfg.write_text(text, encoding="utf-8")

    config({"courier": "/feed.xml"}, {"lights": "pier AND lights"})
    daemon = _DaemonProcess(cfg)
    proc, lines = daemon.proc, daemon.lines
    store = Store(db)

    wait = daemon.wait

    def names() -> tuple[set[str], dict[str, str]]:
        try:
            return {s.name for s in store.list_sources(now=datetime.now(UTC))}, {
                w.name: w.query for w in store.list_watchlists()
            }
        except Exception:  # the daemon is still creating the schema
            return set(), {}

    try:
        wait("the start-up sync", lambda: names() == ({"courier"}, {"lights": "pier AND lights"}))
        config({"second": "/second.xml"}, {"lights": "pier OR lights", "buoys": "buoy AND storm"})
        proc.send_signal(signal.SIGHUP)
        wait(
            "the reload",
            lambda: names() == ({"second"}, {"lights": "pier OR lights", "buoys": "buoy AND storm"}),
        )
        wait("the new source's poll", lambda: _polled(store, "second"))

        cfg.write_text(head + "sources: [{name: broken, url: x, colour: blue}]\n", encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        wait("the failed reload", lambda: any("config.reload_failed" in line for line in lines))
        assert proc.poll() is None  # still running, with the old configuration
        assert names() == ({"second"}, {"lights": "pier OR lights", "buoys": "buoy AND storm"})
        failed = next(line for line in lines if "config.reload_failed" in line)
        assert "sources[0].colour: unknown key" in failed

        config({"second": "/second.xml", "third": "/feed.xml"}, {"buoys": "buoy AND storm"})
        proc.send_signal(signal.SIGHUP)
        wait("the second reload", lambda: names() == ({"second", "third"}, {"buoys": "buoy AND storm"}))
        daemon.stop()
    finally:
        daemon.close()
        store.close()
    assert sum("config.reloaded" in line for line in lines) == 2


def test_sighup_during_the_start_up_sync_is_kept_for_after_it(tmp_path: Path, site: Site) -> None:
    """SIGHUP's default action ends the process: the daemon handles signals before its start-up sync
    (``daemon.starting``), and a reload asked for during the sync runs once the sync is done, so the
    file's newest contents win and the process lives on. Before, a SIGHUP in that window killed it."""
    _serve_courier(site)
    db = f"sqlite:///{tmp_path / 'd.db'}"
    cfg = tmp_path / "monitor.yaml"
    head = f'database_url: "{db}"\ntick: 1s\nhttp_port: null\nfetch: {{allow_private_networks: true}}\n'
    # Many sources make the start-up sync (and so the window the signal must land in) last a while.
    many = "".join(f'  - {{name: s{i}, url: "{site.url("/feed.xml")}?n={i}"}}\n' for i in range(400))
    cfg.write_text(head + "sources:\n" + many, encoding="utf-8")
    daemon = _DaemonProcess(cfg)
    proc, lines = daemon.proc, daemon.lines
    store = Store(db)
    try:
        daemon.wait("daemon.starting", lambda: any("daemon.starting" in line for line in lines), step_s=0.01)
        only = f'sources:\n  - {{name: only, url: "{site.url("/feed.xml")}"}}\n'
        cfg.write_text(head + only, encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        daemon.wait("the reload", lambda: any("config.reloaded" in line for line in lines), timeout_s=60)
        assert {s.name for s in store.list_sources(now=datetime.now(UTC))} == {"only"}
        started = next(i for i, line in enumerate(lines) if "daemon.starting" in line)
        synced = next(i for i, line in enumerate(lines) if "config.synced" in line)
        reloaded = next(i for i, line in enumerate(lines) if "config.reloaded" in line)
        assert started < synced < reloaded
        daemon.stop()
    finally:
        daemon.close()
        store.close()
