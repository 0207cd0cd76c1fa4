"""The HTTP fetcher: conditional GET, our own redirect loop, bounded bodies, SSRF-safe connections.

httpcore does the protocol work (its per-origin pools, see ``_client`` and ``_pools``; httpx parses the
URLs); we keep the parts where a client's defaults do not fit a crawler of untrusted URLs: redirects are
followed here (each hop is checked, counted, and a 301/308 of the requested URL is reported so the stored
source URL can be updated), bodies are read raw and decoded with a bound (``_decode.read_body``),
connections go through the SSRF guard (see ``_netguard``) and cookies are never kept, so one source
cannot influence what another one is served.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol, Self

import httpcore
import httpx

from monitor.core import FetchResult
from monitor.fetch._client import HostSlots, make_pools, reason_phrase, request_for, response_headers
from monitor.fetch._decode import read_body
from monitor.fetch._errors import FetchError
from monitor.fetch._headers import body_hash, parse_max_age, parse_retry_after
from monitor.fetch._local import fetch_local, local_path
from monitor.fetch._netguard import AddressRefused, NetRules, ResolveFailed, Resolver
from monitor.fetch._policy import FetchPolicy, Validators
from monitor.fetch._pools import OriginPools
from monitor.log import get_logger

__all__ = ["Fetcher", "HttpFetcher"]

_log = get_logger("monitor.fetch")

_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
    "text/xml;q=0.9, text/html;q=0.8, */*;q=0.7"
)
_ACCEPT_ENCODING = "gzip, deflate, br"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})


class Fetcher(Protocol):
    """What the pipeline needs from a fetcher (``HttpFetcher``, or a fake in the lead's tests)."""

    async def fetch(
        self, url: str, *, validators: Validators | None = None, policy: FetchPolicy | None = None
    ) -> FetchResult: ...


@dataclass(slots=True)
class _Hop:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    received_at: datetime


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _loop_key(url: httpx.URL) -> str:
    return str(url.copy_with(fragment=None))


class HttpFetcher:
    """Fetches http(s) URLs, ``file://`` URLs and plain local paths into ``FetchResult`` values.

    ``max_connections`` caps concurrent requests overall and ``per_host_limit`` per host name (waiting
    for a busy host never holds a global slot). Connections are pooled per origin, ``per_host_limit``
    at most each, and idle ones kept for 5 s up to ``max_connections`` in total (see ``_pools``): a
    request never scans more than its own origin's connections. ``resolver`` replaces the system DNS
    (tests, custom DNS); ``ssl_context`` replaces the default certifi-based verification (tests with a
    private CA).
    Use as ``async with HttpFetcher(...) as fetcher`` or call ``aclose()``.
    """

    def __init__(
        self,
        *,
        policy: FetchPolicy = FetchPolicy(),  # noqa: B008 - frozen, so a shared default is safe
        max_connections: int = 100,
        per_host_limit: int = 2,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if max_connections < 1 or per_host_limit < 1:
            raise ValueError("max_connections and per_host_limit must be at least 1")
        self._policy = policy
        self._max_connections = max_connections
        self._per_host_limit = per_host_limit
        self._resolver = resolver
        self._ssl_context = ssl_context
        self._global = asyncio.Semaphore(max_connections)
        self._hosts = HostSlots(per_host_limit)
        self._transports: dict[NetRules, OriginPools] = {}
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            await transport.aclose()

    def _transport(self, policy: FetchPolicy) -> OriginPools:
        # One pool per network rule set: a connection admitted under lax rules (a private address) must
        # never be picked up from the pool by a fetch running under strict ones.
        rules = NetRules(policy.allow_private_networks, policy.allowed_private_hosts)
        transport = self._transports.get(rules)
        if transport is None:
            if self._closed:
                raise RuntimeError("HttpFetcher is closed")
            if self._ssl_context is None:
                self._ssl_context = httpx.create_ssl_context(trust_env=False)
            transport = make_pools(
                rules=rules,
                resolver=self._resolver,
                ssl_context=self._ssl_context,
                max_connections=self._max_connections,
                per_host_limit=self._per_host_limit,
            )
            self._transports[rules] = transport
        return transport

    async def fetch(
        self, url: str, *, validators: Validators | None = None, policy: FetchPolicy | None = None
    ) -> FetchResult:
        """Fetch ``url``; raise ``FetchError`` for anything that is not a usable 2xx/304 response."""
        policy = policy or self._policy
        path = local_path(url)
        if path is not None:
            return await fetch_local(url, path, policy=policy, validators=validators)
        try:
            return await self._fetch_http(url, validators, policy)
        except FetchError as exc:
            _log.debug("fetch.failed", kind=exc.kind, status=exc.status, error=str(exc))
            raise

    def _target(self, url: str, *, requested: str) -> httpx.URL:
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise FetchError("url", f"invalid URL: {exc}", url=url) from exc
        where = "" if url == requested else f" (redirected from {requested})"
        if target.scheme not in ("http", "https"):
            scheme = target.scheme or "none"
            raise FetchError("scheme", f"scheme {scheme!r} is not allowed{where}", url=url)
        if not target.host:
            raise FetchError("url", f"URL has no host{where}", url=url)
        return target

    async def _fetch_http(self, url: str, validators: Validators | None, policy: FetchPolicy) -> FetchResult:
        transport = self._transport(policy)
        headers = {
            "User-Agent": policy.user_agent,
            "Accept": _ACCEPT,
            "Accept-Encoding": _ACCEPT_ENCODING,
        }
        # Only ASCII validators go back (a server may send any bytes); the body hash still tells.
        if validators is not None and validators.etag and validators.etag.isascii():
            headers["If-None-Match"] = validators.etag
        if validators is not None and validators.last_modified and validators.last_modified.isascii():
            headers["If-Modified-Since"] = validators.last_modified
        timeout = {  # httpx's "timeout" request extension, read by httpcore
            "connect": policy.connect_timeout_s,
            "read": policy.total_timeout_s,
            "write": policy.total_timeout_s,
            "pool": policy.total_timeout_s,
        }
        current = url
        target = self._target(url, requested=url)
        seen: set[str] = set()  # keys of the URLs visited: most fetches have no redirect
        permanent_to: str | None = None
        permanent_chain = True
        budget = policy.total_timeout_s  # shared by all hops; time spent queueing for a slot is free
        elapsed = 0.0
        while True:
            async with self._hosts.hold(target.host), self._global:
                started = time.monotonic()
                try:
                    async with asyncio.timeout(budget):
                        hop = await self._request(transport, target, headers, timeout, policy, current, url)
                except TimeoutError as exc:
                    where = "" if current == url else f" (redirected from {url})"
                    message = f"no complete response within {policy.total_timeout_s:g}s{where}"
                    raise FetchError("timeout", message, url=current) from exc
                finally:
                    spent = time.monotonic() - started
                    budget -= spent
                    elapsed += spent
            if hop.status not in _REDIRECTS:
                break
            location = hop.headers.get("location", "").strip()
            if not location:
                raise FetchError(
                    "bad_redirect", f"HTTP {hop.status} without Location", url=current, status=hop.status
                )
            try:
                next_target = target.join(location)
            except (httpx.InvalidURL, ValueError) as exc:
                raise FetchError(
                    "bad_redirect", f"invalid Location {location!r}", url=current, status=hop.status
                ) from exc
            seen = seen or {_loop_key(target)}  # the first URL's key, on the first redirect
            if len(seen) > policy.max_redirects:
                raise FetchError(
                    "too_many_redirects",
                    f"more than {policy.max_redirects} redirects",
                    url=url,
                    status=hop.status,
                )
            key = _loop_key(next_target)
            if key in seen:
                raise FetchError("redirect_loop", f"redirect loop back to {key}", url=url, status=hop.status)
            seen.add(key)
            if permanent_chain and hop.status in _PERMANENT:
                permanent_to = str(next_target)
            else:
                permanent_chain = False
            _log.debug("fetch.redirect", status=hop.status, location=str(next_target))
            current = str(next_target)
            target = self._target(current, requested=url)
        return self._result(url, current, hop, validators, permanent_to, elapsed)

    async def _request(
        self,
        transport: OriginPools,
        target: httpx.URL,
        headers: dict[str, str],
        timeouts: dict[str, float],
        policy: FetchPolicy,
        current: str,
        requested: str,
    ) -> _Hop:
        where = "" if current == requested else f" (redirected from {requested})"
        try:
            response = await transport.handle_async_request(request_for(target, headers, timeouts))
            try:
                received_at = datetime.now(UTC)
                status = response.status
                received = response_headers(response.headers)
                body = b""
                if 200 <= status < 300:
                    body = await read_body(
                        response.aiter_stream(),
                        received,
                        max_wire_bytes=policy.max_wire_bytes,
                        max_decoded_bytes=policy.max_decoded_bytes,
                        url=current,
                        status=status,
                    )
                return _Hop(
                    status=status,
                    reason=reason_phrase(response),
                    headers=received,
                    body=body,
                    received_at=received_at,
                )
            finally:
                await response.aclose()  # gives the connection back to its pool (or closes it)
        except AddressRefused as exc:
            _log.warning("fetch.address_refused", host=exc.host, address=exc.address, reason=exc.reason)
            raise FetchError("ssrf", f"refused: {exc}{where}", url=current) from exc
        except ResolveFailed as exc:
            raise FetchError("dns", f"{exc}{where}", url=current) from exc
        except httpcore.ConnectTimeout as exc:
            raise FetchError(
                "timeout", f"connect timed out after {policy.connect_timeout_s:g}s{where}", url=current
            ) from exc
        except httpcore.TimeoutException as exc:
            raise FetchError(
                "timeout", f"{type(exc).__name__} after {policy.total_timeout_s:g}s{where}", url=current
            ) from exc
        except httpcore.ConnectError as exc:
            kind = "tls" if _caused_by(exc, ssl.SSLError) else "connect"
            detail = str(exc) or type(exc).__name__
            raise FetchError(kind, f"cannot connect: {detail}{where}", url=current) from exc
        except httpcore.UnsupportedProtocol as exc:
            raise FetchError("scheme", f"{exc}{where}", url=current) from exc
        except httpcore.ProtocolError as exc:
            raise FetchError("protocol", f"HTTP protocol error: {exc}{where}", url=current) from exc
        except (httpcore.NetworkError, httpcore.ProxyError) as exc:  # httpx's TransportError, the rest
            raise FetchError("network", f"{type(exc).__name__}: {exc}{where}", url=current) from exc
        except httpx.InvalidURL as exc:
            raise FetchError("url", f"invalid URL: {exc}{where}", url=current) from exc

    def _result(
        self,
        url: str,
        final_url: str,
        hop: _Hop,
        validators: Validators | None,
        permanent_to: str | None,
        elapsed: float,
    ) -> FetchResult:
        headers = hop.headers
        retry_after_header = headers.get("retry-after")
        retry_after = (
            parse_retry_after(retry_after_header, now=hop.received_at) if retry_after_header else None
        )
        if hop.status == 304:
            previous = validators or Validators()
            _log.debug("fetch.not_modified", status=304, elapsed_s=round(elapsed, 3))
            return FetchResult(
                url=url,
                final_url=final_url,
                status=304,
                headers=headers,
                body=b"",
                etag=headers.get("etag") or previous.etag,
                last_modified=headers.get("last-modified") or previous.last_modified,
                body_hash=previous.body_hash,
                not_modified=True,
                permanent_redirect_to=permanent_to,
                retry_after_s=retry_after,
                max_age_s=parse_max_age(headers, now=hop.received_at),
                elapsed_s=elapsed,
            )
        if not 200 <= hop.status < 300:
            where = "" if final_url == url else f" (redirected from {url})"
            gone = hop.status == 410
            raise FetchError(
                "http",
                f"HTTP {hop.status} {hop.reason}{where}".strip(),
                url=final_url,
                status=hop.status,
                retry_after_s=retry_after,
                permanent=gone,
            )
        digest = body_hash(hop.body)
        unchanged = validators is not None and validators.body_hash == digest
        if permanent_to is not None:
            _log.info("fetch.permanent_redirect", to=permanent_to)
        _log.debug(
            "fetch.done",
            status=hop.status,
            bytes=len(hop.body),
            not_modified=unchanged,
            elapsed_s=round(elapsed, 3),
        )
        return FetchResult(
            url=url,
            final_url=final_url,
            status=hop.status,
            headers=headers,
            body=hop.body,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            body_hash=digest,
            not_modified=unchanged,
            permanent_redirect_to=permanent_to,
            retry_after_s=retry_after,
            max_age_s=parse_max_age(headers, now=hop.received_at),
            elapsed_s=elapsed,
        )
