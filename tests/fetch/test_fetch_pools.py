"""Per-origin connection pools (``OriginPools``): reuse within an origin, caps, idle budget and expiry.

Counted on the server side (connections accepted, connections still open), against a real local server.
"""

from __future__ import annotations

import asyncio

import httpcore
import pytest

from monitor.fetch import FetchError, FetchPolicy, HttpFetcher
from monitor.fetch._netguard import GuardedBackend, NetRules
from monitor.fetch._pools import OriginPools

from .conftest import LOCAL_POLICY
from .httpserver import LocalServer, Response, streamed

FEED = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


async def _loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


async def _settled(server: LocalServer) -> int:
    """Open connections once the server has seen the client's pending closes."""
    for _ in range(5):
        await asyncio.sleep(0.02)
    return server.open_connections


def _pools(*, per_origin: int = 2, max_idle: int = 10, expiry: float = 5.0) -> OriginPools:
    return OriginPools(
        network_backend=GuardedBackend(rules=NetRules(allow_private_networks=True), resolver=_loopback),
        ssl_context=httpcore.default_ssl_context(),
        per_origin=per_origin,
        max_idle_connections=max_idle,
        keepalive_expiry=expiry,
    )


async def _get(pools: OriginPools, url: str) -> bytes:
    response = await pools.handle_async_request(httpcore.Request("GET", url, headers=[(b"Host", b"x")]))
    try:
        return b"".join([part async for part in response.aiter_stream()])
    finally:
        await response.aclose()


async def test_connection_is_reused_within_an_origin(server: LocalServer, fetcher: HttpFetcher) -> None:
    server.route("/feed", Response(200, body=FEED))
    for _ in range(3):
        assert (await fetcher.fetch(server.url("/feed"))).body == FEED
    assert server.connections == 1


async def test_idle_connections_over_all_origins_stay_within_the_budget(server: LocalServer) -> None:
    server.route("/feed", Response(200, body=FEED))
    hosts = [f"h{i}.test" for i in range(6)]
    async with HttpFetcher(
        policy=LOCAL_POLICY, max_connections=2, per_host_limit=1, resolver=_loopback
    ) as fetcher:
        for host in hosts:
            await fetcher.fetch(server.url("/feed", host=host))
            assert await _settled(server) <= 2
        assert server.connections == 6
        # The most recently used origin kept its connection; the oldest one was closed for the budget.
        await fetcher.fetch(server.url("/feed", host=hosts[-1]))
        assert server.connections == 6
        await fetcher.fetch(server.url("/feed", host=hosts[0]))
        assert server.connections == 7
    assert await _settled(server) == 0  # aclose() closes every pool


async def test_connections_per_origin_are_capped() -> None:
    async def slow() -> bytes:
        await asyncio.sleep(0.05)
        return FEED

    async with LocalServer() as server:
        peak = 0

        async def handle(_request: object) -> Response:
            nonlocal peak
            peak = max(peak, server.open_connections)
            return Response(200, body=await slow())

        server.route("/slow", handle)
        pools = _pools(per_origin=2)
        bodies = await asyncio.gather(*(_get(pools, server.url("/slow")) for _ in range(6)))
        assert bodies == [FEED] * 6
        assert peak == 2
        assert server.connections == 2
        assert pools.in_flight == 0
        await pools.aclose()


async def test_idle_pools_expire_and_are_dropped(server: LocalServer) -> None:
    server.route("/feed", Response(200, body=FEED))
    pools = _pools(expiry=0.1)
    await _get(pools, server.url("/feed"))
    assert (pools.origins, pools.connections) == (1, 1)
    await asyncio.sleep(0.2)
    await _get(pools, server.url("/feed", host="localhost"))  # another origin: its release sweeps
    assert pools.origins == 1
    await pools.aclose()
    assert pools.origins == 0
    assert await _settled(server) == 0


async def test_failed_and_cancelled_requests_give_their_slot_back(server: LocalServer) -> None:
    server.route("/feed", Response(200, body=FEED))
    server.route("/drip", Response(200, [("Content-Length", "100")], streamed([b"x"] * 100, delay_s=0.1)))
    pools = _pools(per_origin=1)
    with pytest.raises(httpcore.ConnectError):
        await _get(pools, "http://127.0.0.1:1/feed")  # nothing listens on port 1
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await _get(pools, server.url("/drip"))
    assert pools.in_flight == 0
    # With one connection per origin, a leaked slot would make this wait for the pool timeout.
    async with asyncio.timeout(2):
        assert await _get(pools, server.url("/feed")) == FEED
    await pools.aclose()


async def test_a_fetch_cut_by_the_total_timeout_gives_its_connection_back(server: LocalServer) -> None:
    server.route("/drip", Response(200, [("Content-Length", "100")], streamed([b"x"] * 100, delay_s=0.1)))
    server.route("/feed", Response(200, body=FEED))
    policy = FetchPolicy(allow_private_networks=True, connect_timeout_s=1.0, total_timeout_s=0.3)
    async with HttpFetcher(policy=policy, per_host_limit=1) as fetcher:
        with pytest.raises(FetchError, match="no complete response"):
            await fetcher.fetch(server.url("/drip"))
        # One connection per origin: had the cut fetch kept it, this one would time out waiting for it.
        assert (await fetcher.fetch(server.url("/feed"))).body == FEED
