"""A fixed pure-Python loop, timed, printed beside a bench's figures.

This machine's speed varies by 2× from one hour to the next (shared hosts: the same loop took 8.5 µs in
one session and 20 µs in another, with the load average near zero). A figure without it cannot be
compared with one taken at another time; ``bench/match.py`` and ``bench/poll.py`` print it.
"""

from __future__ import annotations

import time


def calibration_us() -> float:
    """Microseconds for ``sum(range(1000))``, the best of 5 × 200 runs (about 7 on a recent laptop core)."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(200):
            sum(range(1000))
        best = min(best, (time.perf_counter() - started) / 200 * 1e6)
    return round(best, 2)
