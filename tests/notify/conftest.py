"""Fixtures for the notify tests: local servers, certificates and hand-written alert messages."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import trustme

from monitor.core import AlertMessage, AlertWatchlist, Span

from ._servers import RecordingServer

SENTENCE = "Acme Corp agreed on Tuesday to buy Beta Industries for $2 billion, its chief executive said."


def span_of(text: str, word: str) -> Span:
    start = text.index(word)
    return Span(start, start + len(word))


def make_message(
    *,
    key: str = "alert-1",
    title: str = "Acme to buy Beta Industries",
    snippet: str = SENTENCE,
    words: tuple[str, ...] = ("Acme", "Beta Industries"),
    names: tuple[str, ...] = ("Acme watch",),
    also: tuple[str, ...] = ("Reuters", "BBC News"),
    url: str = "https://news.example.com/2024/05/acme-beta?src=rss&utm=1",
    story_id: int | None = 7,
) -> AlertMessage:
    spans = tuple(span_of(snippet, w) for w in words)
    return AlertMessage(
        idempotency_key=key,
        alert_ids=(11, 12),
        channel="team",
        title=title,
        url=url,
        source="Example News",
        published=date(2024, 5, 14),
        watchlists=tuple(AlertWatchlist(name=n, snippet=snippet, spans=spans) for n in names),
        also_reported_by=also,
        story_id=story_id,
    )


@pytest.fixture
def message() -> AlertMessage:
    return make_message()


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    server = RecordingServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    """A server-side TLS context whose certificate (127.0.0.1, localhost) is signed by ``ca``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def cafile(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def other_cafile(tmp_path: Path) -> str:
    """A CA that did not sign the server's certificate."""
    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)
