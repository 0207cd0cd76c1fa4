"""Where CPU-bound work (parsing, extraction) runs: a process pool in the daemon, inline in small runs.

Parsing a 5 MB feed or extracting a page takes tens of milliseconds of pure Python; doing that on the
event loop would stall every fetch in flight, so the daemon hands it to worker processes.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from typing import Any, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


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

    Worker processes come from a fork server, so they never inherit the locks of the daemon's threads.
    """

    def __init__(self, *, processes: int | None = None, threads: bool = False) -> None:
        workers = processes or max(1, (os.cpu_count() or 2))
        self._executor: Executor = (
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="monitor-cpu")
            if threads
            else ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("forkserver")
            )
        )

    async def run(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
