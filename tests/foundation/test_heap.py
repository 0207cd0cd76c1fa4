"""``settle_heap`` (run after the daemon's start-up) freezes what is alive, after collecting garbage;
``limit_arenas`` caps the malloc arenas that threads get."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import weakref

import pytest

from monitor.core.heap import settle_heap, trim_heap

no_glibc = pytest.mark.skipif(not trim_heap(), reason="no glibc here: limit_arenas does nothing")


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_settle_collects_garbage_then_freezes_the_rest() -> None:
    gc.unfreeze()
    try:
        garbage = weakref.ref(_Cycle())  # reachable only from itself: only the cyclic collector frees it
        alive = _Cycle()
        assert garbage() is not None
        settle_heap()
        assert garbage() is None  # collected before the freeze, not kept forever
        assert gc.get_freeze_count() > 0
        assert all(o is not alive for o in gc.get_objects())  # frozen: out of the collector's scans
    finally:
        gc.unfreeze()


# ``limit_arenas``: counted with glibc's own report (``malloc_info``: one <heap> element per arena) in a
# fresh interpreter, where four threads allocate at once; each new thread gets an arena of its own
# unless the cap stops it.
_ARENAS = """
import ctypes, ctypes.util, os, sys, tempfile, threading
from monitor.core.heap import limit_arenas
limited = limit_arenas(1) if sys.argv[1] == "cap" else None
start = threading.Barrier(4)
kept = []
def allocate():
    start.wait()
    kept.append([bytes(4096) for _ in range(200)])
threads = [threading.Thread(target=allocate) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
libc.fopen.restype = ctypes.c_void_p
path = tempfile.mktemp()
stream = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(stream))
libc.fclose(ctypes.c_void_p(stream))
print(limited, open(path).read().count("<heap nr="))
os.unlink(path)
"""


def _arenas(mode: str, **env: str) -> tuple[str, int]:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    out = subprocess.run(
        [sys.executable, "-c", _ARENAS, mode], capture_output=True, text=True, check=True, env=environ
    ).stdout.split()
    return out[0], int(out[1])


@no_glibc
def test_limit_arenas_caps_the_arenas_that_threads_get() -> None:
    assert _arenas("free") == ("None", 5)  # the main thread's and one per allocating thread
    assert _arenas("cap") == ("True", 1)


@no_glibc
def test_limit_arenas_leaves_an_explicit_environment_setting_alone() -> None:
    assert _arenas("cap", MALLOC_ARENA_MAX="3") == ("False", 3)
