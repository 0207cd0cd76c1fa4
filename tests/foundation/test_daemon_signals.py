"""The daemon as operators run it: a real process, a real HTTP server, SIGTERM mid-poll."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from monitor.store import Store

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Slow Wire</title>
<item><title>Lighthouse keepers vote to strike</title><link>/slow-article</link><guid>sw-1</guid>
<pubDate>Fri, 20 Nov 2026 10:00:00 +0000</pubDate></item></channel></rss>"""

PAGE = b"""<html><head><title>Lighthouse keepers vote to strike</title></head><body><article>
<h1>Lighthouse keepers vote to strike</h1>
<p>Lighthouse keepers along the northern coast voted on Friday to strike over staffing rules,
their association said after a ballot that drew nearly every member.</p>
<p>The coastal agency said it would keep every light burning and that automatic systems would
cover any station left without a keeper during the walkout.</p>
</article></body></html>"""


class _Slow(BaseHTTPRequestHandler):
    page_requested = threading.Event()

    def do_GET(self) -> None:
        if self.path.startswith("/feed"):
            body, ctype = FEED, "application/rss+xml"
        else:
            _Slow.page_requested.set()
            time.sleep(2.0)  # the daemon receives SIGTERM while this request is in flight
            body, ctype = PAGE, "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def slow_server() -> Iterator[str]:
    _Slow.page_requested.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_sigterm_finishes_in_flight_work_and_exits_zero(tmp_path: Path, slow_server: str) -> None:
    db = f"sqlite:///{tmp_path / 'd.db'}"
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"""
database_url: {db}
tick: 1s
http_port: 0
workers: 2
fetch: {{allow_private_networks: true}}
sources:
  - {{name: slow, url: "{slow_server}/feed.xml", first_poll: alert}}
watchlists:
  - {{name: keepers, query: 'lighthouse AND strike'}}
""",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(cfg), "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert _Slow.page_requested.wait(timeout=30), "the daemon never fetched the article page"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert elapsed < 10, f"took {elapsed:.1f}s to stop"
    assert "daemon.stopped" in err
    store = Store(db)
    try:
        # the poll in flight when SIGTERM arrived was finished and recorded, not lost
        assert store.counts()["articles"] == 1
        assert [h.watchlist for h in store.list_hits()] == ["keepers"]
    finally:
        store.close()
