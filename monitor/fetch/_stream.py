"""An httpcore network backend on asyncio's own transports, in place of httpcore's anyio backend.

Issue #3 (steady polling): a poll that the server answers with a 304 is mostly connection work on the
event loop, and ``py-spy --gil`` of ``bench/poll.py``'s steady pass put about 30 % of the loop thread's
time in anyio: ``anyio.connect_tcp`` starts a task group and a task per connection (its happy-eyeballs
machinery, for the one address the SSRF guard hands it), and every read and write enters a cancel scope
(``fail_after``) and asks sniffio which event loop runs. The daemon only ever runs on asyncio, so this
backend talks to asyncio directly: a plain ``Protocol`` that buffers what arrives, a read that returns
what is buffered without any timer, and a timer (``call_later``) only when it has to wait.

What httpcore's ``AnyIOStream`` promises is kept: the same httpcore exceptions (``ConnectError``,
``ConnectTimeout``, ``ReadError``, ``ReadTimeout``, ``WriteError``, ``WriteTimeout``), ``b""`` at the end
of the stream (also a TLS peer that closes without close_notify, as anyio's ``standard_compatible=False``),
TLS through ``loop.start_tls`` with the caller's context and server name, and the ``get_extra_info``
keys httpcore asks for (``ssl_object``, ``client_addr``, ``server_addr``, ``socket``, ``is_readable``).
The SSRF guard (``_netguard.GuardedBackend``) still decides every address before this connects to it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
from httpcore._utils import is_socket_readable

__all__ = ["AsyncioBackend"]

_HIGH_WATER = 256 * 1024  # bytes buffered before the transport stops reading (resumes below half of it)
_EOF_ERRORS = (ssl.SSLEOFError, ssl.SSLZeroReturnError)  # a TLS peer that just closed: the end, not an error


class _Buffered(asyncio.Protocol):
    """Collects what the transport receives; one reader waits on it at a time (httpcore's connection)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.drained: asyncio.Future[None] | None = None  # set while writing is paused
        self.paused_reading = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _HIGH_WATER and not self.paused_reading and self.transport is not None:
            self.paused_reading = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        if exc is not None and not isinstance(exc, _EOF_ERRORS):
            self.error = exc
        self._wake()
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def pause_writing(self) -> None:
        if self.drained is None:
            self.drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


async def _wait(future: asyncio.Future[None], limit_s: float | None) -> None:
    """Wait for ``future``; ``TimeoutError`` after ``limit_s`` seconds (None: no limit). A timer of our
    own rather than ``asyncio.timeout``: no task cancellation to undo when it fires."""
    if limit_s is None:
        await future
        return
    timer = asyncio.get_running_loop().call_later(max(0.0, limit_s), _expire, future)
    try:
        await future
    finally:
        timer.cancel()


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection (plain or TLS) as httpcore's HTTP/1.1 code reads and writes it."""

    def __init__(self, transport: asyncio.Transport, protocol: _Buffered) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        proto = self._protocol
        while not proto.buffer:
            if proto.error is not None:
                raise httpcore.ReadError(str(proto.error) or type(proto.error).__name__) from proto.error
            if proto.eof:
                return b""
            if self._transport.is_closing():
                raise httpcore.ReadError("the connection is closed")
            proto.waiter = asyncio.get_running_loop().create_future()
            try:
                await _wait(proto.waiter, timeout)
            except TimeoutError as exc:
                raise httpcore.ReadTimeout(f"no data within {timeout}s") from exc
        data = bytes(proto.buffer[:max_bytes])
        del proto.buffer[:max_bytes]
        if proto.paused_reading and len(proto.buffer) < _HIGH_WATER // 2:
            proto.paused_reading = False
            self._transport.resume_reading()
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        proto = self._protocol
        if proto.error is not None or self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed") from proto.error
        try:
            self._transport.write(buffer)
        except (OSError, RuntimeError) as exc:
            raise httpcore.WriteError(str(exc)) from exc
        drained = proto.drained
        if drained is not None:  # the kernel's buffer is full: wait until the transport drains
            try:
                await _wait(drained, timeout)
            except TimeoutError as exc:
                raise httpcore.WriteTimeout(f"could not write within {timeout}s") from exc
            if proto.error is not None:
                raise httpcore.WriteError(str(proto.error)) from proto.error

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's stream interface
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            self._transport.close()
            raise httpcore.ConnectTimeout(f"TLS handshake not done within {timeout}s") from exc
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        except BaseException:
            self._transport.close()
            raise
        if transport is None:  # the connection went away during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        assert isinstance(transport, asyncio.Transport)
        self._protocol.transport = transport
        return AsyncioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        transport = self._transport
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        if info == "is_readable":  # an idle connection with something to read: the server closed it
            proto = self._protocol
            if proto.buffer or proto.eof or transport.is_closing():
                return True
            sock = transport.get_extra_info("socket")
            return sock is not None and is_socket_readable(sock)
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections with asyncio (``GuardedBackend``'s inner backend: it passes IP addresses)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            for option in socket_options or ():
                sock.setsockopt(*option)
            if local_address is not None:
                sock.bind((local_address, 0))
            async with asyncio.timeout(timeout):
                await loop.sock_connect(sock, (host, port))
            transport, protocol = await loop.create_connection(_Buffered, sock=sock)
        except TimeoutError as exc:
            sock.close()
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            sock.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        except BaseException:
            sock.close()
            raise
        assert isinstance(transport, asyncio.Transport)
        return AsyncioStream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
