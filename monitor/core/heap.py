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

Not re-exported by ``monitor.core``: only the processes that call it load ``ctypes`` for it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable

__all__ = ["settle_heap", "trim_heap"]


def _trim_function() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_TRIM = _trim_function()


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
