"""Giving freed memory back to the operating system after the index replaced a large array.

The index's large arrays live in their own mappings now (_growable.py), so growing or shrinking them
frees nothing into the C heap. The chunked merges, packs and gathers still allocate temporaries of a
few megabytes, which glibc serves from its heap once its mmap threshold has risen (it does, after the
first large free), and a freed block in the middle of the heap stays resident (before the mappings,
filling a 100,000-article window left about 130 MB of RSS in freed blocks; at the end of a 200,000-article
fill a trim still returned 13 MB). ``malloc_trim(0)`` returns those pages; it costs a fraction of a
millisecond and runs only after a large array was resized or rebuilt (a few hundred times per 100,000
articles). The call itself is
``monitor.core.heap.trim_heap`` (the daemon also trims after bursts of its own).
"""

from __future__ import annotations

from monitor.core.heap import trim_heap

LARGE = 4 << 20  # bytes: replacing an array at least this big is followed by a trim


def release(nbytes: int) -> None:
    """Call after replacing an array of ``nbytes``: trims the C heap when that was large."""
    if nbytes >= LARGE:
        trim_heap()
