"""A per-key minimum interval between sends, for Slack's "about one message per second per channel".

Holding a per-key lock across the send keeps the spacing exact even when the dispatcher sends several
alerts concurrently; different keys (channels) never wait for each other. A 429 pushes the key's next
slot out by the server's ``Retry-After`` so that the following sends do not hammer it either; a wait
longer than ``max_wait_s`` is not slept through (that would stall the dispatcher) but raised as
``RateLimited`` so that the caller can hand the row back with a retry hint.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["IntervalLimiter", "RateLimited"]


class RateLimited(Exception):
    def __init__(self, wait_s: float) -> None:
        super().__init__(f"rate limited for another {wait_s:.1f}s")
        self.wait_s = wait_s


class IntervalLimiter:
    def __init__(self, *, min_interval_s: float, max_wait_s: float = 5.0) -> None:
        if min_interval_s < 0:
            raise ValueError("min_interval_s must be >= 0")
        self._interval = min_interval_s
        self._max_wait = max(max_wait_s, min_interval_s)
        self._locks: dict[str, asyncio.Lock] = {}
        self._next: dict[str, float] = {}

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """Wait for ``key``'s turn and run the body; the next turn is ``min_interval_s`` after it *ends*.

        Counting from the end (not the start) of a send means that even a request delayed on its way
        out reaches the server at least ``min_interval_s`` after the previous one arrived.
        """
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            delay = self._next.get(key, 0.0) - time.monotonic()
            if delay > self._max_wait:
                raise RateLimited(delay)
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                yield
            finally:
                self._next[key] = max(self._next.get(key, 0.0), time.monotonic() + self._interval)

    def back_off(self, key: str, seconds: float) -> None:
        """Keep ``key`` quiet for ``seconds`` (a server's Retry-After)."""
        self._next[key] = max(self._next.get(key, 0.0), time.monotonic() + seconds)
