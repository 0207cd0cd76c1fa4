from __future__ import annotations

from datetime import date

from monitor.core import NormalizedArticle, canonical_url, url_key


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
