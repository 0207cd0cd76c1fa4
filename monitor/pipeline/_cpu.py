"""Where CPU-bound work (parsing, extraction) runs: a process pool in the daemon, inline in small runs.

Parsing a 5 MB feed or extracting a page takes tens of milliseconds of pure Python; doing that on the
event loop would stall every fetch in flight, so the daemon hands it to worker processes.

Memory (issue #3, ``bench/memory.py``): a worker should hold the parse and extract stages and nothing
else, and hold them in pages it shares. Two defaults of ``multiprocessing`` work against that:

- a worker re-runs the parent's main module before its first task. For ``monitor run`` that is the
  installed console script, whose ``from monitor.cli import main`` imports the whole application
  (SQLAlchemy, numpy, httpx, notifiers, ...: ~120 MB) into every worker, which needs none of it. The
  functions the pipeline sends all live in the ``monitor`` package, so workers are started without it;
- each worker imports the stages itself, into private memory. Instead the fork server imports them once
  (``set_forkserver_preload``) and every worker is a copy-on-write fork of it; ``gc.freeze`` at worker
  start keeps the collector from writing to (and so un-sharing) the inherited objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from multiprocessing.context import ForkServerContext, ForkServerProcess
from multiprocessing.popen_forkserver import Popen
from multiprocessing.process import BaseProcess
from typing import Any, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

# What the fork server imports before it forks the first worker: the stage modules behind the functions
# the pipeline runs on a CpuRunner (``read_feed`` and ``carried_article`` in ``_entries`` / ``_articles``,
# ``extract_html``, the page and sitemap parsers), named directly because the stage packages load their
# names lazily. ``monitor.pipeline._entries`` drags in the whole pipeline package (store, matcher,
# fetcher: ~60 MB that workers never use) until those two functions move to a module of their own.
WORKER_MODULES = (
    "monitor.parse._feed",
    "monitor.parse._html",
    "monitor.parse._sitemap",
    "monitor.extract._html",
    "monitor.extract._fragment",
    "monitor.pipeline._entries",
)


class CpuRunner(Protocol):
    async def run(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R: ...

    def close(self) -> None: ...


class InlineRunner:
    """Runs the function on the event loop's thread: for tests and one-shot CLI commands."""

    async def run(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        return fn(*args, **kwargs)

    def close(self) -> None:
        return None


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """Show ``multiprocessing`` a main module without a file or a spec while it prepares a worker, so the
    worker does not re-run the parent's (see the module docstring).

    ``spawn.get_preparation_data`` reads ``sys.modules["__main__"]`` and has no option for this. The swap
    lasts one process start (the pool starts them under its own lock; the first one also waits for the
    fork server's preload, in the thread of ``ExecutorRunner._start``). Other threads that looked at
    ``__main__`` meanwhile would see an empty module: in the daemon nothing does, the console script
    defines nothing.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class _MainlessProcess(ForkServerProcess):
    """A fork-server process that does not import the parent's main module."""

    @staticmethod
    def _Popen(process_obj: BaseProcess) -> Popen:
        with _main_hidden():
            return Popen(process_obj)


class _MainlessContext(ForkServerContext):
    Process = _MainlessProcess


class ExecutorRunner:
    """Runs functions in an executor: a process pool (default) or a thread pool.

    Worker processes come from a fork server, so they never inherit the locks of the daemon's threads.
    Options (all keyword-only, defaults as the daemon uses them):

    - ``preload``: modules the fork server imports, so that workers share them (an empty tuple: each
      worker imports what its first task needs). The fork server is one per process: only the first
      pool to start it decides what it preloads.
    - ``parent_main``: let workers re-run the parent's main module (``multiprocessing``'s default; then
      functions defined in ``__main__`` can be sent). Off: only importable functions can.
    - ``freeze``: ``gc.freeze()`` in each worker before its first task.
    """

    def __init__(
        self,
        *,
        processes: int | None = None,
        threads: bool = False,
        preload: Sequence[str] = WORKER_MODULES,
        parent_main: bool = False,
        freeze: bool = True,
    ) -> None:
        self._workers = workers = processes or max(1, (os.cpu_count() or 2))
        self._started = threads
        self._start_lock = threading.Lock()
        self._starting: asyncio.Task[None] | None = None
        self._executor: Executor
        if threads:
            self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="monitor-cpu")
            return
        context = multiprocessing.get_context("forkserver") if parent_main else _MainlessContext()
        if preload:
            context.set_forkserver_preload(list(preload))
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=gc.freeze if freeze else None,
        )

    def _start(self) -> None:
        """Start the workers. The first process start waits for the fork server to come up and preload
        (1-2 s on a busy 2-core machine) and a pool starts processes inside ``submit``: so this runs in a
        thread, not on the event loop that called :meth:`run`."""
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
        return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
