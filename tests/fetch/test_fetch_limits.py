"""Time and size limits against hostile servers on 127.0.0.1: timeouts, bombs, endless bodies."""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable

import brotli
import pytest

from monitor.fetch import FetchError, FetchPolicy, HttpFetcher

from .httpserver import (
    BacklogFullServer,
    LocalServer,
    Request,
    Response,
    brotli_bomb,
    gzip_bomb,
    regrouped,
    streamed,
)

TEXT = ("Breaking news: the monitor fetched this body. " * 200).encode()
GIB = 1 << 30


def _policy(**overrides: float | int | bool) -> FetchPolicy:
    values: dict[str, float | int | bool] = {
        "allow_private_networks": True,
        "connect_timeout_s": 1.0,
        "total_timeout_s": 3.0,
    }
    values.update(overrides)
    return FetchPolicy(**values)  # type: ignore[arg-type]


async def test_connect_timeout(fetcher: HttpFetcher) -> None:
    hung = BacklogFullServer()
    try:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(hung.url("/feed"), policy=_policy(connect_timeout_s=0.2))
        took = time.monotonic() - started
    finally:
        hung.close()
    assert caught.value.kind == "timeout"
    assert "connect timed out after 0.2s" in str(caught.value)
    assert 0.15 < took < 1.5


async def test_connection_refused(fetcher: HttpFetcher) -> None:
    hung = BacklogFullServer()
    hung.close()  # nothing listens on that port any more
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(hung.url("/feed"))
    assert caught.value.kind == "connect"


async def test_drip_feed_is_cut_by_the_total_timeout(server: LocalServer, fetcher: HttpFetcher) -> None:
    # One byte every 0.1 s: each read succeeds well within the read timeout, only the total budget cuts.
    server.route(
        "/drip",
        Response(200, [("Content-Length", "1000")], streamed([b"x"] * 1000, delay_s=0.1), chunked=False),
    )
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/drip"), policy=_policy(total_timeout_s=0.5))
    took = time.monotonic() - started
    assert caught.value.kind == "timeout"
    assert "no complete response within 0.5s" in str(caught.value)
    assert 0.45 < took < 1.5


async def test_total_timeout_spans_redirect_hops(server: LocalServer, fetcher: HttpFetcher) -> None:
    def slow_redirect(to: str) -> Callable[[Request], Awaitable[Response]]:
        async def handle(_request: Request) -> Response:
            await asyncio.sleep(0.2)
            return Response(302, [("Location", to)])

        return handle

    server.route("/slow1", slow_redirect("/slow2"))
    server.route("/slow2", slow_redirect("/slow3"))
    server.route("/slow3", Response(200, body=b"late"))
    # Each hop is within the budget on its own; together they are not.
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/slow1"), policy=_policy(total_timeout_s=0.3))
    assert caught.value.kind == "timeout"
    assert caught.value.url == server.url("/slow2")
    assert time.monotonic() - started < 1.0
    done = await fetcher.fetch(server.url("/slow1"), policy=_policy(total_timeout_s=2.0))
    assert done.body == b"late"


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send it
        ("br", brotli.compress),
        ("gzip, br", lambda data: brotli.compress(gzip.compress(data))),
        ("identity", lambda data: data),
        ("x-unknown", lambda data: data),  # passed through unchanged, like httpx does
    ],
)
async def test_content_encodings_are_decoded(
    server: LocalServer, fetcher: HttpFetcher, encoding: str, encode: object
) -> None:
    assert callable(encode)
    server.route("/enc", Response(200, [("Content-Encoding", encoding)], encode(TEXT)))
    result = await fetcher.fetch(server.url("/enc"))
    assert result.body == TEXT


async def test_multi_member_gzip(server: LocalServer, fetcher: HttpFetcher) -> None:
    server.route(
        "/mm", Response(200, [("Content-Encoding", "gzip")], gzip.compress(b"one ") + gzip.compress(b"two"))
    )
    assert (await fetcher.fetch(server.url("/mm"))).body == b"one two"


async def _assert_bomb_defused(fetcher: HttpFetcher, url: str, policy: FetchPolicy) -> None:
    tracemalloc.start()
    try:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url, policy=policy)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.kind == "too_large"
    assert "decoded body exceeds" in str(caught.value)
    # The cap is 10 MB by default: decoding stops right after it instead of inflating 1 GB.
    assert peak < 3 * policy.max_decoded_bytes
    assert time.monotonic() - started < 5


async def test_gzip_bomb(server: LocalServer, fetcher: HttpFetcher) -> None:
    server.route(
        "/bomb",
        Response(
            200, [("Content-Encoding", "gzip")], streamed(lambda: regrouped(gzip_bomb(GIB), size=256 << 10))
        ),
    )
    await _assert_bomb_defused(fetcher, server.url("/bomb"), _policy())
    assert _policy().max_decoded_bytes == 10 * 1024 * 1024


async def test_brotli_bomb(server: LocalServer, fetcher: HttpFetcher) -> None:
    server.route(
        "/bomb",
        Response(
            200, [("Content-Encoding", "br")], streamed(lambda: regrouped(brotli_bomb(GIB), size=256 << 10))
        ),
    )
    await _assert_bomb_defused(fetcher, server.url("/bomb"), _policy())


async def test_small_bomb_with_a_small_cap(server: LocalServer, fetcher: HttpFetcher) -> None:
    bomb = b"".join(gzip_bomb(4 << 20))  # 4 MiB of zeros in ~4 KB, served with a Content-Length
    server.route("/bomb", Response(200, [("Content-Encoding", "gzip")], bomb))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/bomb"), policy=_policy(max_decoded_bytes=1 << 20))
    assert caught.value.kind == "too_large"
    ok = await fetcher.fetch(server.url("/bomb"), policy=_policy(max_decoded_bytes=4 << 20))
    assert ok.body == bytes(4 << 20)


async def test_oversize_body_with_content_length(server: LocalServer, fetcher: HttpFetcher) -> None:
    server.route("/big", Response(200, body=bytes(2 << 20)))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/big"), policy=_policy(max_wire_bytes=1 << 20))
    assert caught.value.kind == "too_large"
    assert "Content-Length" in str(caught.value)
    exact = await fetcher.fetch(server.url("/big"), policy=_policy(max_wire_bytes=2 << 20))
    assert len(exact.body) == 2 << 20


@pytest.mark.parametrize("chunked", [True, False])
async def test_oversize_body_without_content_length(
    server: LocalServer, fetcher: HttpFetcher, chunked: bool
) -> None:
    def endless() -> object:
        while True:
            yield bytes(64 * 1024)

    server.route("/endless", Response(200, body=streamed(endless), chunked=chunked))  # type: ignore[arg-type]
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/endless"), policy=_policy(max_wire_bytes=1 << 20))
    assert caught.value.kind == "too_large"
    assert "on the wire" in str(caught.value)


async def test_wire_cap_applies_to_compressed_bytes(server: LocalServer, fetcher: HttpFetcher) -> None:
    noise = bytes(range(256)) * 8192  # 2 MiB that do not compress much under gzip level 0
    server.route("/gz", Response(200, [("Content-Encoding", "gzip")], streamed([gzip.compress(noise, 0)])))
    with pytest.raises(FetchError, match="on the wire"):
        await fetcher.fetch(server.url("/gz"), policy=_policy(max_wire_bytes=1 << 20))


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
async def test_corrupt_compressed_body(server: LocalServer, fetcher: HttpFetcher, encoding: str) -> None:
    server.route("/bad", Response(200, [("Content-Encoding", encoding)], b"\x1f\x8b\x08\x00garbage" * 10))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/bad"))
    assert caught.value.kind == "decompression"
