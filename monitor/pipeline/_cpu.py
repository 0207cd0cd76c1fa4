"""Where CPU-bound work (parsing, extraction) runs: a process pool in the daemon, inline in small runs.

Parsing a 5 MB feed or extracting a page takes tens of milliseconds of pure Python; doing that on the
event loop would stall every fetch in flight, so the daemon hands it to worker processes.

Memory (issue #3, ``bench/memory.py``): a worker should hold the parse and extract stages and nothing
else, and hold them in pages it shares. Two defaults of ``multiprocessing`` work against that:

- a worker re-runs the parent's main module before its first task. For ``monitor run`` that is the
  installed console script, whose ``from monitor.cli import main`` imports the whole application
  (SQLAlchemy, numpy, httpx, notifiers, ...: ~120 MB) into every worker, which needs none of it. The
  functions the pipeline sends all live in the ``monitor`` package, so workers are started without it
  (``_work_process``). Those functions live in ``_work``, whose imports are the parse and extract
  stages and ``monitor.core``, not the rest of the pipeline;
- each worker imports the stages itself, into private memory. Instead the fork server imports them once
  (``set_forkserver_preload``) and every worker is a copy-on-write fork of it; ``gc.freeze`` at worker
  start keeps the collector from writing to (and so un-sharing) the inherited objects.

How many workers, and whether a fork server: by default one fewer than the cores this process may use
(at least one), because the event loop's process (fetching, the writer and match threads) keeps about
one core busy on its own: in ``bench/poll.py`` the workers used a quarter to a third of the CPU, so on
2 cores a second worker only competed with the loop for the same cores, and cost ~42 MB of RSS. A fork
server (~48 MB) pays for itself only when two or more workers share its pages; a single worker is
spawned directly instead (a fresh interpreter that imports the stages itself, ~53 MB in all, against
~90 MB for a fork server and its one child).

A worker that dies (killed by the OOM killer, a crash in a C extension on hostile input) breaks a
``ProcessPoolExecutor`` for good: every later task fails at once. The runner therefore replaces a broken
pool with a new one (once per breakage, whichever caller sees it first) and raises :class:`WorkerDied`
for the tasks that were in it, so that their polls fail with a recorded error and are retried, while
the daemon goes on with a working pool.
"""

from __future__ import annotations

import asyncio
import gc
import math
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, ParamSpec, Protocol, TypeVar

from monitor.log import get_logger
from monitor.pipeline._work_process import MainlessContext, MainlessSpawnContext, start_worker

log = get_logger("monitor.pipeline")

P = ParamSpec("P")
R = TypeVar("R")

# What the fork server imports before it forks the first worker, so that workers share it instead of each
# importing it on its first task: what every worker unpickles before it runs anything (its process class,
# the pool's worker loop), the functions the pipeline sends (``_work``) and the stage modules behind them,
# named directly because ``_work`` and the stage packages load them lazily. ``tests/pipeline/test_cpu.py``
# checks that running those functions imports no ``monitor`` module beyond these, and nothing of the
# store, matcher or fetcher.
WORKER_MODULES = (
    "concurrent.futures.process",
    "monitor.pipeline._work_process",
    "monitor.pipeline._work",
    "monitor.parse._sniff",
    "monitor.parse._feed",
    "monitor.parse._html",
    "monitor.parse._sitemap",
    "monitor.extract._html",
    "monitor.extract._fragment",
    "monitor.extract._text",
)
# What a spawned worker imports at its start (``start_worker``): the same minus the page extractor
# (trafilatura, htmldate, courlan, justext: ~10 MB of the worker's ~54). A spawned worker shares nothing,
# so preloading only moves import time to its start; a daemon whose sources all carry their text in the
# feed (``trust_feed_content``) never extracts a page and never needs it, and one that does imports it
# with its first page (~0.1 s, once). A fork server preloads it, as then every worker shares it.
PAGE_EXTRACTOR = ("monitor.extract._html", "monitor.extract._text")
SPAWN_MODULES = tuple(name for name in WORKER_MODULES if name not in PAGE_EXTRACTOR)


# Where a container's CPU limit is: cgroup v2's "quota period" (or "max"), cgroup v1's two files.
CGROUP_V2_CPU_MAX = "/sys/fs/cgroup/cpu.max"
CGROUP_V1_CPU = ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def cgroup_cpu_limit(*, v2: str = CGROUP_V2_CPU_MAX, v1: tuple[str, str] = CGROUP_V1_CPU) -> float | None:
    """The CPU limit of this process's cgroup in cores (``--cpus 2``, a pod's ``limits.cpu``), or None
    when there is none or it cannot be read. CPU affinity does not show it: a container limited to 1 CPU
    on a 16-core node still sees 16."""
    try:
        with open(v2, encoding="ascii") as f:
            quota, period = [*f.read().split(), "100000"][:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open(v1[0], encoding="ascii") as q, open(v1[1], encoding="ascii") as per:
            quota_us, period_us = int(q.read()), int(per.read())
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def default_processes() -> int:
    """One fewer than the cores this process may use, and at least one: the cores of its CPU affinity,
    or fewer if its cgroup (a container's CPU limit) allows fewer (rounded up: 1.5 CPUs count as 2)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 2
    limit = cgroup_cpu_limit()
    if limit is not None:
        cores = min(cores, max(1, math.ceil(limit)))
    return max(1, cores - 1)


class WorkerDied(RuntimeError):
    """The worker process running a task died; the pool has been replaced (see the module docstring)."""


class CpuRunner(Protocol):
    async def run(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R: ...

    def close(self) -> None: ...


class InlineRunner:
    """Runs the function on the event loop's thread: for tests and one-shot CLI commands."""

    async def run(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        return fn(*args, **kwargs)

    def close(self) -> None:
        return None


class ExecutorRunner:
    """Runs functions in an executor: a process pool (default) or a thread pool.

    Worker processes come from a fork server or are spawned, never forked from the daemon, so they never
    inherit the locks of the daemon's threads. Options (all keyword-only, defaults as the daemon uses them):

    - ``processes``: how many workers (default :func:`default_processes`).
    - ``fork_server``: start workers from a fork server (True) or spawn each (False); default: a fork
      server when there are two or more workers (see the module docstring).
    - ``preload``: modules each worker holds before its first task: imported once by the fork server, so
      that workers share them (default ``WORKER_MODULES``), or by a spawned worker at its start (default
      ``SPAWN_MODULES``); an empty tuple: each worker imports what its first task needs. The fork server
      is one per process: only the first pool to start it decides what it preloads.
    - ``parent_main``: let workers re-run the parent's main module (``multiprocessing``'s default; then
      functions defined in ``__main__`` can be sent). Off: only importable functions can.
    - ``freeze``: ``gc.freeze()`` in each worker before its first task.
    """

    def __init__(
        self,
        *,
        processes: int | None = None,
        fork_server: bool | None = None,
        threads: bool = False,
        preload: Sequence[str] | None = None,
        parent_main: bool = False,
        freeze: bool = True,
    ) -> None:
        self._workers = workers = processes or default_processes()
        self._started = threads
        self._start_lock = threading.Lock()
        self._starting: asyncio.Task[None] | None = None
        self._executor: Executor
        self._new_pool: Callable[[], Executor] | None = None
        self.replaced = 0  # pools replaced after a worker died (for tests and metrics)
        self.fork_server = not threads and (workers > 1 if fork_server is None else fork_server)
        if threads:
            self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="monitor-cpu")
            return
        context: multiprocessing.context.BaseContext
        initializer: Callable[..., None] | None
        initargs: tuple[object, ...]
        if self.fork_server:  # the fork server imports ``preload``; each worker only freezes
            context = multiprocessing.get_context("forkserver") if parent_main else MainlessContext()
            preload = WORKER_MODULES if preload is None else preload
            if preload:
                context.set_forkserver_preload(list(preload))
            initializer, initargs = (gc.freeze if freeze else None), ()
        else:  # a spawned worker imports ``preload`` itself
            context = multiprocessing.get_context("spawn") if parent_main else MainlessSpawnContext()
            preload = SPAWN_MODULES if preload is None else preload
            initializer, initargs = start_worker, (tuple(preload), freeze)
        self._new_pool = partial(
            ProcessPoolExecutor,
            max_workers=workers,
            mp_context=context,
            initializer=initializer,
            initargs=initargs,
        )
        self._executor = self._new_pool()

    def _start(self) -> None:
        """Start the workers. The first process start waits for the fork server to come up and preload, or
        for a spawned worker to import the stages (1-2 s on a busy 2-core machine), and a pool starts
        processes inside ``submit``: so this runs in a thread, not on the event loop that called
        :meth:`run`."""
        with self._start_lock:
            if not self._started:
                for started in [self._executor.submit(int) for _ in range(self._workers)]:
                    started.result()
                self._started = True

    async def run(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        loop = asyncio.get_running_loop()
        if not self._started:
            # One start for every caller of the first moments (not one waiting thread each), made again
            # only if it failed; shielded so that a cancelled caller does not cancel it for the others.
            starting = self._starting
            if starting is None or starting.done() or starting.get_loop() is not loop:
                starting = self._starting = loop.create_task(asyncio.to_thread(self._start))
            await asyncio.shield(starting)
        executor = self._executor
        try:
            return await loop.run_in_executor(executor, partial(fn, *args, **kwargs))
        except BrokenProcessPool as exc:
            self._replace(executor)
            name = getattr(fn, "__name__", repr(fn))
            raise WorkerDied(f"a worker process died while running {name}: {exc}") from exc

    def _replace(self, broken: Executor) -> None:
        """Put a new pool in place of ``broken``, unless another caller already did."""
        with self._start_lock:
            if self._executor is not broken or self._new_pool is None:
                return
            self._executor = self._new_pool()
            self._started = False  # the next call starts the new workers off the event loop
            self.replaced += 1
        log.error("cpu.worker_died", pools_replaced=self.replaced)
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
