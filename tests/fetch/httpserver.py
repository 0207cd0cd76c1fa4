"""A tiny, scriptable HTTP/1.1 server on 127.0.0.1 for the fetch tests.

Real sockets and a real wire format, but every response is scripted: status, raw headers, a body given as
bytes (Content-Length), as an async iterator (chunked, or close-delimited when ``chunked=False``), with
delays between chunks. It runs in the test's own event loop (no thread), so a slow or endless body is
paced by the client's reads and stops as soon as the client hangs up. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field

import brotli

__all__ = [
    "BacklogFullServer",
    "LocalServer",
    "Request",
    "Response",
    "brotli_bomb",
    "gzip_bomb",
    "regrouped",
    "streamed",
]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case keys


Body = bytes | Callable[[], AsyncIterator[bytes]]


@dataclass(slots=True)
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Body = b""
    chunked: bool = True  # for iterator bodies: chunked encoding, else close-delimited
    reason: str | None = None


Handler = Callable[[Request], Awaitable[Response] | Response]

_REASONS = {
    200: "OK",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class LocalServer:
    """``async with LocalServer() as server: server.route("/feed", Response(...)); server.url("/feed")``."""

    def __init__(self, *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self._tls = tls
        self.port = 0
        self.requests: list[Request] = []
        self.connections = 0  # accepted so far
        self._routes: dict[str, Handler | Response] = {}
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> LocalServer:
        self._server = await asyncio.start_server(self._serve, self.host, 0, ssl=self._tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 1.0)

    def url(self, path: str = "/", *, host: str | None = None) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def route(self, path: str, response: Handler | Response) -> None:
        self._routes[path] = response

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    @property
    def open_connections(self) -> int:
        """Connections accepted and not yet closed by either side (the client's closes land a moment
        later: yield to the loop before reading it)."""
        return len(self._writers)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        request = Request(method, target, headers)
        self.requests.append(request)
        route = self._routes.get(target.split("?", 1)[0])
        if route is None:
            response = Response(404, body=b"not found")
        elif isinstance(route, Response):
            response = route
        else:
            produced = route(request)
            response = produced if isinstance(produced, Response) else await produced
        return await self._write(writer, response)

    async def _write(self, writer: asyncio.StreamWriter, response: Response) -> bool:
        reason = response.reason or _REASONS.get(response.status, "Whatever")
        head = [f"HTTP/1.1 {response.status} {reason}"]
        names = {name.lower() for name, _ in response.headers}
        head += [f"{name}: {value}" for name, value in response.headers]
        streaming = not isinstance(response.body, bytes)
        keep_alive = not (streaming and not response.chunked)
        if isinstance(response.body, bytes):
            if "content-length" not in names:
                head.append(f"Content-Length: {len(response.body)}")
        elif response.chunked:
            head.append("Transfer-Encoding: chunked")
        if not keep_alive:
            head.append("Connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if isinstance(response.body, bytes):
            writer.write(response.body)
            await writer.drain()
            return keep_alive
        async for chunk in response.body():
            if not chunk:
                continue
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if response.chunked else chunk)
            await writer.drain()
        if response.chunked:
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        return keep_alive


class BacklogFullServer:
    """A listening socket whose accept queue is full, so a new connect() hangs: a loopback-only way to
    provoke a real connect timeout (Linux drops SYNs to a listener with a full accept queue)."""

    def __init__(self) -> None:
        import socket

        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._fillers: list[socket.socket] = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", self.port))
            self._fillers.append(filler)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        for sock in [*self._fillers, self._listener]:
            sock.close()


def _zeros_gzip_units(unit: int) -> tuple[bytes, bytes]:
    # After a full flush the deflate state is reset, so compressing the same block again yields the same
    # bytes: the stream is header+first block, then the second block repeated, then a trailer.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(unit)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    return first, repeat


def gzip_bomb(total: int, *, unit: int = 1 << 20) -> Iterator[bytes]:
    """A valid gzip stream of ``total`` zero bytes (a multiple of ``unit``), produced lazily in ~1 KB
    pieces: 1 GB of zeros is about 1 MB on the wire and nothing large is ever held in memory."""
    assert total % unit == 0 and total >= 2 * unit
    first, repeat = _zeros_gzip_units(unit)
    zeros = bytes(unit)
    crc = zlib.crc32(zeros)
    yield first
    for _ in range(total // unit - 1):
        crc = zlib.crc32(zeros, crc)
        yield repeat
    final = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()  # an empty final block
    yield final + crc.to_bytes(4, "little") + (total & 0xFFFFFFFF).to_bytes(4, "little")


def brotli_bomb(total: int, *, unit: int = 1 << 20) -> Iterator[bytes]:
    """A valid brotli stream of ``total`` zero bytes, compressed lazily (quality 0: ~0.2 s per GB)."""
    compressor = brotli.Compressor(quality=0)
    zeros = bytes(unit)
    for _ in range(total // unit):
        out = compressor.process(zeros)
        if out:
            yield out
    yield compressor.finish()


def regrouped(chunks: Iterable[bytes], *, size: int) -> Iterator[bytes]:
    """Re-cut a stream into pieces of about ``size`` bytes (bigger writes: each network read then
    carries a larger slice of a bomb, which is what an unbounded decoder chokes on)."""
    pending: list[bytes] = []
    held = 0
    for chunk in chunks:
        pending.append(chunk)
        held += len(chunk)
        if held >= size:
            yield b"".join(pending)
            pending, held = [], 0
    if pending:
        yield b"".join(pending)


def streamed(
    source: Iterable[bytes] | Callable[[], Iterable[bytes]], *, delay_s: float = 0.0
) -> Callable[[], AsyncIterator[bytes]]:
    """An iterator body for ``Response``: a list, or a factory called per request (generators are
    single-use); ``delay_s`` is slept before each chunk (the drip server)."""

    async def body() -> AsyncIterator[bytes]:
        for chunk in source() if callable(source) else source:
            if delay_s:
                await asyncio.sleep(delay_s)
            yield chunk

    return body
