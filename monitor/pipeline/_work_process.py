"""The process classes of ``ExecutorRunner``'s pool: fork-server and spawned processes that skip the
parent's main module, and the initializer of a spawned worker.

It has a module of its own because every worker imports it: a new worker unpickles its process object,
and so imports the module that defines the object's class before it runs anything. Defined in ``_cpu``,
it brought ``asyncio`` (~60 modules, ~8 MB RSS) into every worker; here it brings nothing that
``multiprocessing`` has not already loaded.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import sys
import types
from collections.abc import Iterator, Sequence
from multiprocessing import popen_spawn_posix
from multiprocessing.context import ForkServerContext, ForkServerProcess, SpawnContext, SpawnProcess
from multiprocessing.popen_forkserver import Popen
from multiprocessing.process import BaseProcess

__all__ = [
    "MainlessContext",
    "MainlessProcess",
    "MainlessSpawnContext",
    "MainlessSpawnProcess",
    "start_worker",
]


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """Show ``multiprocessing`` a main module without a file or a spec while it prepares a worker, so the
    worker does not re-run the parent's (see ``_cpu``'s module docstring).

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


class MainlessProcess(ForkServerProcess):
    """A fork-server process that does not import the parent's main module."""

    @staticmethod
    def _Popen(process_obj: BaseProcess) -> Popen:
        with _main_hidden():
            return Popen(process_obj)


class MainlessContext(ForkServerContext):
    Process = MainlessProcess


class MainlessSpawnProcess(SpawnProcess):
    """A spawned process (a fresh interpreter) that does not import the parent's main module."""

    @staticmethod
    def _Popen(process_obj: BaseProcess) -> popen_spawn_posix.Popen:
        with _main_hidden():
            return popen_spawn_posix.Popen(process_obj)


class MainlessSpawnContext(SpawnContext):
    Process = MainlessSpawnProcess


def start_worker(modules: Sequence[str], freeze: bool) -> None:
    """Initializer of a spawned worker: import what a fork server would have preloaded, before the first
    task (so that its cost is paid at start, off every poll's path), then freeze the collector's view of
    those objects as a forked worker does (full collections stop re-scanning them)."""
    for name in modules:
        importlib.import_module(name)
    if freeze:
        gc.freeze()
