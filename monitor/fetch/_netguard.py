"""SSRF guard: resolve, check, then connect to the checked address.

Checking a host name before the request and letting the HTTP client resolve it again is racy (DNS
rebinding: the first answer is public, the second 127.0.0.1) and misses redirects. The approach used by
careful fetchers (Ruby's ``ssrf_filter``, Go's ``net.Dialer.Control`` hooks as in ``safedialer``, Python's
``advocate``) is to hook the *connect* step: here a custom httpcore network backend resolves the name once,
refuses the whole host if any address is non-public, and opens the TCP connection to the checked IP
itself. httpcore still does TLS with ``server_hostname`` set to the URL's host and the request still
carries the original ``Host`` header (``_client.request_for``), so certificates and virtual hosts work
unchanged. Because every new connection of the pool goes through ``connect_tcp``, redirects to another host
are checked too; a pooled connection is only ever reused for the same origin under the same rules (one
pool per rule set, see ``HttpFetcher``). No proxy is ever used (the fetcher talks to httpcore's pools
directly, which read no environment): a proxy would do its own resolution.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

import httpcore

from monitor.fetch._stream import AsyncioBackend

__all__ = [
    "METADATA_ADDRESSES",
    "AddressRefused",
    "GuardedBackend",
    "NetRules",
    "ResolveFailed",
    "Resolver",
    "refusal_reason",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""``async (host, port) -> IP address strings``; injectable for tests and custom DNS."""

# Instance-metadata endpoints: credentials live there, so they are refused even when private networks
# are allowed. Most sit in private/link-local space anyway; 168.63.129.16 (Azure) is public space.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS VPC DNS
        "168.63.129.16",  # Azure wire server
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS ECS / time sync over IPv6
    )
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
_IETF = ipaddress.ip_network("192.0.0.0/24")  # protocol assignments; Python 3.11 calls part of it global
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@functools.lru_cache(maxsize=4096)  # pure; a crawler meets the same few thousand addresses over and over
def refusal_reason(address: IPAddress) -> str | None:
    """Why a strict policy refuses ``address``, or ``None`` when it is an ordinary public address.

    IPv6 forms that embed an IPv4 address (mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4) are
    judged by the IPv4 address the packets really go to.
    """
    if address in METADATA_ADDRESSES:
        return "cloud-metadata"
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        if mapped is None and address in _NAT64:
            mapped = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if mapped is not None:
            return refusal_reason(mapped)
        if address.sixtofour is not None:
            inner = refusal_reason(address.sixtofour)
            if inner is not None:
                return inner
        if address.is_site_local:
            return "private"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and (address in _SHARED or address in _IETF):
        return "reserved"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "non-global"
    return None


@dataclass(frozen=True, slots=True)
class NetRules:
    """The network part of a ``FetchPolicy``: what one connection pool may connect to."""

    allow_private_networks: bool = False
    allowed_private_hosts: frozenset[str] = frozenset()

    def check(self, host: str, address: IPAddress) -> str | None:
        """The reason ``host`` at ``address`` is refused under these rules, or ``None``."""
        reason = refusal_reason(address)
        if reason is None or reason == "cloud-metadata":
            return reason
        if self.allow_private_networks or host.lower().rstrip(".") in self.allowed_private_hosts:
            return None
        return reason


class AddressRefused(Exception):
    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(f"{host} resolves to {reason} address {address}")
        self.host = host
        self.address = address
        self.reason = reason


class ResolveFailed(Exception):
    def __init__(self, host: str, detail: str) -> None:
        super().__init__(f"cannot resolve {host}: {detail}")
        self.host = host


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver (``getaddrinfo``), addresses in the order it prefers."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolveFailed(host, str(exc)) from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@functools.lru_cache(maxsize=4096)  # every connection parses its host and each resolved address
def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that only connects to addresses its ``NetRules`` admit."""

    def __init__(
        self,
        *,
        rules: NetRules,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._rules = rules
        self._resolver: Resolver = resolver or system_resolver
        # asyncio's transports directly, not anyio's (see ``_stream``); tests may pass another backend.
        self._inner = inner or AsyncioBackend()

    async def _addresses(self, host: str, port: int, limit_s: float | None) -> list[IPAddress]:
        literal = _literal(host)
        if literal is not None:
            return [literal]
        try:
            async with asyncio.timeout(limit_s):
                answers = await self._resolver(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise ResolveFailed(host, str(exc)) from exc
        addresses: list[IPAddress] = []
        for answer in answers:
            parsed = _literal(answer.split("%", 1)[0])
            if parsed is None:
                raise ResolveFailed(host, f"resolver returned {answer!r}, not an IP address")
            addresses.append(parsed)
        if not addresses:
            raise ResolveFailed(host, "no address")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        start = time.monotonic()
        addresses = await self._addresses(host, port, timeout)
        for address in addresses:  # refuse the host if ANY answer is off limits: no partial trust
            reason = self._rules.check(host, address)
            if reason is not None:
                raise AddressRefused(host, str(address), reason)
        last: Exception | None = None
        for address in addresses:
            remaining = None if timeout is None else max(0.001, timeout - (time.monotonic() - start))
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=remaining,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:  # try the next address, like happy eyeballs' fallback
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused(path, path, "unix-socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
