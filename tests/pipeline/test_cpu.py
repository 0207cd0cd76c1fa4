"""ExecutorRunner's worker processes: what they hold (issue #3's memory budget) and how they start.

The fork server is one per interpreter and keeps the preload list of the first pool that started it, so
each case runs its own interpreter: a probe script, written to a file so that it is a real main module
(the way ``monitor run``'s console script is), drives one runner and prints what a worker saw.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.extract import ExtractionError
from monitor.parse import ParseError
from monitor.pipeline import ExecutorRunner
from monitor.pipeline._cpu import PAGE_EXTRACTOR

TEXT = (
    "Ferry strike\n\nFerry crews in the Osel archipelago walked out on Monday over a new rota that cuts rest "
    "days, leaving the island of Varn without a crossing for the first time since the storm of last winter."
)

PROBE = """
import asyncio, json, os, sys

from monitor.pipeline import ExecutorRunner

PROBE_RAN = True  # what a worker that re-ran this script has in its __main__

# evaluated in the worker, before anything there imports xml.dom.minidom
CENSUS = (
    "(hasattr(__import__('sys').modules['__main__'], 'PROBE_RAN'),"
    " 'xml.dom.minidom' in __import__('sys').modules,"
    " __import__('gc').get_freeze_count())"
)


async def main(options):
    options.setdefault("processes", 1)
    runner = ExecutorRunner(**options)
    loop = asyncio.get_running_loop()
    gaps = []

    async def tick():
        last = loop.time()
        while True:
            await asyncio.sleep(0.01)
            gaps.append(loop.time() - last)
            last = loop.time()

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.05)  # the ticker runs before the call, so a stall inside it shows as a gap
    started = loop.time()
    main_seen, preloaded, frozen = await runner.run(eval, CENSUS)
    first_s = loop.time() - started
    ticker.cancel()
    children = tree()
    runner.close()
    print(json.dumps({"main": main_seen, "preloaded": preloaded, "frozen": frozen, "first_s": first_s,
                      "max_gap_s": max(gaps, default=first_s), "children": children}))


def tree():
    # This process's children and grandchildren: [command line, RSS in kB] (read from /proc).
    parents = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                parents[int(pid)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
    ours, found = {os.getpid()}, True
    while found:
        found = False
        for pid, parent in parents.items():
            if parent in ours and pid not in ours:
                ours.add(pid)
                found = True
    out = []
    for pid in sorted(ours - {os.getpid()}):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmd, open(f"/proc/{pid}/status") as status:
                line = cmd.read().replace(b"\\0", b" ").decode()
                rss = int(status.read().split("VmRSS:")[1].split()[0])
        except (OSError, IndexError):
            continue
        out.append([line, rss])
    return out


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
"""


def probe(tmp_path: Path, **options: Any) -> dict[str, Any]:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    done = subprocess.run(
        [sys.executable, str(script), json.dumps(options)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


# Each case runs with the worker forked from a fork server and spawned (a one-worker pool's default).
STARTS = pytest.mark.parametrize("fork_server", [True, False], ids=["fork-server", "spawned"])


@STARTS
@pytest.mark.parametrize("parent_main", [False, True])
def test_workers_re_run_the_parents_main_module_only_when_asked(
    tmp_path: Path, parent_main: bool, fork_server: bool
) -> None:
    # For `monitor run` the main module is the console script, which imports the whole CLI.
    seen = probe(tmp_path, parent_main=parent_main, preload=[], fork_server=fork_server)
    assert seen["main"] is parent_main


@STARTS
def test_a_worker_starts_with_the_preloaded_modules_and_its_inherited_objects_frozen(
    tmp_path: Path, fork_server: bool
) -> None:
    seen = probe(tmp_path, preload=["xml.dom.minidom"], fork_server=fork_server)
    assert seen["preloaded"] is True
    assert seen["frozen"] > 10_000  # the interpreter's and the preloaded modules' objects


@STARTS
def test_without_preload_or_freeze_a_worker_holds_neither(tmp_path: Path, fork_server: bool) -> None:
    seen = probe(tmp_path, preload=[], freeze=False, fork_server=fork_server)
    assert seen["preloaded"] is False
    assert seen["frozen"] == 0


@STARTS
def test_the_first_call_does_not_stall_the_event_loop_while_the_workers_start(
    tmp_path: Path, fork_server: bool
) -> None:
    # A pool starts its processes inside submit(), and the first start waits until the fork server (or the
    # spawned worker) has imported the stages (seconds on a busy machine): done on the loop's thread, that
    # was one long stall.
    seen = probe(tmp_path, fork_server=fork_server)
    assert seen["max_gap_s"] < seen["first_s"] / 4, seen


def test_a_one_worker_pool_is_spawned_without_a_fork_server_and_holds_less(tmp_path: Path) -> None:
    """A fork server only pays when workers share its pages: with one worker it is a second copy of the
    stages (issue #3's memory budget). The default one-worker pool spawns its worker instead."""
    spawned = probe(tmp_path, processes=1)  # the default start for one worker
    forked = probe(tmp_path, processes=1, fork_server=True)
    spawned_cmds = [command for command, _ in spawned["children"]]
    forked_cmds = [command for command, _ in forked["children"]]
    assert not any("multiprocessing.forkserver" in c for c in spawned_cmds), spawned_cmds
    assert sum("multiprocessing.spawn" in c for c in spawned_cmds) == 1, spawned_cmds
    assert sum("multiprocessing.forkserver" in c for c in forked_cmds) == 2, forked_cmds  # server + worker

    def pool_kb(seen: dict[str, Any]) -> int:
        return sum(rss for command, rss in seen["children"] if "resource_tracker" not in command)

    # Measured: ~53 MB spawned against ~90 MB (fork server ~48 + its worker ~42, summed RSS).
    assert pool_kb(spawned) < 0.8 * pool_kb(forked), (spawned["children"], forked["children"])


@pytest.mark.parametrize(
    ("v2", "v1", "limit"),
    [
        ("max 100000\n", None, None),
        ("200000 100000\n", None, 2.0),
        ("150000 100000\n", None, 1.5),
        (None, ("100000\n", "100000\n"), 1.0),
        (None, ("-1\n", "100000\n"), None),
        (None, None, None),
        ("garbage\n", None, None),
    ],
)
def test_the_cgroup_cpu_limit_is_read_from_v2_or_v1(
    tmp_path: Path, v2: str | None, v1: tuple[str, str] | None, limit: float | None
) -> None:
    from monitor.pipeline._cpu import cgroup_cpu_limit

    paths = tmp_path / "cpu.max", (tmp_path / "quota", tmp_path / "period")
    if v2 is not None:
        paths[0].write_text(v2)
    if v1 is not None:
        paths[1][0].write_text(v1[0])
        paths[1][1].write_text(v1[1])
    assert cgroup_cpu_limit(v2=str(paths[0]), v1=(str(paths[1][0]), str(paths[1][1]))) == limit


def test_a_container_cpu_limit_caps_the_default_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    # A pod limited to 2 CPUs on a 16-core node: one worker, not fifteen.
    from monitor.pipeline import _cpu

    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(16)))
    for limit, workers in [(None, 15), (2.0, 1), (1.5, 1), (0.5, 1), (4.0, 3), (64.0, 15)]:
        monkeypatch.setattr(_cpu, "cgroup_cpu_limit", lambda limit=limit: limit)
        assert _cpu.default_processes() == workers


def test_the_default_pool_leaves_a_core_to_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.pipeline import _cpu

    monkeypatch.setattr(_cpu, "cgroup_cpu_limit", lambda: None)
    for cores, workers, fork_server in [(1, 1, False), (2, 1, False), (3, 2, True), (8, 7, True)]:
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid, n=cores: set(range(n)))
        assert _cpu.default_processes() == workers
        runner = ExecutorRunner()
        try:
            assert (runner._workers, runner.fork_server) == (workers, fork_server)
        finally:
            runner.close()


async def test_callers_racing_the_first_start_all_get_their_result_from_a_worker() -> None:
    runner = ExecutorRunner(processes=2)
    try:
        pids = await asyncio.gather(*(runner.run(os.getpid) for _ in range(20)))
    finally:
        runner.close()
    assert len(pids) == 20
    assert os.getpid() not in pids and len(set(pids)) <= 2


async def test_the_daemons_runner_runs_stage_functions_and_their_errors_cross_back() -> None:
    from monitor.extract import normalize_text
    from monitor.parse import parse_sitemap

    now = datetime(2025, 6, 2, tzinfo=UTC)
    runner = ExecutorRunner(processes=1)
    try:
        article = await runner.run(normalize_text, TEXT, fetched_at=now, url="https://example.org/a")
        with pytest.raises(ParseError):
            await runner.run(
                parse_sitemap, b"\x00 not xml", url="https://example.org/sitemap.xml", headers={}
            )
        with pytest.raises(ExtractionError):
            await runner.run(normalize_text, "", fetched_at=now, url="https://example.org/b")
    finally:
        runner.close()
    assert article.title == "Ferry strike"
    assert article.body.startswith("Ferry crews in the Osel archipelago walked out on Monday")


# -- what a worker imports (issue #3: the functions it runs must not bring the rest of the daemon) -------

# Packages and modules of the daemon that a worker never uses: the store and its ORM, the matcher, the
# fetcher, the runtime and what they bring. Any of them in a worker is private memory in every worker.
NOT_IN_WORKERS = (
    "sqlalchemy",
    "alembic",
    "httpx",
    "httpcore",
    "numpy",
    "procrastinate",
    "psycopg",
    "apscheduler",
    "structlog",
    "rich",
    "pydantic",
    "typer",
    "asyncio",
    "monitor.store",
    "monitor.match",
    "monitor.fetch",
    "monitor.stories",
    "monitor.runtime",
    "monitor.settings",
    "monitor.notify",
    "monitor.cli",
    "monitor.log",
    "monitor.pipeline._poll",
    "monitor.pipeline._entries",
    "monitor.pipeline._articles",
    "monitor.pipeline._stories",
    "monitor.pipeline._cpu",
)
# Packages only the parse and extract stages use: the event-loop process should never load them.
WORKER_ONLY = ("feedparser", "trafilatura", "htmldate", "justext", "readability", "ftfy", "lxml")


def _under(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def _modules_after(code: str) -> list[str]:
    """``sys.modules`` of a fresh interpreter after ``code`` (pytest's imports would hide the answer)."""
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.splitlines()[-1])
    return modules


def test_the_fork_servers_preload_holds_the_stages_and_none_of_the_rest_of_the_daemon() -> None:
    from monitor.pipeline._cpu import WORKER_MODULES

    modules = _modules_after(f"for name in {list(WORKER_MODULES)!r}: __import__(name)")
    assert _under(modules, NOT_IN_WORKERS) == []
    assert {"feedparser", "trafilatura", "monitor.pipeline._work"} <= set(modules)  # it did import


def test_the_event_loops_pipeline_leaves_the_parsers_and_extractors_to_the_workers() -> None:
    modules = _modules_after("import monitor.runtime; from monitor.pipeline import Pipeline, StoryService")
    assert _under(modules, WORKER_ONLY) == []
    assert {"monitor.pipeline._entries", "monitor.pipeline._articles", "monitor.store"} <= set(modules)


def test_the_package_still_offers_its_names_loading_each_on_first_use() -> None:
    import monitor.pipeline as package

    assert set(package.__all__) <= set(dir(package))
    assert all(getattr(package, name) is not None for name in package.__all__)
    with pytest.raises(AttributeError):
        _ = package.Pipelines  # type: ignore[attr-defined]


WORKER_PROBE = """
import asyncio, json
from datetime import UTC, datetime

from monitor.pipeline import ExecutorRunner
from monitor.pipeline._work import page_article, page_links, read_feed, sitemap

MODULES = "sorted(__import__('sys').modules)"


async def main():
    runner = ExecutorRunner(processes=1, fork_server=FORK_SERVER)
    try:
        started = await runner.run(eval, MODULES)
        now = datetime(2025, 6, 2, tzinfo=UTC)
        feed = await runner.run(read_feed, FEED, url="https://example.org/f", headers={}, normalize_at=now)
        links = await runner.run(page_links, PAGE, url="https://example.org/", headers={}, selector="a",
                                 next_selector=None)
        urls = await runner.run(sitemap, SITEMAP, url="https://example.org/sitemap.xml", headers={})
        fed = await runner.run(eval, MODULES)
        article = await runner.run(page_article, PAGE, url="https://example.org/a", fetched_at=now,
                                   content_type=None, feed_title=None, feed_published=None,
                                   language_hint=None)
        after = await runner.run(eval, MODULES)
    finally:
        runner.close()
    assert len(feed.carried) == 1 and links.entries and urls.entries and article.paragraphs
    print(json.dumps({"started": started, "fed": fed, "after": after}))


asyncio.run(main())
"""


@STARTS
def test_a_worker_runs_what_the_pipeline_sends_without_the_rest_of_the_daemon(
    tmp_path: Path, fork_server: bool
) -> None:
    # Through a real pool, the way the daemon starts it: the worker also unpickles its process object and
    # the pool's worker loop, which import modules of their own before the first task.
    para = f"<p>{TEXT.split(chr(10))[-1]}</p>"
    inputs: dict[str, bytes | bool] = {
        "FEED": (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>Ferry strike'
            f"</title><link>https://example.org/a</link><description><![CDATA[{para}]]></description>"
            "</item></channel></rss>"
        ).encode(),
        "PAGE": (
            "<html><head><title>Ferry strike</title></head><body><article><h1>Ferry strike</h1>"
            f'{para * 3}<a href="/a">more</a></article></body></html>'
        ).encode(),
        "SITEMAP": (
            b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<url><loc>https://example.org/a</loc></url></urlset>"
        ),
    }
    script = tmp_path / "worker_probe.py"
    inputs["FORK_SERVER"] = fork_server
    script.write_text("".join(f"{k} = {v!r}\n" for k, v in inputs.items()) + WORKER_PROBE)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert _under(seen["after"], NOT_IN_WORKERS) == []
    page_extractor = ("trafilatura", "htmldate", "courlan", "justext")
    if fork_server:
        # The fork server's preload covered every function: running them imported no module of the
        # daemon in the worker, and the page extractor was there from the start, shared.
        assert _under(sorted(set(seen["after"]) - set(seen["started"])), ("monitor",)) == []
        assert len(_under(seen["started"], page_extractor)) > 10
        return
    # A spawned worker holds the feed stages from its start, and parsing feeds, listing links, reading
    # sitemaps and normalising a feed's carried text never load the page extractor (~10 MB)...
    assert {"feedparser", "monitor.parse._feed", "monitor.extract._fragment"} <= set(seen["started"])
    assert _under(seen["fed"], ("monitor",)) == _under(seen["started"], ("monitor",))
    assert _under(seen["fed"], page_extractor) == []
    # ...which the first page brings, with its modules and nothing else of the daemon.
    added = _under(sorted(set(seen["after"]) - set(seen["fed"])), ("monitor",))
    assert PAGE_EXTRACTOR[0] in added and _under(added, ("monitor.extract",)) == added, added
    assert len(_under(seen["after"], page_extractor)) > 10


async def test_a_worker_that_dies_costs_its_tasks_not_the_pool() -> None:
    """A dead worker breaks a process pool for good; the runner replaces it once and goes on."""
    from monitor.pipeline import WorkerDied

    runner = ExecutorRunner(processes=2)
    try:
        first = await runner.run(os.getpid)
        # in the pool when the other dies, and still running when the pool notices: a broken pool fails
        # its running tasks at once (so this costs no 30 s), where a 2 s task once finished first (CI)
        slow = asyncio.ensure_future(runner.run(time.sleep, 30.0))
        await asyncio.sleep(0.2)
        with pytest.raises(WorkerDied, match="_exit"):
            await runner.run(os._exit, 3)
        with pytest.raises(WorkerDied):  # the pool was broken under it too; its poll is retried later
            await slow
        after = await asyncio.gather(*(runner.run(os.getpid) for _ in range(4)))
        assert runner.replaced == 1
        assert first not in after and os.getpid() not in after  # new workers, still not this process
    finally:
        runner.close()


@pytest.mark.parametrize("configured", [None, 3])
async def test_the_daemon_sizes_its_pool_from_worker_processes(
    tmp_path: Path, configured: int | None
) -> None:
    from monitor.pipeline._cpu import default_processes
    from monitor.runtime import Daemon
    from monitor.settings import Settings

    settings = Settings.model_validate(
        {
            "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "http_port": None,
            "worker_processes": configured,
        }
    )
    daemon = Daemon(settings)
    try:
        assert isinstance(daemon.cpu, ExecutorRunner)
        assert daemon.cpu._workers == (configured or default_processes())
    finally:
        await daemon.aclose()
