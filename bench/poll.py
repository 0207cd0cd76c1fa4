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
  de-duplication, normalisation of the carried HTML, matching and storage of 20 articles per feed
  (feeds/s through storage; the story stage, which ``run_once`` runs after the polls to group the
  stored articles, is timed apart and reported beside it);
- steady pass: every tenth feed gained one item without content (its page is fetched and extracted,
  then matched, alerted to the console channel); the others answer 304.

Measured alongside, by a probe in a process of its own (so that its /proc reads cost the measured process
nothing): peak memory of the daemon's process tree (the pool's workers and fork server included, the
site's and the probe's processes not) as summed RSS, sampled every 0.2 s (shared pages counted in every
process, as before), and summed PSS (``/proc/<pid>/smaps_rollup``: shared pages divided among their
sharers, what the tree really costs), sampled every second as each read costs the kernel a page-table
walk; the CPU of each pass split by role (event-loop thread, the loop process's other threads, worker
processes; the site and the probe for scale). Event-loop lag is sampled by a 10 ms ticker task on the
daemon's loop during the cold pass (parsing and normalisation).

The naive baseline in the same run polls a sample of the same feeds one by one: httpx GET,
``feedparser.parse``, one ``SELECT`` + ``INSERT`` + commit per entry in sqlite3 (steady: a conditional
GET, and the new item's page through ``trafilatura.extract``), in a child process of its own, so that
feedparser and trafilatura are not loaded into (and counted in) the daemon's process, which never loads
them. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from _calibrate import calibration_us
from _poll_naive import naive_in_child
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


# -- measuring, from a separate process ------------------------------------------------------------------
# The probe runs in its own process (``_probe``) so that its /proc reads never take the measured process's
# GIL or CPU; the bench talks to it over a pipe: "cpu" for a CPU snapshot, "stop" for the memory peaks.

ROLES = ("loop thread", "loop's other threads", "worker processes")


def _read(path: str) -> str:
    """A /proc file's text, '' when the process or thread is gone (or the file is unreadable)."""
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    return [int(child) for tid in tids for child in _read(f"/proc/{pid}/task/{tid}/children").split()]


def _tree(root: int, exclude: set[int]) -> list[int]:
    """``root`` and its descendants, minus the ``exclude`` subtrees (the site and the probe)."""
    tree, frontier = [root], [root]
    while frontier:
        for child in _children(frontier.pop()):
            if child not in exclude and child not in tree:
                tree.append(child)
                frontier.append(child)
    return tree


def _ticks(stat_path: str) -> int:
    """User + system clock ticks of a process or thread (fields 14 and 15 of its stat file)."""
    fields = _read(stat_path).rsplit(")", 1)[-1].split()
    return int(fields[11]) + int(fields[12]) if len(fields) > 12 else 0


def _kb(path: str, key: str) -> int:
    line = next((line for line in _read(path).splitlines() if line.startswith(key)), f"{key} 0")
    return int(line.split()[1])


def _cpu_split(root: int, exclude: set[int], site: int) -> dict[str, float]:
    """CPU seconds so far, by role: the daemon's event-loop thread, its other threads (``to_thread``
    store calls, the outbox pool), its worker processes (fork server and CPU pool); the site and the
    probe itself, which are outside the daemon, for scale."""
    tick = os.sysconf("SC_CLK_TCK")
    loop = _ticks(f"/proc/{root}/task/{root}/stat")
    workers = sum(_ticks(f"/proc/{pid}/stat") for pid in _tree(root, exclude)[1:])
    return {
        "loop thread": loop / tick,
        "loop's other threads": (_ticks(f"/proc/{root}/stat") - loop) / tick,
        "worker processes": workers / tick,
        "site": _ticks(f"/proc/{site}/stat") / tick,
        "probe": time.process_time(),
    }


def _probe(root: int, site: int, conn: Connection, period_s: float) -> None:  # the probe's process
    exclude = {site, os.getpid()}
    peaks: dict[str, int] = {"rss": 0, "pss": 0}
    splits: dict[str, list[int]] = {"rss": [], "pss": []}  # per process at the peak, loop's process first
    samples = 0
    while os.getppid() == root:
        if conn.poll(period_s):
            command = conn.recv()
            if command == "stop":
                conn.send({"peak_kb": peaks, "split_kb": splits})
                return
            conn.send(_cpu_split(root, exclude, site))
            continue
        pids, samples = _tree(root, exclude), samples + 1
        rss = [_kb(f"/proc/{pid}/status", "VmRSS:") for pid in pids]
        if sum(rss) > peaks["rss"]:
            peaks["rss"], splits["rss"] = sum(rss), [rss[0], *sorted(rss[1:], reverse=True)]
        # smaps_rollup makes the kernel walk the page tables (~25 us per MB, ~11 ms for the whole tree,
        # under each process's mmap lock), so PSS is read once a second, not every 0.2 s.
        if samples % 5 == 1:
            pss = [_kb(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in pids]
            if sum(pss) > peaks["pss"]:
                peaks["pss"], splits["pss"] = sum(pss), [pss[0], *sorted(pss[1:], reverse=True)]


@dataclass
class Probe:
    """The probe process's handle, plus the event-loop lag ticker (which must run on the measured loop)."""

    site: int
    period_s: float = 0.2
    lags_s: list[float] = field(default_factory=list)
    memory: dict[str, dict[str, Any]] = field(default_factory=dict)

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_probe, args=(os.getpid(), self.site, child, self.period_s), daemon=True
        )
        self._process.start()

    def cpu(self) -> dict[str, float]:
        self._conn.send("cpu")
        return dict(self._conn.recv())

    def stop(self) -> None:
        self._conn.send("stop")
        self.memory = self._conn.recv()
        self._process.join(5)

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
    cpu_s: dict[str, float]  # by role (see _cpu_split)
    report: RunReport

    @property
    def daemon_cpu_s(self) -> float:
        return sum(self.cpu_s[role] for role in ROLES)

    @property
    def loop_process_cpu_s(self) -> float:
        return self.cpu_s["loop thread"] + self.cpu_s["loop's other threads"]


async def _run_pass(daemon: Daemon, probe: Probe, *, lag: bool) -> Pass:
    ticker = asyncio.create_task(probe.tick()) if lag else None
    before, wall = probe.cpu(), time.perf_counter()
    report = await daemon.run_once()
    wall, after = time.perf_counter() - wall, probe.cpu()
    if ticker:
        ticker.cancel()
    return Pass(wall, {role: after[role] - before[role] for role in after}, report)


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
        async with httpx.AsyncClient(timeout=300) as client:  # the site rebuilds a tenth of its feeds
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
    try:
        port = ready.get(timeout=600)
        probe = Probe(site=site.pid or -1)
        sample = range(min(args.sample, args.feeds))
        with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
            etags: dict[int, str] = {}
            naive_db = Path(tmp, "naive.db")
            naive_cold, etags = naive_in_child(port, sample, naive_db, steady=False, etags=etags)
            probe.start()
            cold, steady = asyncio.run(_daemon_passes(Path(tmp, "monitor.db"), port, args, probe))
            probe.stop()
            naive_steady, etags = naive_in_child(port, sample, naive_db, steady=True, etags=etags)
    finally:
        site.terminate()
        site.join(5)
    n = args.feeds
    # The cold pass is measured through storage, as the issue defines it; the story stage that run_once
    # runs after the polls (grouping 20 back-catalogue articles per feed) is timed apart and reported too.
    stage = cold.report.stories
    cold_rate, steady_rate = n / max(1e-9, cold.wall_s - stage.seconds), n / steady.wall_s
    cold_all_rate = n / cold.wall_s
    stage_rate = stage.articles / stage.seconds if stage.seconds else 0.0
    naive_cold_rate, naive_steady_rate = len(sample) / naive_cold, len(sample) / naive_steady
    lag_p99, lag_max = _p99_ms(probe.lags_s), 1000 * max(probe.lags_s, default=0.0)
    peak_mb = {kind: kb / 1024 for kind, kb in probe.memory["peak_kb"].items()}
    print(
        f"feeds: {n} (20 items each), stories {'on' if args.stories else 'off'}, "
        f"machine load at the end: {os.getloadavg()[0]:.2f} (2 cores), "
        f"calibration loop {calibration_us()} us (see bench/_calibrate.py)"
    )
    print(
        f"cold   : {cold_rate:7.1f} feeds/s  ({20 * cold_rate:.0f} entries/s, {cold.wall_s:.1f} s, "
        f"CPU per feed {1000 * cold.daemon_cpu_s / n:.1f} ms, of which the event loop's process "
        f"{1000 * cold.loop_process_cpu_s / n:.1f} ms, story stage included)   target >= 100"
    )
    if stage.articles:
        print(
            f"         story stage after the polls: {stage.articles} articles in {stage.seconds:.1f} s "
            f"({stage_rate:.0f} articles/s); cold pass including it: {cold_all_rate:.1f} feeds/s"
        )
    print(
        f"steady : {steady_rate:7.1f} polls/s  ({steady.wall_s:.1f} s, 10% with one new page, CPU per poll "
        f"{1000 * steady.daemon_cpu_s / n:.1f} ms, "
        f"loop's process {1000 * steady.loop_process_cpu_s / n:.1f} ms)"
        "   target >= 500"
    )
    for name, done in (("cold", cold), ("steady", steady)):
        split = ", ".join(f"{role} {1000 * done.cpu_s[role] / n:.1f}" for role in (*ROLES, "site", "probe"))
        print(f"CPU ms per {'feed' if name == 'cold' else 'poll'}, {name}: {split}")
    for kind in ("rss", "pss"):
        split = " + ".join(f"{kb / 1024:.0f}" for kb in probe.memory["split_kb"][kind])
        print(
            f"peak {kind.upper()} (daemon + pool): {peak_mb[kind]:.0f} MB ({split} MB, loop's process first)"
            "   target <= 300"
        )
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
                "cold_with_stories_feeds_per_s": round(cold_all_rate, 1),
                "story_stage_articles_per_s": round(stage_rate, 1),
                "steady_polls_per_s": round(steady_rate, 1),
                "peak_rss_mb": round(peak_mb["rss"], 1),
                "peak_pss_mb": round(peak_mb["pss"], 1),
                "loop_lag_p99_ms": round(lag_p99, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
