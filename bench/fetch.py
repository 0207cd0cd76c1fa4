"""Fetch throughput: HttpFetcher against a local server, versus a plain httpx client, in one run.

Not a test (pytest does not collect it). Run from the repository root:

    .venv/bin/python bench/fetch.py [--quick] [-n N]

A separate process serves a ~40 KB RSS feed, gzip'd, (200 with ETag, or 304 when the request carries
If-None-Match) on 127.0.0.1. The fetcher polls N feed URLs spread over 500 host names (all resolved to
127.0.0.1 by an injected resolver, so the per-host cap of 2 applies as with real feeds) with
``max_connections=100``; half of the polls send validators and get a 304. The naive baseline is an
``httpx.AsyncClient`` with default settings (its own gzip decoding, no SSRF guard, no size caps) doing
the same polls against 127.0.0.1 with the same concurrency. A last pass of the fetcher where every poll
gets a 304 gives the CPU cost of the daemon's most common request (a steady poll of an unchanged feed).
Prints figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import multiprocessing
import random
import time
from collections.abc import Sequence

import httpx

from monitor.fetch import FetchPolicy, HttpFetcher, Validators
from monitor.log import configure

HOSTS = 500
ETAG = '"bench-v1"'


def _feed() -> bytes:
    rng = random.Random(1)  # varied text, so that gzip compresses it like real prose (~3x), not 30x
    words = [
        f"{w}{n}" for w in ("news", "city", "vote", "rain", "court", "market", "team") for n in range(40)
    ]

    def prose(count: int) -> str:
        return " ".join(rng.choice(words) for _ in range(count))

    items = "".join(
        f"<item><title>{prose(10)}</title>"
        f"<link>https://news.example/{i}</link><guid>https://news.example/{i}</guid>"
        f"<pubDate>Mon, 02 Jun 2025 {i % 24:02d}:00:00 GMT</pubDate>"
        f"<description>{prose(60)}</description></item>"
        for i in range(60)
    )
    channel = f"<channel><title>Bench</title>{items}</channel>"
    return f"<?xml version='1.0'?><rss version='2.0'>{channel}</rss>".encode()


class _Serve(asyncio.Protocol):
    body = gzip.compress(_feed(), 6)
    ok = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Encoding: gzip\r\n"
        b"ETag: " + ETAG.encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    not_modified = b"HTTP/1.1 304 Not Modified\r\nETag: " + ETAG.encode() + b"\r\nContent-Length: 0\r\n\r\n"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.transport.write(self.not_modified if b"\r\nif-none-match:" in head.lower() else self.ok)


def _server(port_out: multiprocessing.Queue[int]) -> None:  # runs in a child process
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Serve, "127.0.0.1", 0, backlog=1024)
        port_out.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


async def _loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


async def _ours(urls: Sequence[str], *, every: int = 2) -> tuple[float, float, int]:
    """Poll ``urls``; every ``every``-th one (from the second) sends validators and gets a 304."""
    policy = FetchPolicy(allow_private_networks=True, total_timeout_s=60)
    validators = Validators(etag=ETAG)
    async with HttpFetcher(
        policy=policy, max_connections=100, per_host_limit=2, resolver=_loopback
    ) as fetcher:
        started, cpu = time.perf_counter(), time.process_time()
        results = await asyncio.gather(
            *(fetcher.fetch(url, validators=validators if i % every else None) for i, url in enumerate(urls))
        )
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert sum(r.not_modified for r in results) == len(urls) - len(range(0, len(urls), every))
    return wall, cpu, sum(len(r.body) for r in results)


async def _naive(urls: Sequence[str]) -> tuple[float, float, int]:
    gate = asyncio.Semaphore(100)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=60, follow_redirects=True) as client:

        async def get(i: int, url: str) -> bytes:
            async with gate:
                response = await client.get(url, headers={"If-None-Match": ETAG} if i % 2 else None)
                return response.content

        started, cpu = time.perf_counter(), time.process_time()
        bodies = await asyncio.gather(*(get(i, url) for i, url in enumerate(urls)))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return wall, cpu, sum(len(b) for b in bodies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1,000 feeds instead of 10,000")
    parser.add_argument("-n", type=int, default=None)
    args = parser.parse_args()
    n = args.n or (1000 if args.quick else 10_000)
    configure(fmt="console", level="WARNING")  # as in production: debug events are filtered cheaply
    queue: multiprocessing.Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(target=_server, args=(queue,), daemon=True)
    server.start()
    try:
        port = queue.get(timeout=10)
        ours_urls = [f"http://h{i % HOSTS}.bench:{port}/feed/{i}" for i in range(n)]
        naive_urls = [f"http://127.0.0.1:{port}/feed/{i}" for i in range(n)]
        asyncio.run(_ours(ours_urls[:200]))  # warm-up (imports, SSL context)
        ours_wall, ours_cpu, ours_bytes = asyncio.run(_ours(ours_urls))
        naive_wall, naive_cpu, naive_bytes = asyncio.run(_naive(naive_urls))
        _wall, only_304_cpu, _bytes = asyncio.run(_ours(ours_urls, every=len(ours_urls) + 1))
    finally:
        server.terminate()
        server.join(5)
    assert ours_bytes == naive_bytes, (ours_bytes, naive_bytes)
    ours_rate, naive_rate = n / ours_wall, n / naive_wall
    size, wire = len(_feed()) // 1024, len(_Serve.body) // 1024
    print(f"feeds: {n} (half 200 with a {size} KB feed, {wire} KB gzip'd; half 304), {HOSTS} hosts")
    for name, rate, cpu, wall in (
        ("HttpFetcher", ours_rate, ours_cpu, ours_wall),
        ("naive httpx", naive_rate, naive_cpu, naive_wall),
    ):
        print(f"{name} : {rate:8.0f} feeds/s  {1000 * cpu / n:6.2f} ms CPU per fetch  ({wall:.2f} s)")
    print(f"HttpFetcher, every poll a 304: {1000 * only_304_cpu / n:.2f} ms CPU per poll")
    print(f"ratio (ours / naive throughput): {ours_rate / naive_rate:.2f}")
    print(
        json.dumps(
            {
                "bench": "fetch",
                "feeds": n,
                "feeds_per_s": round(ours_rate, 1),
                "cpu_ms_per_fetch": round(1000 * ours_cpu / n, 3),
                "cpu_ms_per_304": round(1000 * only_304_cpu / n, 3),
                "baseline_feeds_per_s": round(naive_rate, 1),
                "baseline_cpu_ms_per_fetch": round(1000 * naive_cpu / n, 3),
                "ratio": round(ours_rate / naive_rate, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
