"""The fetcher talks to httpcore itself (``monitor.fetch._client``): what it sends and how it reads a
response must be what httpx's request and response models gave, byte for byte and value for value."""

from __future__ import annotations

import httpcore
import httpx
import pytest

from monitor.fetch._client import reason_phrase, request_for, response_headers

HEADERS = {
    "User-Agent": "monitor/1.0 (+https://example.org/bot)",
    "Accept": "application/rss+xml, */*;q=0.7",
    "Accept-Encoding": "gzip, deflate, br",
    "If-None-Match": 'W/"abc-123"',
    "If-Modified-Since": "Mon, 02 Jun 2025 10:00:00 GMT",
}
TIMEOUTS = {"connect": 1.0, "read": 2.0, "write": 2.0, "pool": 2.0}


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/feed",
        "https://Example.ORG:8443/a/b?x=1&y=%20z",
        "http://example.org:80/",
        "https://bücher.example/feed?q=ä",
        "http://127.0.0.1:8080",
        "http://[::1]:9000/x#frag",
    ],
)
def test_the_request_is_the_one_httpx_would_send(url: str) -> None:
    target = httpx.URL(url)
    ours = request_for(target, HEADERS, TIMEOUTS)
    theirs = httpx.Request("GET", target, headers=HEADERS)
    assert ours.method == b"GET"
    assert ours.headers == theirs.headers.raw
    assert (ours.url.scheme, ours.url.host, ours.url.port, ours.url.target) == (
        target.raw_scheme,
        target.raw_host,
        target.port,
        target.raw_path,
    )
    assert ours.extensions == {"timeout": TIMEOUTS}


def test_a_header_value_httpx_could_not_send_fails_the_same_way() -> None:
    with pytest.raises(UnicodeEncodeError):
        httpx.Request("GET", "http://example.org/", headers={"If-None-Match": '"é"'})
    with pytest.raises(UnicodeEncodeError):
        request_for(httpx.URL("http://example.org/"), {"If-None-Match": '"é"'}, TIMEOUTS)


@pytest.mark.parametrize(
    "raw",
    [
        [(b"Content-Type", b"text/xml"), (b"ETag", b'"v1"')],
        [(b"Set-Cookie", b"a=1"), (b"X-Seen", b"one"), (b"set-cookie", b"b=2"), (b"SET-COOKIE", b"c=3")],
        [(b"Content-Disposition", "attachment; filename=bücher.xml".encode())],  # UTF-8
        [(b"X-Title", "café".encode("latin-1")), (b"X-Other", b"plain")],  # neither ASCII nor UTF-8
        [],
    ],
)
def test_response_headers_read_as_httpx_read_them(raw: list[tuple[bytes, bytes]]) -> None:
    expected = {k.lower(): v for k, v in httpx.Response(200, headers=raw).headers.items()}
    assert response_headers(raw) == expected


@pytest.mark.parametrize("extensions", [{"reason_phrase": b"Not Modified"}, {"reason_phrase": b""}, {}])
def test_the_reason_phrase_is_httpx_s(extensions: dict[str, bytes]) -> None:
    ours = httpcore.Response(304, extensions=extensions)
    theirs = httpx.Response(304, extensions=extensions)
    assert reason_phrase(ours) == theirs.reason_phrase
