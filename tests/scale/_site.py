"""A local site for the scale-out test and bench: many RSS feeds whose items appear over time, and a
webhook receiver, in one threaded HTTP server process on 127.0.0.1.

Feed ``/feed/<n>.xml`` publishes item ``k`` at ``start + offset(n) + k * every`` (item 0 at once), keeps
its latest 20 items, and stops publishing at ``freeze`` (seconds after start, ``POST /_freeze`` moves it
to now). Every feed request is logged with its arrival time (``GET /_log``); ``GET /_published`` lists
every item URL published so far. ``POST /hook/<channel>`` records the ``Idempotency-Key`` header and the
arrival time (``GET /_hooks``; ``GET /_counts`` counts both logs). Feed answers wait ``delay`` seconds,
so that polls are in flight long enough for a killed worker to leave some behind.

Run: ``python -m tests.scale._site --feeds 300 --every 40 --delay 0.2``; the first line on stdout is
the port.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ITEMS_KEPT = 20


_SYLLABLES = [a + b for a in "bdfgklmnprstvz" for b in ("a", "e", "i", "o", "u", "an", "er", "ol")]


def _words(n: int, k: int) -> tuple[str, str]:
    """A title and a paragraph of made-up words, different for every item (so that no two items read
    as copies or one story), each naming the harbour and its cranes (what the watchlists look for)."""
    rng = random.Random(n * 100_003 + k)

    def word() -> str:
        return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))

    title = " ".join(word() for _ in range(6)).capitalize() + f" harbour {n}-{k}"
    body = " ".join(word() for _ in range(40))
    return title, f"{body.capitalize()} near the cranes of the harbour."


class Site(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, *, feeds: int, every: float, delay: float, freeze: float | None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.feeds = feeds
        self.every = every
        self.delay = delay
        self.start = time.time()
        self.freeze_at = None if freeze is None else self.start + freeze
        self.lock = threading.Lock()
        self.log: list[tuple[str, float]] = []
        self.hooks: list[tuple[str, str, float]] = []
        self.bodies: dict[tuple[int, int], bytes] = {}  # a feed's body only changes with a new item

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a worker stopped or killed mid-request: expected here, not worth a traceback
        super().handle_error(request, client_address)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def offset(self, n: int) -> float:
        return (n * 7.919) % self.every  # spread feeds over the period, deterministically

    def published(self, n: int, now: float) -> int:
        """How many items feed ``n`` has published by ``now`` (at least one)."""
        end = now if self.freeze_at is None else min(now, self.freeze_at)
        return 1 + max(0, int((end - self.start - self.offset(n)) // self.every))

    def item_url(self, n: int, k: int) -> str:
        return f"http://127.0.0.1:{self.port}/a/{n}/{k}"

    def feed(self, n: int, now: float) -> bytes:
        count = self.published(n, now)
        key = (n, count)
        body = self.bodies.get(key)
        if body is None:
            body = self.bodies[key] = self._render(n, count)
        return body

    def _render(self, n: int, count: int) -> bytes:
        items = []
        for k in range(count - 1, max(-1, count - 1 - ITEMS_KEPT), -1):
            when = self.start + (self.offset(n) + k * self.every if k else 0.0)
            url = self.item_url(n, k)
            title, text = _words(n, k)
            items.append(
                f"<item><title>{title}</title><link>{url}</link>"
                f"<guid>{url}</guid><pubDate>{formatdate(when, usegmt=True)}</pubDate>"
                f"<description>&lt;p&gt;{text}&lt;/p&gt;</description></item>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Harbour {n}</title><link>http://127.0.0.1:{self.port}/</link>"
            f"<description>Feed {n}</description>{''.join(items)}</channel></rss>"
        ).encode()


class Handler(BaseHTTPRequestHandler):
    server: Site
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        site = self.server
        now = time.time()
        path = self.path.split("?")[0]
        if path.startswith("/feed/") and path.endswith(".xml"):
            with site.lock:
                site.log.append((path, now))
            n = int(path[len("/feed/") : -len(".xml")])
            if site.delay:
                time.sleep(site.delay)
            self._send(200, site.feed(n, now), "application/rss+xml")
        elif path == "/_log":
            with site.lock:
                self._send(200, json.dumps(site.log).encode())
        elif path == "/_counts":
            with site.lock:
                self._send(200, json.dumps({"fetches": len(site.log), "hooks": len(site.hooks)}).encode())
        elif path == "/_hooks":
            with site.lock:
                self._send(200, json.dumps(site.hooks).encode())
        elif path == "/_published":
            urls = [site.item_url(n, k) for n in range(site.feeds) for k in range(site.published(n, now))]
            self._send(200, json.dumps(urls).encode())
        else:
            self._send(404, b"{}")

    def do_POST(self) -> None:
        site = self.server
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        path = self.path.split("?")[0]
        if path.startswith("/hook/"):
            with site.lock:
                site.hooks.append(
                    (path[len("/hook/") :], self.headers.get("Idempotency-Key", ""), time.time())
                )
            self._send(200, b'{"ok": true}')
        elif path == "/_freeze":
            site.freeze_at = time.time()
            self._send(200, json.dumps({"freeze_at": site.freeze_at}).encode())
        else:
            self._send(404, b"{}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--every", type=float, default=40.0)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--freeze", type=float, default=None)
    args = parser.parse_args(argv)
    site = Site(feeds=args.feeds, every=args.every, delay=args.delay, freeze=args.freeze)
    print(site.port, flush=True)
    try:
        site.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        site.server_close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
