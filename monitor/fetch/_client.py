"""The httpx client behind ``HttpFetcher``: guarded connections, no cookies, per-host slots.

Kept apart from the fetch logic so that the one place that reaches into httpx's internals is small and
obvious (see ``_GuardedTransport``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpcore
import httpx

from monitor.fetch._netguard import GuardedBackend, NetRules, Resolver

__all__ = ["HostSlots", "make_client"]


class _RefuseCookies(DefaultCookiePolicy):
    """Never store or send cookies: a shared jar would leak state between unrelated sources."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool rebuilt around the guarded network backend.

    httpx 0.28 does not expose ``network_backend``; the pool is the documented httpcore object, so it is
    swapped right after construction (the one private attribute we rely on, covered by the SSRF tests).
    """

    def __init__(self, *, backend: GuardedBackend, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=backend,
        )


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


def make_client(
    *, rules: NetRules, resolver: Resolver | None, ssl_context: ssl.SSLContext, max_connections: int
) -> httpx.AsyncClient:
    """An AsyncClient whose every new connection is checked against ``rules``.

    Redirects are left to the caller (``follow_redirects=False``) and environment proxies are ignored
    (``trust_env=False``): a proxy would resolve host names itself, out of the guard's sight.
    """
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=5.0,
    )
    transport = _GuardedTransport(
        backend=GuardedBackend(rules=rules, resolver=resolver),
        ssl_context=ssl_context,
        limits=limits,
    )
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        cookies=CookieJar(policy=_RefuseCookies()),
    )
