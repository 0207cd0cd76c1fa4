"""The httpx transport behind ``HttpFetcher``: guarded per-origin connection pools, per-host slots.

``HttpFetcher`` sends its requests straight through the transport (httpx's public transport API), without
an ``httpx.AsyncClient`` on top: it follows redirects itself, wants no cookie jar (a shared jar would leak
state between unrelated sources; with no client there is no jar at all), no environment proxies (a proxy
would resolve host names itself, out of the SSRF guard's sight) and none of the client's per-request work
(request building and merging, cookie extraction, auth and event hooks).

Kept apart from the fetch logic so that the one place that reaches into httpx's internals is small and
obvious (see ``_GuardedTransport``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from monitor.fetch._netguard import GuardedBackend, NetRules, Resolver
from monitor.fetch._pools import OriginPools

__all__ = ["HostSlots", "make_transport"]


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool replaced by guarded per-origin pools.

    httpx 0.28 does not expose ``network_backend`` nor a pool factory; the transport only calls
    ``handle_async_request``/``aclose`` on ``self._pool``, so ``OriginPools`` is put there right after
    construction (the one private attribute we rely on, covered by the SSRF and concurrency tests).
    httpx keeps doing the request/response conversion and the mapping of httpcore's exceptions.
    """

    def __init__(
        self,
        *,
        backend: GuardedBackend,
        ssl_context: ssl.SSLContext,
        per_origin: int,
        max_idle_connections: int,
        keepalive_expiry: float,
    ) -> None:
        super().__init__(verify=ssl_context, trust_env=False, limits=httpx.Limits(max_connections=1))
        self.pools = OriginPools(
            network_backend=backend,
            ssl_context=ssl_context,
            per_origin=per_origin,
            max_idle_connections=max_idle_connections,
            keepalive_expiry=keepalive_expiry,
        )
        self._pool = self.pools  # type: ignore[assignment]  # duck-typed: see the docstring


@dataclass(slots=True)
class _Slot:
    semaphore: asyncio.Semaphore
    users: int = 0


class HostSlots:
    """Per-host concurrency caps; entries disappear when unused so 10,000 hosts do not pile up."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots: dict[str, _Slot] = {}

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        slot = self._slots.get(host)
        if slot is None:
            slot = self._slots[host] = _Slot(asyncio.Semaphore(self._limit))
        slot.users += 1
        try:
            async with slot.semaphore:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._slots[host]


def make_transport(
    *,
    rules: NetRules,
    resolver: Resolver | None,
    ssl_context: ssl.SSLContext,
    max_connections: int,
    per_host_limit: int,
) -> httpx.AsyncBaseTransport:
    """A transport whose every new connection is checked against ``rules``.

    Connections are pooled per origin (at most ``per_host_limit`` each) and idle ones are kept, for
    5 s, up to ``max_connections`` in total (see ``OriginPools``).
    """
    return _GuardedTransport(
        backend=GuardedBackend(rules=rules, resolver=resolver),
        ssl_context=ssl_context,
        per_origin=per_host_limit,
        max_idle_connections=max_connections,
        keepalive_expiry=5.0,
    )
