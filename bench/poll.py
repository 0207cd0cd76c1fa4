"""Polling throughput of the real daemon: 10,000 local feeds, cold and steady passes, RSS and loop lag.

Not a test (pytest does not collect it). Run from the repository root:

    .venv/bin/python bench/poll.py [--feeds N] [--workers W] [--sample S]

A child process (``bench/_poll_site.py``) serves N generated RSS feeds (20 items, ~30 KB, the article
HTML carried in ``content:encoded``) and their article pages on 127.0.0.1; host names ``f0.bench`` ...
``f499.bench`` resolve to it through the fetcher's resolver hook, so the per-host cap of 2 applies as with
real publishers. Everything else is the deployment a new user gets: ``Daemon`` built from ``Settings``
(SQLite in a temp dir, the fork-server process pool, the matcher with a few watchlists, the console
channel), driven through ``Daemon.run_once``:

- cold pass: every source new, ``trust_feed_content: true``, ``first_poll: store``: fetch, parse,
  de-duplication, normalisation of the carried HTML, matching and storage of 20 articles per feed;
- steady pass: every tenth feed gained one item without content (its page is fetched and extracted,
  then matched, alerted to the console channel); the others answer 304.

Measured alongside: peak RSS of the daemon's process tree (the pool's workers and fork server included,
the site's process not), sampled every 0.2 s; event-loop lag, sampled by a 10 ms ticker task during the
cold pass (parsing and normalisation). The naive baseline in the same run polls a sample of the same
feeds one by one: httpx GET, ``feedparser.parse``, one ``SELECT`` + ``INSERT`` + commit per entry in
sqlite3 (steady: a conditional GET, and the new item's page through ``trafilatura.extract``).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing
import os
import sqlite3
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import feedparser
import httpx
import trafilatura
from _poll_site import CONTENT_WORDS, feed_url, serve

from monitor.fetch import HttpFetcher
from monitor.log import configure
from monitor.runtime import Daemon, RunReport, fetch_policy
from monitor.settings import Settings

W = CONTENT_WORDS  # made-up words, most frequent first (see _poll_site)
WATCHLISTS = {  # about one article in ten matches one of them (a few hundredths each)
    "police-court": '"police court"',
    "water-power": '"water power" OR "power water"',
    "pair": f"{W[40]} AND {W[41]}",
    "near": f"{W[5]} NEAR/3 {W[6]}",
    "school-workers": '"school workers"',
    "phrase": f'"{W[0]} {W[1]}"',
    "not": f"{W[100]} AND {W[120]} AND NOT {W[3]}",
    "market": '"market price" AND officials',
}
SAMPLE_PAGE_SELECT = "SELECT id FROM articles WHERE url = ?"


# -- measuring ------------------------------------------------------------------------------------------


def _tree(root: int, exclude: set[int]) -> set[int]:
    """``root`` and its descendants, minus the ``exclude`` subtrees (the site process)."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, ppid in parent.items():
            if ppid == pid and child not in tree and child not in exclude:
                tree.add(child)
                frontier.append(child)
    return tree


def _tree_rss_kb(root: int, exclude: set[int]) -> dict[int, int]:
    """Resident KB per process of the tree."""
    out: dict[int, int] = {}
    for pid in _tree(root, exclude):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[pid] = int(line.split()[1])
        except OSError:
            continue
    return out


def _tree_cpu_s(root: int, exclude: set[int]) -> float:
    """User + system CPU seconds of the live process tree (the pool's workers included)."""
    ticks = 0
    for pid in _tree(root, exclude):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Probe:
    """Peak RSS of the daemon's process tree (sampled in a thread) and event-loop lag (a ticker task)."""

    exclude: set[int]
    peak_kb: int = 0
    peak_split_kb: list[int] = field(default_factory=list)  # per process at the peak, main process first
    lags_s: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start_rss(self) -> threading.Thread:
        def run() -> None:
            while not self._stop.wait(0.2):
                split = _tree_rss_kb(os.getpid(), self.exclude)
                if sum(split.values()) > self.peak_kb:
                    self.peak_kb = sum(split.values())
                    main = split.pop(os.getpid(), 0)
                    self.peak_split_kb = [main, *sorted(split.values(), reverse=True)]

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    async def tick(self, period_s: float = 0.01) -> None:
        loop = asyncio.get_running_loop()
        expected = loop.time() + period_s
        while True:
            await asyncio.sleep(period_s)
            now = loop.time()
            self.lags_s.append(max(0.0, now - expected))
            expected = now + period_s


def _p99_ms(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    return 1000 * statistics.quantiles(values, n=100, method="inclusive")[98]


# -- the daemon -----------------------------------------------------------------------------------------


async def _loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def _settings(db: Path, port: int, feeds: int, workers: int, *, stories: bool = True) -> Settings:
    extra = {"stories": {"enabled": stories}} if "stories" in Settings.model_fields else {}
    return Settings.model_validate(
        {
            **extra,
            "database_url": f"sqlite:///{db}",
            "log_level": "WARNING",
            "http_port": None,
            "workers": workers,
            "fetch": {"allow_private_networks": True, "concurrency": 100, "per_host": 2, "timeout": 60},
            "sources": [
                {
                    "name": f"feed{i}",
                    "url": feed_url(i, port),
                    "interval": 900,
                    "first_poll": "store",
                    "trust_feed_content": True,
                }
                for i in range(feeds)
            ],
            "watchlists": [{"name": k, "query": q, "channels": ["console"]} for k, q in WATCHLISTS.items()],
        }
    )


@dataclass
class Pass:
    wall_s: float
    cpu_s: float
    main_cpu_s: float
    report: RunReport


async def _run_pass(daemon: Daemon, probe: Probe, *, lag: bool) -> Pass:
    probe_exclude = probe.exclude
    ticker = asyncio.create_task(probe.tick()) if lag else None
    wall, cpu, main = time.perf_counter(), _tree_cpu_s(os.getpid(), probe_exclude), time.process_time()
    report = await daemon.run_once()
    wall, cpu = time.perf_counter() - wall, _tree_cpu_s(os.getpid(), probe_exclude) - cpu
    main = time.process_time() - main
    if ticker:
        ticker.cancel()
    return Pass(wall, cpu, main, report)


async def _daemon_passes(db: Path, port: int, args: argparse.Namespace, probe: Probe) -> tuple[Pass, Pass]:
    settings = _settings(db, port, args.feeds, args.workers, stories=args.stories)
    daemon = Daemon(settings, console_stream=io.StringIO())
    # Same class, same policy; only the resolver is injected so that f<k>.bench reaches the local site.
    await daemon.fetcher.aclose()
    daemon.fetcher = daemon.pipeline.fetcher = HttpFetcher(
        policy=fetch_policy(settings),
        max_connections=settings.fetch.concurrency,
        per_host_limit=settings.fetch.per_host,
        resolver=_loopback,
    )
    started = time.perf_counter()
    await asyncio.to_thread(daemon.prepare)
    print(f"config sync of {args.feeds} sources: {time.perf_counter() - started:.1f} s (not counted)")
    try:
        cold = await _run_pass(daemon, probe, lag=True)
        counts = daemon.store.counts()
        assert cold.report.failures == 0, cold.report
        assert counts["articles"] == 20 * args.feeds, counts
        async with httpx.AsyncClient() as client:
            (await client.get(f"http://127.0.0.1:{port}/_bump")).raise_for_status()
        steady = await _run_pass(daemon, probe, lag=False)
        bumped = len(range(0, args.feeds, 10))
        assert steady.report.failures == 0, steady.report
        assert daemon.store.counts()["articles"] == 20 * args.feeds + bumped
        assert steady.report.new_articles == bumped, steady.report
        hits = (cold.report.hits, steady.report.hits)
        print(f"hits: cold {hits[0]} (no alert, first poll), steady {hits[1]}")
        print(f"alerts delivered in the steady pass: {steady.report.dispatch}")
    finally:
        await daemon.aclose()
    return cold, steady


# -- the naive baseline ---------------------------------------------------------------------------------


def _naive(port: int, sample: range, db: Path, *, steady: bool, etags: dict[int, str]) -> float:
    """Seconds for the sample, one feed after the other (see the module docstring)."""
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS articles (id INTEGER PRIMARY KEY, url TEXT UNIQUE, title TEXT, body TEXT)"
    )
    started = time.perf_counter()
    with httpx.Client(timeout=60) as client:
        for i in sample:
            headers = {"If-None-Match": etags[i]} if steady and i in etags else {}
            response = client.get(f"http://127.0.0.1:{port}/feed/{i}", headers=headers)
            if response.status_code == 304:
                continue
            etags[i] = response.headers.get("etag", "")
            parsed = feedparser.parse(response.content)
            for entry in parsed.entries:
                if conn.execute(SAMPLE_PAGE_SELECT, (entry.link,)).fetchone():
                    continue
                if "content" in entry:
                    body = entry.content[0].value
                else:
                    page = client.get(f"http://127.0.0.1:{port}/a/" + entry.link.split("/a/", 1)[1])
                    body = trafilatura.extract(page.text) or ""
                conn.execute(
                    "INSERT INTO articles (url, title, body) VALUES (?, ?, ?)",
                    (entry.link, entry.title, body),
                )
                conn.commit()
    conn.close()
    return time.perf_counter() - started


# -- main -----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument(
        "--workers", type=int, default=16, help="the daemon's poll workers (settings.workers)"
    )
    parser.add_argument(
        "--no-stories",
        dest="stories",
        action="store_false",
        help="turn story grouping off (stories.enabled: false), to see its share; on by default, as deployed",
    )
    parser.add_argument("--sample", type=int, default=200, help="feeds polled by the naive baseline")
    args = parser.parse_args()
    configure(fmt="console", level="WARNING")
    ready: multiprocessing.Queue[int] = multiprocessing.get_context("spawn").Queue()
    site = multiprocessing.get_context("spawn").Process(target=serve, args=(args.feeds, ready), daemon=True)
    site.start()
    probe = Probe(exclude={site.pid or -1})
    try:
        port = ready.get(timeout=600)
        sample = range(min(args.sample, args.feeds))
        with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
            etags: dict[int, str] = {}
            naive_cold = _naive(port, sample, Path(tmp, "naive.db"), steady=False, etags=etags)
            probe.start_rss()
            cold, steady = asyncio.run(_daemon_passes(Path(tmp, "monitor.db"), port, args, probe))
            probe.stop()
            naive_steady = _naive(port, sample, Path(tmp, "naive.db"), steady=True, etags=etags)
    finally:
        site.terminate()
        site.join(5)
    n = args.feeds
    cold_rate, steady_rate = n / cold.wall_s, n / steady.wall_s
    naive_cold_rate, naive_steady_rate = len(sample) / naive_cold, len(sample) / naive_steady
    lag_p99, lag_max = _p99_ms(probe.lags_s), 1000 * max(probe.lags_s, default=0.0)
    peak_mb = probe.peak_kb / 1024
    print(
        f"feeds: {n} (20 items each), stories {'on' if args.stories else 'off'}, "
        f"machine load at the end: {os.getloadavg()[0]:.2f} (2 cores)"
    )
    print(
        f"cold   : {cold_rate:7.1f} feeds/s  ({20 * cold_rate:.0f} entries/s, {cold.wall_s:.1f} s, "
        f"CPU per feed {1000 * cold.cpu_s / n:.1f} ms, of which the event loop's process "
        f"{1000 * cold.main_cpu_s / n:.1f} ms)   target >= 100"
    )
    print(
        f"steady : {steady_rate:7.1f} polls/s  ({steady.wall_s:.1f} s, 10% with one new page, CPU per poll "
        f"{1000 * steady.cpu_s / n:.1f} ms, loop's process {1000 * steady.main_cpu_s / n:.1f} ms)"
        "   target >= 500"
    )
    split = " + ".join(f"{kb / 1024:.0f}" for kb in probe.peak_split_kb)
    print(f"peak RSS (daemon + pool): {peak_mb:.0f} MB ({split} MB, loop's process first)   target <= 300")
    print(f"loop lag (cold pass): p99 {lag_p99:.1f} ms, max {lag_max:.1f} ms   target p99 <= 100")
    print(
        f"naive baseline ({len(sample)} feeds, one by one): cold {naive_cold_rate:.1f} feeds/s, "
        f"steady {naive_steady_rate:.1f} polls/s"
    )
    print(
        f"ratio (ours / naive): cold {cold_rate / naive_cold_rate:.2f}, "
        f"steady {steady_rate / naive_steady_rate:.2f}"
    )
    print(
        json.dumps(
            {
                "bench": "poll",
                "cold_feeds_per_s": round(cold_rate, 1),
                "steady_polls_per_s": round(steady_rate, 1),
                "peak_rss_mb": round(peak_mb, 1),
                "loop_lag_p99_ms": round(lag_p99, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
