"""Scale-out on procrastinate: three ``monitor run`` worker processes against one PostgreSQL.

300 feeds on a local site process publish new items over time (one every 40 s per feed, spread out);
every item matches two watchlists bound to two webhook channels of the same site, which records each
delivery's idempotency key. After ``RUN_S`` the site stops publishing and the cluster gets up to
``SETTLE_S`` to catch up; then the workers get SIGTERM and the test checks, from the site's request log,
the database and the receiver:

* every published item is stored exactly once;
* every alert is sent and received under its own idempotency key, exactly once (in the kill phase a
  repeat is allowed only for a message accepted before the kill whose acceptance the killed worker
  never recorded, at most two per channel, as in ``tests/alerts/test_crash.py``);
* no feed was fetched sooner than its minimum interval after the previous fetch (in the kill phase,
  once per source the killed worker was polling: that poll was fetched but never recorded, and is
  retried by another worker);
* the work was shared (the first phase runs the roles ``all``, ``poller`` and ``notifier``: the
  poller never delivers, the notifier never polls); in the kill phase, the victim's running jobs
  were recovered and completed by the others (``monitor.recover``: procrastinate's stalled-job API).
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PG_ENV

from ._cluster import ClusterConfig, SiteProcess, Worker, pg_client_ports, pg_schema, query, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FEEDS = 300
ITEM_EVERY_S = 40.0
INTERVAL_S = 15.0  # every source's minimum interval: no feed may be fetched sooner after a fetch
RUN_S = 70.0  # publishing time; the phase ends when the cluster has caught up (at most SETTLE_S more)
SETTLE_S = 120.0
KILL_AFTER_S = 25.0
SLACK_S = 0.05  # request times are taken by the site, fetch schedules by the workers (same clock)


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"scale-out test skipped: set {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    if base.startswith("postgresql://"):
        base = "postgresql+psycopg://" + base[len("postgresql://") :]
    with pg_schema(base) as url:
        yield url


@pytest.fixture
def site() -> Iterator[SiteProcess]:
    proc = SiteProcess(feeds=FEEDS, every=ITEM_EVERY_S, delay=0.2)
    try:
        yield proc
    finally:
        proc.close()


class Cluster:
    def __init__(self, url: str, site: SiteProcess, tmp: Path, roles: tuple[str, ...]) -> None:
        self.url, self.site = url, site
        config = ClusterConfig(database_url=url, site=site, interval=INTERVAL_S).write(tmp / "monitor.yaml")
        self.workers = [Worker(config, tmp, n, role=r, env=worker_env()) for n, r in enumerate(roles)]
        self.ids = [w.worker_id() for w in self.workers]  # all registered: the clock starts
        self.started = time.time()

    def caught_up(self) -> bool:
        published = len(self.site.get("/_published"))
        stored = query(self.url, "SELECT count(*) FROM articles")[0][0]
        # Stored is not enough: an article's alerts are written by the story stage after it, so an
        # article still waiting for its story has alerts that do not exist yet (not counted as unsent).
        waiting = query(self.url, "SELECT count(*) FROM articles WHERE story_pending")[0][0]
        unsent = query(self.url, "SELECT count(*) FROM alerts WHERE status <> 'sent'")[0][0]
        return bool(stored == published and waiting == 0 and unsent == 0)

    def finish(self) -> None:
        """Stop publishing at ``RUN_S``, wait for the cluster to catch up, then SIGTERM everyone."""
        time.sleep(max(0.0, self.started + RUN_S - time.time()))
        self.site.freeze()
        deadline = time.time() + SETTLE_S
        while time.time() < deadline and not self.caught_up():
            time.sleep(2.0)
        codes = [w.stop() for w in self.workers if w.proc.returncode is None]
        assert all(c == 0 for c in codes), (codes, [w.tail() for w in self.workers])


def fetch_log(site: SiteProcess) -> dict[str, list[float]]:
    log: dict[str, list[float]] = defaultdict(list)
    for path, at in site.get("/_log"):
        log[path].append(at)
    return {p: sorted(ts) for p, ts in log.items()}


def check_articles(c: Cluster) -> int:
    published = c.site.get("/_published")
    rows = query(c.url, "SELECT url, count(*) FROM articles GROUP BY url")
    counts = {url: n for url, n in rows}
    missing = set(published) - set(counts)
    assert not missing, f"{len(missing)} published items never stored, e.g. {sorted(missing)[:3]}"
    assert set(counts) == set(published), "stored articles that were never published"
    assert all(n == 1 for n in counts.values())
    return len(published)


def check_alerts(c: Cluster, *, killed_at: float | None) -> tuple[int, int]:
    """Every alert sent and received once by key; answers (messages, repeats allowed by the kill).

    A ``hit`` row is one message under its own key. A ``story_update`` row (the items are written
    not to group into stories, but the check does not depend on it) is sent under its own key or
    folded into its story's alert (marked sent, never transmitted): received at most once.
    """
    rows = query(c.url, "SELECT id, channel, status, kind FROM alerts")
    unsent = query(
        c.url,
        "SELECT id, channel, status, kind, attempts, created_at, next_attempt_at, claimed_until, last_error"
        " FROM alerts WHERE status <> 'sent' ORDER BY id LIMIT 5",
    )
    assert rows and all(status == "sent" for _id, _ch, status, _kind in rows), (
        Counter(r[2] for r in rows),
        unsent,
        query(c.url, "SELECT now()"),
        [w.tail() for w in c.workers],
    )
    hits = {(ch, f"monitor-alert-{i}") for i, ch, _status, kind in rows if kind == "hit"}
    updates = {(ch, f"monitor-alert-{i}") for i, ch, _status, kind in rows if kind != "hit"}
    received: dict[tuple[str, str], list[float]] = defaultdict(list)
    for channel, key, at in c.site.get("/_hooks"):
        received[(channel, key)].append(at)
    assert hits <= set(received), f"{len(hits - set(received))} alerts never received"
    assert set(received) <= hits | updates, f"unknown keys: {sorted(set(received) - hits - updates)[:5]}"
    repeats = {k: sorted(ts) for k, ts in received.items() if len(ts) > 1}
    if killed_at is None:
        assert not repeats, f"alerts received twice: {sorted(repeats)[:5]}"
    else:
        per_channel = Counter(ch for ch, _key in repeats)
        assert all(n <= 2 for n in per_channel.values()), per_channel
        assert all(len(ts) == 2 and ts[0] <= killed_at <= ts[1] for ts in repeats.values()), repeats
    return len(received), len(repeats)


def check_intervals(c: Cluster, *, in_flight_at_kill: dict[str, float]) -> int:
    """No feed fetched sooner than ``INTERVAL_S`` after its previous fetch; a feed the killed worker
    was polling may have one short gap straddling the kill. Answers the number of fetches."""
    log = fetch_log(c.site)
    assert set(log) == {f"/feed/{n}.xml" for n in range(FEEDS)}
    short: list[tuple[str, float, float]] = []
    for path, times in log.items():
        allowed = in_flight_at_kill.get(path)
        for before, after in itertools.pairwise(times):
            if after - before >= INTERVAL_S - SLACK_S:
                continue
            if allowed is not None and before <= allowed <= after:
                allowed = None  # once
                continue
            short.append((path, before - c.started, after - before))
    assert not short, f"fetched sooner than {INTERVAL_S}s: {short[:5]}"
    # the cluster kept every source on schedule (about every 15-30 s over the run)
    assert min(len(t) for t in log.values()) >= int(RUN_S // 30.0)
    return sum(len(t) for t in log.values())


def counts(c: Cluster, event: str) -> list[int]:
    return [sum(1 for e in w.events() if e.get("event") == event) for w in c.workers]


def test_three_workers_share_the_work_once(pg_url: str, site: SiteProcess, tmp_path: Path) -> None:
    """Roles split the work: ``all`` and ``poller`` poll, ``all`` and ``notifier`` deliver."""
    c = Cluster(pg_url, site, tmp_path, roles=("all", "poller", "notifier"))
    c.finish()
    articles = check_articles(c)
    alerts, _ = check_alerts(c, killed_at=None)
    fetches = check_intervals(c, in_flight_at_kill={})
    polls, sends = counts(c, "source.polled"), counts(c, "alert.sent")
    assert polls[0] > 0 and polls[1] > 0 and polls[2] == 0, polls
    assert sends[1] == 0 and sends[2] > 0, sends
    print(f"articles={articles} alerts={alerts} fetches={fetches} new-article polls={polls} sends={sends}")


def test_killed_worker_jobs_complete_on_the_others(pg_url: str, site: SiteProcess, tmp_path: Path) -> None:
    c = Cluster(pg_url, site, tmp_path, roles=("all", "all", "all"))
    victim, victim_id = c.workers[0], c.ids[0]
    time.sleep(max(0.0, c.started + KILL_AFTER_S - time.time()))
    doing: list[tuple[Any, ...]] = []
    deadline = time.time() + 30.0
    while time.time() < deadline:  # kill while the victim is polling something
        doing = query(
            pg_url,
            "SELECT id FROM procrastinate_jobs WHERE worker_id = %s AND status = 'doing'"
            " AND task_name = 'monitor.poll'",
            victim_id,
        )
        if doing:
            break
        time.sleep(0.05)
    assert doing, "the victim never had a poll in flight"
    # Frozen first, so that the connections listed are all it will ever have: one its pool opened between
    # the listing and the kill was missed once (a job it finished over that connection counted as left).
    os.kill(victim.pid, signal.SIGSTOP)
    while _state(victim.pid) not in ("T", "t"):
        time.sleep(0.01)
    ports = pg_client_ports(victim.pid)
    assert ports, "the victim holds no connection to PostgreSQL"
    victim.kill()
    killed_at = time.time()
    # Statements the victim sent just before the kill (a finished poll's ``finish_job``) may still be in
    # its socket: PostgreSQL runs them before it sees the connection close. Read what was left only once
    # every backend of the victim has ended (a fixed second was not always enough on a loaded machine),
    # or a job completed by the victim itself counts as "left".
    deadline = time.time() + 60.0
    backends = "SELECT count(*) FROM pg_stat_activity WHERE client_port = ANY(%s)"
    while query(pg_url, backends, list(ports))[0][0]:
        assert time.time() < deadline, "the victim's backends did not end"
        time.sleep(0.1)
    left = query(
        pg_url,
        "SELECT id, task_name, args FROM procrastinate_jobs WHERE worker_id = %s AND status = 'doing'",
        victim_id,
    )
    polls = {int(job_id): int(args["source_id"]) for job_id, task, args in left if task == "monitor.poll"}
    assert polls, left
    c.workers = c.workers[1:]
    c.finish()

    # the victim's jobs were recovered by a live worker and completed (successful jobs are deleted)
    recovered = {int(e["job"]) for w in c.workers for e in w.events() if e.get("event") == "job.recovered"}
    assert set(polls) <= recovered, (polls, recovered)
    still = query(pg_url, "SELECT id, status FROM procrastinate_jobs WHERE id = ANY(%s)", list(polls))
    assert not still, still
    names = query(pg_url, "SELECT name FROM sources WHERE id = ANY(%s)", list(polls.values()))
    in_flight = {f"/feed/{name[len('feed') :]}.xml": killed_at for (name,) in names}

    articles = check_articles(c)
    alerts, repeats = check_alerts(c, killed_at=killed_at)
    fetches = check_intervals(c, in_flight_at_kill=in_flight)
    print(
        f"killed worker {victim_id} with {len(left)} running jobs ({len(polls)} polls) at "
        f"{killed_at - c.started:.0f}s; articles={articles} alerts={alerts} repeats={repeats}"
        f" fetches={fetches}"
    )


def _state(pid: int) -> str:
    """The one-letter state of process ``pid`` (``T``: stopped by a signal), from /proc."""
    return Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0]
