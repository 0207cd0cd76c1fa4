"""Memory of the daemon's process tree, per process: RSS and PSS before, during and after a poll pass.

Not a test (pytest does not collect it). Run from the repository root:

    .venv/bin/python bench/memory.py [--feeds N] [--no-stories] [--runner NAME] [--tracemalloc]
    .venv/bin/python bench/memory.py --compare      # every runner of RUNNERS, each in a fresh interpreter

It drives the real ``Daemon`` through ``Daemon.run_once`` like ``bench/poll.py`` (the same local site,
``bench/_poll_site.py``, and the same resolver hook), a cold pass (every feed new, the carried text
normalised in the workers) and a steady pass (every tenth feed has a new item whose page is fetched and
extracted in a worker). A sampler thread reads ``/proc/<pid>/smaps_rollup`` of every process of the tree
(the site's excluded) every 0.25 s.

RSS counts a page shared by the fork server and its workers once per process, so its sum over the tree
overstates what the tree costs; PSS divides each shared page among the processes that map it, so the PSS
sum is the tree's real footprint. Both are printed, per process (loop, fork server, resource tracker,
workers) and summed, at each phase and at the peak of the sums.

This module imports ``monitor.cli`` at the top and nothing heavy besides: that is exactly what the
installed ``monitor`` script (``monitor run``) imports, and a multiprocessing worker re-runs the parent's
main module unless the runner tells it not to, so the workers here see what deployed workers see.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import monitor.cli  # noqa: F401  (what the `monitor` console script imports: see the module docstring)

# Expression evaluated in a worker (``eval`` pickles by name, so the census needs no importable helper):
# how many modules the worker holds, per top-level package, and per subpackage of ``monitor`` (so that a
# worker holding ``monitor.store`` or ``monitor.match`` shows).
_CENSUS = (
    "sorted(__import__('collections').Counter('.'.join(m.split('.')[:2 if m.startswith('monitor.') else 1])"
    " for m in __import__('sys').modules).items())"
)
# The site (bench/_poll_site.py) in its own interpreter: importing it here would put its generated
# vocabulary (~5 MB) into the process being measured. It reports its port on stdout.
_SITE = """import sys
sys.path.insert(0, %r)
from _poll_site import serve
class Ready:
    def put(self, port):
        print(port, flush=True)
serve(%d, Ready())
"""
HOSTS = 500  # host names f<k>.bench, all resolved to the site, so the per-host cap applies as in poll.py
# Third-party packages only the parse and extract stages use, i.e. only the workers need.
WORKER_ONLY = ("feedparser", "trafilatura", "htmldate", "justext", "courlan", "readability", "ftfy", "tld")


# -- reading /proc --------------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            out.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    return out


def _role(pid: int, parent: int, root: int, roles: dict[int, str]) -> str:
    if pid == root:
        return "loop"
    if roles.get(parent) == "forkserver":  # a fork keeps the fork server's command line
        return "worker"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    if "forkserver import main" in cmd:
        return "forkserver"
    if "resource_tracker" in cmd:
        return "resource_tracker"
    return "other"


def _rollup_kb(pid: int) -> dict[str, int]:
    """Rss, Pss, Private (clean + dirty) and Anonymous KB of one process."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            text = f.read()
    except OSError:
        return out
    for line in text.splitlines()[1:]:
        key, value = line.split(":", 1)
        out[key] = int(value.split()[0])
    out["Private"] = out.get("Private_Clean", 0) + out.get("Private_Dirty", 0)
    return out


@dataclass
class Proc:
    pid: int
    role: str
    rss_kb: int
    pss_kb: int
    private_kb: int


def snapshot(exclude: set[int]) -> list[Proc]:
    """Every process of this process's tree (minus the ``exclude`` subtrees), loop process first."""
    root, kids = os.getpid(), _children()
    roles, frontier = {root: "loop"}, [root]
    while frontier:
        parent = frontier.pop()
        for child in kids.get(parent, []):
            if child not in exclude:
                roles[child] = _role(child, parent, root, roles)
                frontier.append(child)
    procs = []
    for pid, role in roles.items():
        roll = _rollup_kb(pid)
        if roll:
            procs.append(Proc(pid, role, roll["Rss"], roll["Pss"], roll["Private"]))
    order = {"loop": 0, "forkserver": 1, "resource_tracker": 2, "worker": 3}
    return sorted(procs, key=lambda p: (order.get(p.role, 4), p.pid))


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


def show(phase: str, procs: list[Proc]) -> dict[str, Any]:
    rss, pss = sum(p.rss_kb for p in procs), sum(p.pss_kb for p in procs)
    print(f"{phase}: RSS {_mb(rss)} MB, PSS {_mb(pss)} MB over {len(procs)} processes")
    for p in procs:
        print(
            f"  {p.role:16s} {p.pid:7d}  RSS {_mb(p.rss_kb):6.1f}  PSS {_mb(p.pss_kb):6.1f}  "
            f"private {_mb(p.private_kb):6.1f} MB"
        )
    return {
        "rss_mb": _mb(rss),
        "pss_mb": _mb(pss),
        "procs": [{"role": p.role, "rss_mb": _mb(p.rss_kb), "pss_mb": _mb(p.pss_kb)} for p in procs],
    }


@dataclass
class Sampler:
    """Keeps the tree's snapshot with the highest RSS sum and the one with the highest PSS sum."""

    exclude: set[int]
    peak_rss: list[Proc] = field(default_factory=list)
    peak_pss: list[Proc] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            procs = snapshot(self.exclude)
            if sum(p.rss_kb for p in procs) > sum(p.rss_kb for p in self.peak_rss):
                self.peak_rss = procs
            if sum(p.pss_kb for p in procs) > sum(p.pss_kb for p in self.peak_pss):
                self.peak_pss = procs

    def stop(self) -> None:
        self._stop.set()


# -- the daemon -----------------------------------------------------------------------------------------


RUNNERS: dict[str, dict[str, Any]] = {
    # a bare fork-server pool, workers re-run the parent's main module: the runner before issue #3's
    # memory work, kept as the comparison point
    "plain": {"preload": (), "parent_main": True, "freeze": False},
    # workers skip the parent's main module, import what their first task needs themselves
    "mainless": {"preload": ()},
    # preloaded, but the workers' collector may visit (and so write to) the inherited objects
    "unfrozen": {"freeze": False},
    # ExecutorRunner() as the daemon builds it
    "tuned": {},
}


def _runner(kind: str) -> Any:
    from monitor.pipeline import ExecutorRunner

    return ExecutorRunner(**RUNNERS[kind])


async def _loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


async def _passes(db: Path, port: int, args: argparse.Namespace, sampler: Sampler) -> dict[str, Any]:
    import httpx

    from monitor.fetch import HttpFetcher
    from monitor.runtime import Daemon, fetch_policy
    from monitor.settings import Settings

    settings = Settings.model_validate(
        {
            "database_url": f"sqlite:///{db}",
            "log_level": "WARNING",
            "http_port": None,
            "stories": {"enabled": args.stories},
            "fetch": {"allow_private_networks": True, "concurrency": 100, "per_host": 2, "timeout": 60},
            "sources": [
                {
                    "name": f"feed{i}",
                    "url": f"http://f{i % HOSTS}.bench:{port}/feed/{i}",
                    "first_poll": "store",
                    "trust_feed_content": True,
                }
                for i in range(args.feeds)
            ],
            "watchlists": [
                {"name": "court", "query": '"police court"', "channels": ["console"]},
                {"name": "water", "query": '"water power" OR "power water"', "channels": ["console"]},
            ],
        }
    )
    daemon = Daemon(settings, console_stream=io.StringIO(), cpu=_runner(args.runner))
    await daemon.fetcher.aclose()
    daemon.fetcher = daemon.pipeline.fetcher = HttpFetcher(
        policy=fetch_policy(settings),
        max_connections=settings.fetch.concurrency,
        per_host_limit=settings.fetch.per_host,
        resolver=_loopback,
    )
    out: dict[str, Any] = {}
    try:
        await asyncio.to_thread(daemon.prepare)
        out["ready"] = show("ready (config synced, no worker yet)", snapshot(sampler.exclude))
        before = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
        sampler.start()
        started = time.perf_counter()
        cold = await daemon.run_once()
        assert cold.failures == 0 and cold.new_articles == 20 * args.feeds, cold
        out["cold_s"] = round(time.perf_counter() - started, 1)
        out["after_cold"] = show("after the cold pass", snapshot(sampler.exclude))
        async with httpx.AsyncClient(timeout=60) as client:  # the site may be slow on a busy machine
            (await client.get(f"http://127.0.0.1:{port}/_bump")).raise_for_status()
        steady = await daemon.run_once()
        assert steady.failures == 0 and steady.new_articles == len(range(0, args.feeds, 10)), steady
        out["after_steady"] = show("after the steady pass", snapshot(sampler.exclude))
        census = await daemon.cpu.run(eval, _CENSUS)
        shown = (f"{k} {n}" for k, n in census if n >= 5 or k.startswith("monitor"))
        print("a worker's modules per package:", ", ".join(shown))
        out["worker_modules"] = sum(n for _, n in census)
        held = Counter(m.split(".")[0] for m in sys.modules if m.split(".")[0] in WORKER_ONLY)
        print(f"loop process: {len(sys.modules)} modules, of packages only workers use: {dict(held)}")
        out["loop_modules"] = len(sys.modules)
        if before is not None:
            print("loop process, Python heap growth over both passes (tracemalloc, top 12 files):")
            for stat in tracemalloc.take_snapshot().compare_to(before, "filename")[:12]:
                print(f"  {stat.size_diff / 2**20:7.1f} MB  {stat.traceback[0].filename}")
    finally:
        sampler.stop()
        await daemon.aclose()
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    site = subprocess.Popen(
        [sys.executable, "-c", _SITE % (str(Path(__file__).parent), args.feeds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    sampler = Sampler(exclude={site.pid})
    try:
        assert site.stdout is not None
        port = int(site.stdout.readline())
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
            out = asyncio.run(_passes(Path(tmp, "monitor.db"), port, args, sampler))
    finally:
        site.terminate()
        site.wait(5)
    out["peak_rss"] = show("peak of the RSS sum", sampler.peak_rss)
    out["peak_pss"] = show("peak of the PSS sum", sampler.peak_pss)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--runner", choices=tuple(RUNNERS), default="tuned")
    parser.add_argument("--no-stories", dest="stories", action="store_false", help="stories.enabled: false")
    parser.add_argument("--tracemalloc", action="store_true", help="list the loop's Python heap growth")
    parser.add_argument("--compare", action="store_true", help="run each runner in a child")
    args = parser.parse_args()
    from monitor.log import configure

    configure(fmt="console", level="WARNING")
    if args.compare:
        results = {}
        for kind in RUNNERS:
            argv = [sys.executable, __file__, "--feeds", str(args.feeds), "--runner", kind]
            argv += [] if args.stories else ["--no-stories"]
            print(f"== runner {kind}", flush=True)
            lines = subprocess.run(argv, check=True, capture_output=True, text=True).stdout.splitlines()
            print("\n".join(lines[:-1]))
            results[kind] = json.loads(lines[-1])
        print(json.dumps({"bench": "memory", "feeds": args.feeds, "load": os.getloadavg()[0], **results}))
        return
    if args.tracemalloc:
        tracemalloc.start()
    out = run(args)
    print(f"machine load at the end: {os.getloadavg()[0]:.2f} (2 cores)")
    peak_rss, peak_pss = out["peak_rss"], out["peak_pss"]
    summary = {
        "bench": "memory",
        "runner": args.runner,
        "feeds": args.feeds,
        "stories": args.stories,
        "peak_rss_mb": peak_rss["rss_mb"],
        "peak_pss_mb": peak_pss["pss_mb"],
        "peak_rss_split_mb": [p["rss_mb"] for p in peak_rss["procs"]],
        "peak_pss_split_mb": [p["pss_mb"] for p in peak_pss["procs"]],
        "roles": [p["role"] for p in peak_pss["procs"]],
        "after_steady_pss_mb": out["after_steady"]["pss_mb"],
        "worker_modules": out["worker_modules"],
        "loop_modules": out["loop_modules"],
        "cold_s": out["cold_s"],
        "load": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
