"""Giving freed C-heap memory back to the operating system (glibc's ``malloc_trim``).

A long-running daemon frees memory in bursts: a config sync of 10,000 sources, a cold pass's batch of
articles, the story index replacing a large array. glibc keeps most of what is freed in the middle of its
heaps resident, so the process's RSS stays at its high-water mark: after syncing 10,000 sources the
daemon's process held 18 MB of such pages (168 → 151 MB after a trim). ``malloc_trim(0)`` returns them; it
walks the heap, a millisecond or so for a few hundred megabytes, so callers run it after such bursts or
on a timer, never per item. Where there is no glibc (the symbol is missing) it does nothing.

``settle_heap`` also takes what is alive after start-up (the settings, the schema, the matcher: hundreds of
thousands of objects with 10,000 sources) out of the cyclic collector's reach (``gc.freeze``): each full
collection re-scanned them all, about a second of the event loop's process per 10,000 polls of a steady
pass. Garbage is collected first, so only live objects are frozen; one of them that later dies in a
reference cycle is never collected, which bounds the cost at what start-up held.

``limit_arenas`` caps glibc's malloc arenas. Each thread that allocates while another holds an arena's
lock gets an arena of its own (up to eight per core), and each arena keeps its own freed pages: the story
stage's batches, run on whichever thread of the default executor is free, left a few megabytes in each.
The daemon's threads mostly take turns on the GIL, so they seldom contend for an arena; two serve them
(``bench/poll.py`` at 2,000 feeds: peak RSS of the loop's process 216 -> 210 MB, with a trim after each
story batch). An explicit ``MALLOC_ARENA_MAX`` in the environment is left to glibc.

Not re-exported by ``monitor.core``: only the processes that call it load ``ctypes`` for it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from collections.abc import Callable

__all__ = ["limit_arenas", "settle_heap", "trim_heap"]

_M_ARENA_MAX = -8  # mallopt's parameter number for the arena cap (glibc's malloc.h)


def _libc_functions(*names: str) -> list[Callable[..., int] | None]:
    """The C library's functions of these names (None for each where there is no glibc)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return [None for _ in names]
    return [getattr(libc, name, None) for name in names]


_TRIM, _MALLOPT = _libc_functions("malloc_trim", "mallopt")


def limit_arenas(count: int = 2) -> bool:
    """Cap the malloc arenas of this process at ``count`` (see the module's docstring); False where that
    is not possible (no glibc) or the environment sets ``MALLOC_ARENA_MAX`` itself. Call it before
    starting threads: arenas made before the call stay."""
    if _MALLOPT is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return bool(_MALLOPT(_M_ARENA_MAX, count))


def trim_heap() -> bool:
    """Return the C heap's free pages to the system; False where that is not possible (no glibc)."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


def settle_heap() -> None:
    """After start-up: collect the garbage, freeze what is left (see the module's docstring), trim."""
    gc.collect()
    gc.freeze()
    trim_heap()
