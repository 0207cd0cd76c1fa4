"""The connection layer behind ``HttpFetcher``: guarded per-origin httpcore pools, per-host slots, and
the translation of a request and its response to and from httpcore's terms.

``HttpFetcher`` sends its requests straight to httpcore's pools (``OriginPools``), without an
``httpx.AsyncClient`` and, since issue #3's steady-pass work, without httpx's transport either: it follows
redirects itself, wants no cookie jar (a shared jar would leak state between unrelated sources; with no
client there is no jar at all), no environment proxies (a proxy would resolve host names itself, out of
the SSRF guard's sight), and none of the per-request work of httpx's request and response models (header
models built and decoded, exceptions re-raised under httpx's names), which was about a tenth of the event
loop's time in the steady pass of ``bench/poll.py`` (py-spy ``--gil``). httpx still parses and
normalises URLs (``httpx.URL``); what it would send is sent here: the ``Host`` header first (the URL's
IDNA-encoded ``netloc``), then the fetcher's headers as ASCII, and response headers are read as httpx
reads them (``response_headers``). httpcore raises its own exceptions, which ``HttpFetcher`` maps.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpcore
import httpx

from monitor.fetch._netguard import GuardedBackend, NetRules, Resolver
from monitor.fetch._pools import OriginPools

__all__ = ["HostSlots", "make_pools", "reason_phrase", "request_for", "response_headers"]


def request_for(
    target: httpx.URL, headers: Mapping[str, str], timeouts: dict[str, float]
) -> httpcore.Request:
    """The GET request httpx would build for ``target`` with ``headers``: ``Host`` first, then the
    headers in order, values in ASCII (a non-ASCII value raises ``UnicodeEncodeError``, as in httpx);
    ``timeouts`` is httpcore's ``timeout`` extension."""
    raw = [(b"Host", target.netloc)]
    raw.extend((name.encode("ascii"), value.encode("ascii")) for name, value in headers.items())
    url = httpcore.URL(
        scheme=target.raw_scheme, host=target.raw_host, port=target.port, target=target.raw_path
    )
    return httpcore.Request(b"GET", url, headers=raw, extensions={"timeout": timeouts})


def _encoding(raw: Sequence[tuple[bytes, bytes]]) -> str:
    """The encoding httpx reads a response's headers with: ASCII, else UTF-8, else ISO-8859-1, whichever
    first decodes every name and value."""
    for encoding in ("ascii", "utf-8"):
        try:
            for name, value in raw:
                name.decode(encoding)
                value.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return "iso-8859-1"


def response_headers(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    """Response headers by lower-case name, a repeated header's values joined with ", " in order (what
    ``{k.lower(): v for k, v in httpx.Response.headers.items()}`` gave)."""
    encoding = _encoding(raw)
    out: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode(encoding).lower(), value.decode(encoding)
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def reason_phrase(response: httpcore.Response) -> str:
    """The status line's reason phrase, or the standard one when there is none (as httpx)."""
    phrase = response.extensions.get("reason_phrase")
    if isinstance(phrase, bytes):
        return phrase.decode("ascii", errors="ignore")
    return httpx.codes.get_reason_phrase(response.status)


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


def make_pools(
    *,
    rules: NetRules,
    resolver: Resolver | None,
    ssl_context: ssl.SSLContext,
    max_connections: int,
    per_host_limit: int,
) -> OriginPools:
    """Connection pools whose every new connection is checked against ``rules``.

    Connections are pooled per origin (at most ``per_host_limit`` each) and idle ones are kept, for
    5 s, up to ``max_connections`` in total (see ``OriginPools``).
    """
    return OriginPools(
        network_backend=GuardedBackend(rules=rules, resolver=resolver),
        ssl_context=ssl_context,
        per_origin=per_host_limit,
        max_idle_connections=max_connections,
        keepalive_expiry=5.0,
    )
