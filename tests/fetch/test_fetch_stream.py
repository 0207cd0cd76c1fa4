"""The asyncio network backend under the fetcher (``monitor.fetch._stream``): what httpcore's anyio backend
did must still hold: big bodies arrive whole (the protocol's read buffer pauses and resumes the socket),
a TLS server that closes without close_notify ends a close-delimited body instead of failing it, an idle
connection the server closed reads as readable (so the pool drops it), and timeouts are httpcore's."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections.abc import AsyncIterator

import httpcore
import pytest
import trustme

from monitor.fetch import FetchError, FetchPolicy, HttpFetcher
from monitor.fetch._stream import AsyncioBackend

from .conftest import LOCAL_POLICY
from .httpserver import LocalServer, Response


async def test_a_body_far_larger_than_the_read_buffer_arrives_whole(
    server: LocalServer, fetcher: HttpFetcher
) -> None:
    body = hashlib.sha256(b"seed").digest() * (6 * 1024 * 1024 // 32)  # 6 MB in one write
    server.route("/big", Response(200, body=body))
    result = await fetcher.fetch(server.url("/big"))
    assert len(result.body) == len(body) and result.body == body


async def test_a_reader_that_falls_behind_pauses_the_socket_and_resumes_it(server: LocalServer) -> None:
    body = b"y" * (6 * 1024 * 1024)
    server.route("/big", Response(200, body=body))
    port = int(server.url("/").split(":")[2].split("/")[0])
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=1.0)
    try:
        await stream.write(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n", timeout=1.0)
        await asyncio.sleep(0.3)  # the server writes far more than the read buffer holds meanwhile
        received = b""
        while len(received) < len(body):
            part = await stream.read(65536, timeout=2.0)
            assert part, "the stream ended early"
            received += part
        assert received.endswith(body)
    finally:
        await stream.aclose()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def ragged_tls(ca: trustme.CA) -> AsyncIterator[int]:
    """A TLS server that answers with a close-delimited body, then drops the connection without
    close_notify (as many real servers do)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("public.test").configure_cert(context)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
        writer.write(head + b"x" * 5000)
        await writer.drain()
        writer.transport.abort()  # no TLS close_notify, no FIN handshake of the TLS layer

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


async def test_a_tls_body_ended_by_a_close_without_close_notify_is_complete(
    ca: trustme.CA, ragged_tls: int
) -> None:
    client = ssl.create_default_context()
    ca.configure_trust(client)

    async def dns(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    async with HttpFetcher(policy=LOCAL_POLICY, resolver=dns, ssl_context=client) as fetcher:
        result = await fetcher.fetch(f"https://public.test:{ragged_tls}/feed")
    assert result.status == 200 and result.body == b"x" * 5000


@pytest.fixture
async def silent() -> AsyncIterator[tuple[int, list[asyncio.StreamWriter]]]:
    """A server that accepts connections and never answers; the test may close them from its side."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1]), writers
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_reads_time_out_as_httpcore_read_timeouts_and_a_closed_peer_reads_as_readable(
    silent: tuple[int, list[asyncio.StreamWriter]],
) -> None:
    port, writers = silent
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=1.0)
    try:
        assert stream.get_extra_info("is_readable") is False
        assert stream.get_extra_info("server_addr")[1] == port
        await stream.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout=1.0)
        with pytest.raises(httpcore.ReadTimeout):
            await stream.read(1024, timeout=0.05)
        writers[0].close()  # the server hangs up on the idle connection
        for _ in range(100):
            if stream.get_extra_info("is_readable"):
                break
            await asyncio.sleep(0.01)
        assert stream.get_extra_info("is_readable") is True
        assert await stream.read(1024, timeout=1.0) == b""
    finally:
        await stream.aclose()


async def test_a_refused_connection_is_an_httpcore_connect_error(silent: tuple[int, list[object]]) -> None:
    port, _ = silent
    probe = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=1.0)
    await probe.aclose()
    with pytest.raises(httpcore.ConnectError):
        await AsyncioBackend().connect_tcp("127.0.0.1", 1, timeout=1.0)  # nothing listens on port 1


async def test_the_fetcher_maps_a_slow_answer_to_a_timeout(silent: tuple[int, list[object]]) -> None:
    port, _ = silent
    policy = FetchPolicy(allow_private_networks=True, connect_timeout_s=1.0, total_timeout_s=0.3)
    async with HttpFetcher(policy=policy) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(f"http://127.0.0.1:{port}/")
    assert caught.value.kind == "timeout"
