"""Run the CPU-heavy parsers in worker processes so that the event loop keeps fetching.

feedparser is pure Python and holds the GIL: a 5 MB feed takes seconds, during which a thread-based
offload would still starve the loop. Worker processes do not. Small bodies are parsed inline because
shipping them to a worker and back costs more than parsing them (see ``bench/parse.py`` for the
measurement behind ``INLINE_MAX_BYTES``).

Workers are started with ``spawn``: ``fork`` in a process that runs an event loop and other threads
(HTTP clients, the scheduler) can copy a held lock into the child.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, TypeVar

from monitor.log import get_logger
from monitor.parse._feed import parse_feed
from monitor.parse._html import discover_feeds, parse_page_links
from monitor.parse._jsonfeed import parse_json_feed
from monitor.parse._sitemap import parse_sitemap
from monitor.parse._sniff import sniff_kind
from monitor.parse._types import DiscoveredFeed, PageLinks, ParsedFeed, ParseError, SitemapResult

__all__ = ["INLINE_MAX_BYTES", "ParserPool"]

T = TypeVar("T")

# Bodies up to this size are parsed in the calling thread. Measured with bench/parse.py on the shared
# 2-core machine: a warm worker's round trip adds a roughly constant 0.4-1.5 ms (pickling, two pipe
# hops; spikes of 5-8 ms when the cores are busy), i.e. 20-40 % of a 3-16 KB feed's 1-3.5 ms parse,
# ~10 % at 64 KB and nothing measurable at 256 KB. Inline, a 16 KB feed blocks the loop for ~3.5 ms
# and a 5 MB one for 0.9-1.4 s (the worst tick gap through the pool: 18-23 ms). 16 KB keeps the inline
# block to a few milliseconds while sparing the many small feeds the round trip.
INLINE_MAX_BYTES = 16 * 1024

_log = get_logger(__name__)


def _warm() -> None:
    """Worker initializer: import the parsers once, before the first real body arrives."""
    import monitor.parse  # noqa: F401


class ParserPool:
    """Async front of the parse functions, backed by a ``ProcessPoolExecutor``.

    The methods mirror the module-level functions and raise the same :class:`ParseError`; a worker
    that dies (segfault, out of memory) turns into a ParseError for that body and a fresh pool for the
    next one. Use as ``async with ParserPool() as pool:`` or call :meth:`close`.
    """

    def __init__(
        self,
        *,
        max_workers: int | None = None,
        inline_max_bytes: int = INLINE_MAX_BYTES,
        mp_context: str = "spawn",
    ) -> None:
        self.max_workers = max_workers or max(1, (os.cpu_count() or 2) - 1)
        self.inline_max_bytes = inline_max_bytes
        self._mp_context = mp_context
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------------------

    def _get_executor(self) -> ProcessPoolExecutor:
        if self._closed:
            raise RuntimeError("ParserPool is closed")
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.max_workers,
                mp_context=multiprocessing.get_context(self._mp_context),
                initializer=_warm,
            )
        return self._executor

    @property
    def workers_started(self) -> bool:
        """Whether worker processes exist (small bodies alone never start them)."""
        return self._executor is not None

    async def start(self) -> None:
        """Start the workers now (optional): the first parse then does not pay for their start-up."""
        executor = self._get_executor()
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(executor, _warm) for _ in range(self.max_workers)))

    def close(self) -> None:
        """Stop the workers, waiting for running parses; pending ones are cancelled."""
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    async def __aenter__(self) -> ParserPool:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.close)

    # -- dispatch --------------------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], body: bytes, /, **kwargs: Any) -> T:
        if len(body) <= self.inline_max_bytes:
            return fn(body, **kwargs)
        executor = self._get_executor()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, functools.partial(fn, bytes(body), **kwargs))
        except BrokenProcessPool as exc:
            url = kwargs.get("url")
            _log.warning("parser_worker_died", url=url, error=str(exc))
            if self._executor is executor:
                self._executor = None
                executor.shutdown(wait=False, cancel_futures=True)
            raise ParseError(f"the parser process died while parsing {url}", url=url) from exc

    @staticmethod
    def _headers(headers: Mapping[str, str] | None) -> dict[str, str] | None:
        return None if headers is None else {str(k): str(v) for k, v in headers.items()}

    async def parse_feed(
        self, body: bytes, *, url: str, headers: Mapping[str, str] | None = None
    ) -> ParsedFeed:
        return await self._run(parse_feed, body, url=url, headers=self._headers(headers))

    async def parse_json_feed(self, body: bytes, *, url: str) -> ParsedFeed:
        return await self._run(parse_json_feed, body, url=url)

    async def parse_page_links(
        self,
        body: bytes,
        *,
        url: str,
        headers: Mapping[str, str] | None = None,
        selector: str,
        next_selector: str | None = None,
        same_site_only: bool = True,
    ) -> PageLinks:
        return await self._run(
            parse_page_links,
            body,
            url=url,
            headers=self._headers(headers),
            selector=selector,
            next_selector=next_selector,
            same_site_only=same_site_only,
        )

    async def parse_sitemap(
        self, body: bytes, *, url: str, headers: Mapping[str, str] | None = None
    ) -> SitemapResult:
        return await self._run(parse_sitemap, body, url=url, headers=self._headers(headers))

    async def discover_feeds(
        self, body: bytes, *, url: str, headers: Mapping[str, str] | None = None
    ) -> list[DiscoveredFeed]:
        return await self._run(discover_feeds, body, url=url, headers=self._headers(headers))

    async def sniff_kind(self, body: bytes, *, headers: Mapping[str, str] | None = None) -> str:
        """Inline always: sniffing reads a few KB and is cheaper than any round trip."""
        return sniff_kind(body, headers=headers)
