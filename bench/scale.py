"""Scale-out: steady-state polls/s and alerts/s with 1, 2 and 3 ``monitor run`` workers on PostgreSQL
(the job-queue mode), and the embedded SQLite mode beside them, in one run.

Not a test (pytest does not collect it). Run from the repository root:

    .venv/bin/python bench/scale.py [--quick] [--db URL] [--feeds N] [--measure S]

``--db`` (default ``$MONITOR_TEST_DATABASE_URL``) is a PostgreSQL database; every configuration gets a
schema of its own. One site process on 127.0.0.1 (``tests/scale/_site.py``) serves the feeds (a new item
every ``--every`` seconds per feed, content carried in the feed) and counts deliveries to two webhook
channels (every item matches one watchlist per channel: two alerts per new article). Every source is
due again one to two seconds after each poll, so the workers are saturated: what is measured is
capacity. After ``--warmup`` seconds (first polls, process pools, engine) the site's counters and the
workers' CPU time (process trees, pools included) are read twice, ``--measure`` seconds apart:

* polls/s and alerts/s: fetches and deliveries the site saw per wall-clock second; articles/s: rows
  the workers stored (a saturated poller finds several new items per poll, so polls and articles
  are both reported);
* CPU ms per poll and per article (workers only, process pools included; PostgreSQL and the site are
  not counted) and polls per CPU-second, the per-core figures that depend less on what else the
  machine runs.

``--latency S`` makes every feed answer take S seconds, as real publishers do (network and server
time), and ``--concurrency C`` bounds each process's polls in flight, as a deployment's ``workers``
setting does: one process can then do at most C / S polls/s however idle its cores are, which is the
situation where a replica adds capacity on any machine (``cores busy``, the workers' CPU-seconds per
second, shows how far from CPU-bound each configuration is). With the default 0 the run is CPU-bound:
it measures what the cores of this machine can do, shared by every worker, PostgreSQL and the site.

The baseline is the naive answer "one worker": every ratio is against PostgreSQL with one worker in the
same run. On a 2-core machine shared with other work, 2 and 3 workers cannot scale linearly (PostgreSQL
and the site use the same cores); the CPU per poll says whether the job queue itself costs more as
workers are added. Prints a table, then one JSON line: ``{"bench": "scale", "results": [...]}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.scale._cluster import (  # the repository root is on the path now
    ClusterConfig,
    SiteProcess,
    Worker,
    pg_schema,
    query,
    tree_cpu_s,
    worker_env,
)


@dataclass
class Result:
    mode: str
    workers: int
    polls_per_s: float
    articles_per_s: float
    alerts_per_s: float
    cpu_ms_per_poll: float
    cpu_ms_per_article: float
    polls_per_cpu_s: float
    cores_busy: float  # the workers' CPU-seconds per wall-clock second
    polls_ratio: float = 1.0  # against PostgreSQL with one worker
    alerts_ratio: float = 1.0


@contextmanager
def _database(mode: str, db: str, tmp: Path, n: int) -> Iterator[str]:
    if mode == "sqlite":
        yield f"sqlite:///{tmp / f'bench{n}.db'}"
        return
    with pg_schema(db) as url:
        yield url


def measure(mode: str, workers: int, *, db: str, args: argparse.Namespace, n: int) -> Result:
    tmp = Path(tempfile.mkdtemp(prefix=f"scale-{mode}{workers}-"))
    site = SiteProcess(feeds=args.feeds, every=args.every, delay=args.latency)
    try:
        with _database(mode, db, tmp, n) as url:
            config = ClusterConfig(
                database_url=url,
                site=site,
                interval=1.0,
                max_interval=2.0,
                tick=1.0,
                workers=args.concurrency,
                jobs={"heartbeat": 5, "stalled_after": 30, "recover_every": 10, "dispatch_every": 1},
                stories=args.stories == "on",
            ).write(tmp / "monitor.yaml")
            procs = [Worker(config, tmp, i, env=worker_env()) for i in range(workers)]
            try:
                if mode == "postgresql":
                    for p in procs:
                        p.worker_id()
                time.sleep(args.warmup)
                pids = [p.pid for p in procs]
                c0, a0, t0, cpu0 = site.get("/_counts"), _articles(url), time.monotonic(), tree_cpu_s(pids)
                time.sleep(args.measure)
                c1, a1, t1, cpu1 = site.get("/_counts"), _articles(url), time.monotonic(), tree_cpu_s(pids)
            finally:
                codes = [p.stop() for p in procs]
            if any(codes):
                raise RuntimeError(f"{mode} x{workers}: worker exit codes {codes}: {procs[0].tail()}")
    finally:
        site.close()
    polls = c1["fetches"] - c0["fetches"]
    alerts = c1["hooks"] - c0["hooks"]
    articles = a1 - a0
    cpu = cpu1 - cpu0
    wall = t1 - t0
    return Result(
        mode=mode,
        workers=workers,
        polls_per_s=round(polls / wall, 1),
        articles_per_s=round(articles / wall, 1),
        alerts_per_s=round(alerts / wall, 1),
        cpu_ms_per_poll=round(1000 * cpu / max(1, polls), 2),
        cpu_ms_per_article=round(1000 * cpu / max(1, articles), 2),
        polls_per_cpu_s=round(polls / cpu, 1) if cpu > 0 else 0.0,
        cores_busy=round(cpu / wall, 2),
    )


def _articles(url: str) -> int:
    """Articles stored so far (the database the workers write)."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///") :]) as conn:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    return int(query(url, "SELECT count(*) FROM articles")[0][0])


def _load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description="Scale-out: polls/s and alerts/s by worker count.")
    parser.add_argument("--quick", action="store_true", help="fewer feeds, shorter phases")
    parser.add_argument("--db", default=os.environ.get("MONITOR_TEST_DATABASE_URL"))
    parser.add_argument("--feeds", type=int, default=None, help="default 600, --quick 300")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between items of one feed")
    parser.add_argument("--warmup", type=float, default=None, help="default 25, --quick 20")
    parser.add_argument("--measure", type=float, default=None, help="default 40, --quick 20")
    parser.add_argument("--concurrency", type=int, default=32, help="the config's workers (per process)")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds the site takes to answer each feed request (a publisher's network and server time);"
        " 0, the default, makes the run CPU-bound",
    )
    parser.add_argument(
        "--stories", choices=("on", "off"), default="on", help="story grouping (the default config: on)"
    )
    args = parser.parse_args()
    if not args.db:
        parser.error("a PostgreSQL URL is needed: --db or $MONITOR_TEST_DATABASE_URL")
    args.feeds = args.feeds or (300 if args.quick else 600)
    args.warmup = args.warmup or (20.0 if args.quick else 25.0)
    args.measure = args.measure or (20.0 if args.quick else 40.0)
    db = args.db.replace("postgresql://", "postgresql+psycopg://", 1)

    print(
        f"{args.feeds} feeds, a new item every {args.every:.0f}s per feed, sources due 1-2 s after each poll"
    )
    print(f"stories {args.stories}; warm-up {args.warmup:.0f}s, measured {args.measure:.0f}s")
    print(
        f"{args.concurrency} concurrent polls per process; feed answers take {args.latency:.2f}s"
        + (" (latency-bound: at most concurrency / latency polls/s per process)" if args.latency else "")
    )
    print(f"{_load()} at start")
    runs = [("sqlite", 1), ("postgresql", 1), ("postgresql", 2), ("postgresql", 3)]
    results = []
    for n, (mode, workers) in enumerate(runs):
        r = measure(mode, workers, db=db, args=args, n=n)
        results.append(r)
        print(
            f"  {mode:10s} x{workers}: {r.polls_per_s:6.1f} polls/s  {r.articles_per_s:5.1f} articles/s"
            f"  {r.alerts_per_s:5.1f} alerts/s  {r.cpu_ms_per_poll:6.2f} ms CPU/poll"
            f"  {r.cpu_ms_per_article:6.1f} ms CPU/article  {r.polls_per_cpu_s:5.1f} polls/CPU-s"
            f"  {r.cores_busy:4.2f} cores busy",
            flush=True,
        )
    base = next(r for r in results if r.mode == "postgresql" and r.workers == 1)
    for r in results:
        r.polls_ratio = round(r.polls_per_s / base.polls_per_s, 2) if base.polls_per_s else 0.0
        r.alerts_ratio = round(r.alerts_per_s / base.alerts_per_s, 2) if base.alerts_per_s else 0.0
    print(f"ratios against PostgreSQL x1 (polls, alerts); {_load()} at the end:")
    for r in results:
        print(f"  {r.mode:10s} x{r.workers}: {r.polls_ratio:.2f}  {r.alerts_ratio:.2f}")
    print(
        json.dumps(
            {
                "bench": "scale",
                "feeds": args.feeds,
                "stories": args.stories,
                "measure_s": args.measure,
                "concurrency": args.concurrency,
                "latency_s": args.latency,
                "baseline": "postgresql x1",
                "results": [asdict(r) for r in results],
            }
        )
    )


if __name__ == "__main__":
    main()
