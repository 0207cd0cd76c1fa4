"""The daemon's HTTP endpoint: ``/healthz`` (liveness), ``/readyz`` (readiness), ``/metrics`` (Prometheus).

It is served by asyncio on the daemon's own event loop, on purpose: if the loop is stuck, ``/healthz``
does not answer, which is exactly what a liveness probe must see. Three GET routes do not justify a web
framework dependency, so the HTTP handling is a deliberately minimal HTTP/1.1 responder.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from monitor.log import get_logger
from monitor.runtime._metrics import Metrics

log = get_logger("monitor.http")

Check = Callable[[], Awaitable[tuple[bool, str]]]


class HealthServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        metrics: Metrics,
        live: Check,
        ready: Check,
        refresh: Callable[[], Awaitable[None]],
    ) -> None:
        self.host = host
        self.port = port
        self.metrics = metrics
        self._live = live
        self._ready = ready
        self._refresh = refresh
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("http.listening", host=self.host, port=self.port)
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            line = request.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split(" ")
            method, path = (parts[0], parts[1].split("?", 1)[0]) if len(parts) >= 2 else ("", "")
            status, ctype, body = await self._route(method, path)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        head = (
            f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode("latin-1") + (b"" if method == "HEAD" else body))
            await writer.drain()
        writer.close()

    async def _route(self, method: str, path: str) -> tuple[str, str, bytes]:
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", "text/plain", b"method not allowed\n"
        if path == "/metrics":
            await self._refresh()
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest(self.metrics.registry)
        if path in ("/healthz", "/readyz"):
            ok, detail = await (self._live() if path == "/healthz" else self._ready())
            status = "200 OK" if ok else "503 Service Unavailable"
            return status, "text/plain; charset=utf-8", (detail + "\n").encode()
        return "404 Not Found", "text/plain", b"not found: try /healthz, /readyz or /metrics\n"
