"""One small httpcore pool per origin, instead of one big pool shared by every host.

httpcore's ``AsyncConnectionPool`` re-examines *every* pooled connection whenever a request starts or
ends (``has_expired`` polls each idle socket, and the idle count is recomputed inside that loop), so with
the 100-connection pool a crawler needs, each request paid for a scan of all of them: about a third of
the fetch stage's CPU in ``bench/fetch.py``. A crawler of thousands of hosts never shares a connection
between origins anyway, so ``OriginPools`` routes each (scheme, host, port) to its own pool, sized to the
per-host cap, created on first use and closed once idle: the scan is over at most ``per_origin``
connections.

What the single pool bounded is bounded here too: at most ``per_origin`` connections per origin, and the
pools of idle origins (no request in flight) are kept, least recently used first, only while they hold
at most ``max_idle_connections`` connections in total and for at most ``keepalive_expiry`` seconds, so
open sockets stay below ``max_idle_connections`` plus ``per_origin`` per origin in use. The number of
requests in flight is capped by ``HttpFetcher`` (global and per-host semaphores), not here. Every pool
shares one network backend, so the SSRF guard still sees every new connection.
"""

from __future__ import annotations

import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from types import TracebackType

import httpcore

__all__ = ["OriginPools"]

_Origin = tuple[bytes, bytes, int | None]


@dataclass(slots=True)
class _Shard:
    pool: httpcore.AsyncConnectionPool
    active: int = 0  # requests whose response is not closed yet
    held: int = 0  # connections it kept when it went idle (counted against the idle budget)
    idle_since: float = 0.0


class _ReleasingStream:
    """The response body of a pooled request; closing it gives the origin's slot back exactly once."""

    def __init__(self, inner: AsyncIterable[bytes], pools: OriginPools, key: _Origin, shard: _Shard) -> None:
        self._inner = inner
        self._pools = pools
        self._key = key
        self._shard: _Shard | None = shard

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._inner:
            yield part

    async def aclose(self) -> None:
        try:
            close = getattr(self._inner, "aclose", None)
            if close is not None:
                await close()
        finally:
            shard, self._shard = self._shard, None
            if shard is not None:
                await self._pools.release(self._key, shard)


class OriginPools:
    """Stands where one ``AsyncConnectionPool`` would: ``HttpFetcher`` sends its requests here
    (``handle_async_request``)."""

    def __init__(
        self,
        *,
        network_backend: httpcore.AsyncNetworkBackend,
        ssl_context: ssl.SSLContext,
        per_origin: int,
        max_idle_connections: int,
        keepalive_expiry: float,
    ) -> None:
        self._backend = network_backend
        self._ssl_context = ssl_context
        self._per_origin = per_origin
        self._max_idle = max_idle_connections
        self._expiry = keepalive_expiry
        self._shards: dict[_Origin, _Shard] = {}
        self._idle: OrderedDict[_Origin, _Shard] = OrderedDict()  # least recently used first
        self._idle_connections = 0

    @property
    def origins(self) -> int:
        """How many origins have a pool right now (in use or idle); for tests and diagnostics."""
        return len(self._shards)

    @property
    def in_flight(self) -> int:
        """Requests whose response is not closed yet; for tests and diagnostics."""
        return sum(shard.active for shard in self._shards.values())

    @property
    def connections(self) -> int:
        """Open (or opening) connections over all origins; for tests and diagnostics."""
        return sum(len(shard.pool.connections) for shard in self._shards.values())

    def _new_pool(self) -> httpcore.AsyncConnectionPool:
        return httpcore.AsyncConnectionPool(
            ssl_context=self._ssl_context,
            max_connections=self._per_origin,
            max_keepalive_connections=self._per_origin,
            keepalive_expiry=self._expiry,
            http1=True,
            http2=False,
            network_backend=self._backend,
        )

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        url = request.url
        key = (url.scheme, url.host, url.port)
        shard = self._shards.get(key)
        if shard is None:
            shard = self._shards[key] = _Shard(self._new_pool())
        elif shard.active == 0:
            self._idle.pop(key)
            self._idle_connections -= shard.held
        shard.active += 1
        try:
            response = await shard.pool.handle_async_request(request)
        except BaseException:
            await self.release(key, shard)
            raise
        assert isinstance(response.stream, AsyncIterable)
        return httpcore.Response(
            status=response.status,
            headers=response.headers,
            content=_ReleasingStream(response.stream, self, key, shard),
            extensions=response.extensions,
        )

    async def release(self, key: _Origin, shard: _Shard) -> None:
        """One request of ``shard`` is over; park the shard as idle and close what is over budget."""
        shard.active -= 1
        if shard.active > 0 or self._shards.get(key) is not shard:
            return
        now = time.monotonic()
        shard.held = len(shard.pool.connections)
        shard.idle_since = now
        self._idle[key] = shard
        self._idle_connections += shard.held
        closing: list[httpcore.AsyncConnectionPool] = []
        while self._idle:
            oldest_key, oldest = next(iter(self._idle.items()))
            if self._idle_connections <= self._max_idle and now - oldest.idle_since <= self._expiry:
                break
            del self._idle[oldest_key], self._shards[oldest_key]
            self._idle_connections -= oldest.held
            closing.append(oldest.pool)
        for pool in closing:
            await pool.aclose()  # closes idle connections only: cheap, and shielded by httpcore

    async def aclose(self) -> None:
        shards, self._shards = list(self._shards.values()), {}
        self._idle.clear()
        self._idle_connections = 0
        for shard in shards:
            await shard.pool.aclose()

    async def __aenter__(self) -> OriginPools:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()
