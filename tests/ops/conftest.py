"""Fixtures for the operations tests: a configuration on the backend under test, the CLI through Typer's
runner, a switchable local feed site (real HTTP on 127.0.0.1), a hand-moved clock, and a dump of every
table to prove that a command stored nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select
from typer.testing import CliRunner

from monitor.cli import app
from tests._support import Clock, restore_logging

__all__ = ["Clock", "restore_logging"]  # re-exported; restore_logging is an autouse fixture

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def cli(cfg: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``monitor ARGS --config CFG``; answers the exit code and stdout + stderr."""
    result = CliRunner().invoke(app, [*args, "--config", str(cfg)], env=env)
    return result.exit_code, result.output


def cli_json(cfg: Path, *args: str) -> Any:
    """``cli`` with ``--json``: standard output parsed back (logs go to standard error)."""
    result = CliRunner().invoke(app, [*args, "--json", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def write_config(path: Path, db_url: str, extra: str = "") -> Path:
    path.write_text(f'database_url: "{db_url}"\nfetch: {{allow_private_networks: true}}\n{extra}', "utf-8")
    return path


def dump_tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: equal dumps mean nothing was written."""
    from monitor.store import Store

    store = Store(url)
    try:
        meta = MetaData()
        meta.reflect(store.engine)
        with store.engine.connect() as conn:
            return {
                name: sorted((tuple(map(repr, row)) for row in conn.execute(select(table))), key=repr)
                for name, table in meta.tables.items()
                if name != "alembic_version"
            }
    finally:
        store.close()


# --- a local news site ------------------------------------------------------------------------------------
def rss(items: list[tuple[str, str, str]]) -> bytes:
    """An RSS 2.0 feed of (slug, title, RFC 822 date) items linking to /a/<slug>."""
    body = "".join(
        f"<item><title>{t}</title><link>/a/{s}</link><guid>urn:tidewater:{s}</guid><pubDate>{d}</pubDate></item>"
        for s, t, d in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Tidewater Courier</title>'
        f"<link>/</link><description>Harbour news</description>{body}</channel></rss>"
    ).encode()


def page(title: str, paragraphs: list[str]) -> bytes:
    paras = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{paras}</article>"
        "</body></html>"
    ).encode()


class Site(ThreadingHTTPServer):
    """Serves ``pages`` (path → (content type, body)); ``broken`` makes every answer a 503."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SiteHandler)
        self.pages: dict[str, tuple[str, bytes]] = {}
        self.broken = False
        self.hits: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _SiteHandler(BaseHTTPRequestHandler):
    server: Site

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        found = self.server.pages.get(self.path)
        if self.server.broken or found is None:
            status, ctype, body = (503 if self.server.broken else 404), "text/plain", b"unavailable"
        else:
            status, (ctype, body) = 200, found
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site()
    server._thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
