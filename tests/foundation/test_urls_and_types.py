from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core import NormalizedArticle, canonical_url, host_of, url_key


def test_canonical_url_cleans_tracking_and_case() -> None:
    assert (
        canonical_url("HTTPS://News.Example.COM:443/a/b?utm_source=x&id=7&fbclid=zz#section")
        == "https://news.example.com/a/b?id=7"
    )
    assert canonical_url("http://example.com") == "http://example.com/"
    assert canonical_url("http://example.com:8080/x?gclid=1") == "http://example.com:8080/x"
    assert canonical_url("/local/path.xml") == "/local/path.xml"


def test_url_key_is_sha256_prefix_of_canonical() -> None:
    assert url_key("https://example.com/a?utm_medium=y") == url_key("https://EXAMPLE.com/a")
    assert len(url_key("https://example.com/a")) == 16


def test_reference_format() -> None:
    art = NormalizedArticle(
        title="T",
        date=date(2026, 11, 20),
        date_source="page",
        url="https://e.example/a",
        paragraphs=("One.", "Two."),
    )
    assert art.to_text() == "T\n20261120\nhttps://e.example/a\nOne.\nTwo.\n"
    assert art.to_dict()["date"] == "20261120"


_URL_PARTS = st.sampled_from(
    [
        "http",
        "https",
        "HTTP",
        "ftp",
        "",
        "://",
        ":",
        "/",
        "//",
        "?",
        "#",
        "@",
        "[",
        "]",
        "::1",
        "%",
        "\\",
        " ",
        "\t",
        "\n",
        "Example.COM",
        "host",
        ".",
        "8080",
        "a",
        "user:pw",
        "é",
        "xn--bcher-kva",
    ]
)


@given(st.lists(_URL_PARTS, max_size=12).map("".join))
def test_host_of_equals_urlsplits_hostname(url: str) -> None:
    """``host_of``'s string-split fast path answers what ``urlsplit(url).hostname`` does, on any string."""
    try:
        expected = (urlsplit(url).hostname or "").lower()
    except ValueError as exc:  # urlsplit refuses some strings (an unbalanced bracket): so must host_of
        with pytest.raises(ValueError, match=re.escape(str(exc))):
            host_of(url)
        return
    assert host_of(url) == expected


def test_host_of_examples() -> None:
    assert host_of("https://News.Example:8443/a/1?x=1#f") == "news.example"
    assert host_of("http://news.example?x") == "news.example"
    assert host_of("http://user@news.example/") == "news.example"
    assert host_of("http://[2001:db8::1]:80/") == "2001:db8::1"
    assert host_of("/var/feeds/local.xml") == ""
