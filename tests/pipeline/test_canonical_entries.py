"""A feed's entries come back from the worker under canonical URLs, so the event loop's process only
de-duplicates them (``read_feed`` canonicalises once, ``_unique_entries`` trusts the flag)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from monitor.pipeline._poll import _unique_entries
from monitor.pipeline._work import read_feed

BODY = " ".join(["The harbour board met on Tuesday to settle the quarrel over the new crane contracts."] * 3)
FEED = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Harbour news</title><link>https://news.example/</link>
<item><title>Crane deal signed</title><link>HTTPS://News.Example:443/a/1?utm_source=rss&amp;id=7#top</link>
<description>&lt;p&gt;{BODY}&lt;/p&gt;</description></item>
<item><title>Crane deal signed (again)</title><link>https://news.example/a/1?id=7&amp;fbclid=xyz</link>
<description>&lt;p&gt;{BODY} Later copy.&lt;/p&gt;</description></item>
<item><title>Title only</title><link>https://news.example/a/2?gclid=1</link></item>
</channel></rss>""".encode()


@pytest.mark.parametrize("normalize", [True, False])
def test_entries_are_canonical_and_say_so(normalize: bool) -> None:
    at = datetime(2026, 11, 21, tzinfo=UTC) if normalize else None
    read = read_feed(FEED, url="https://news.example/feed", headers={}, normalize_at=at)
    assert read.canonical
    urls = [e.url for e in read.entries]
    assert urls == [
        "https://news.example/a/1?id=7",
        "https://news.example/a/1?id=7",
        "https://news.example/a/2",
    ]
    if normalize:
        assert set(read.carried) == {"https://news.example/a/1?id=7"}
        article = read.carried["https://news.example/a/1?id=7"]
        assert (
            article is not None
            and not isinstance(article, str)
            and article.url == "https://news.example/a/1?id=7"
        )
    fresh = _unique_entries(read.entries, canonical=read.canonical)
    assert [e.url for e in fresh] == ["https://news.example/a/1?id=7", "https://news.example/a/2"]
    assert fresh[0].title == "Crane deal signed"  # the first of each URL


def test_entries_not_known_to_be_canonical_are_made_so() -> None:
    """Pages and sitemaps give raw URLs (``canonical`` false): the loop canonicalises those itself."""
    read = read_feed(FEED, url="https://news.example/feed", headers={})
    raw = [
        replace(e, url=u)
        for e, u in zip(
            read.entries,
            ("HTTP://News.Example/b#x", "http://news.example/b?utm_medium=y", "http://news.example:80/c"),
            strict=True,
        )
    ]
    fresh = _unique_entries(raw, canonical=False)
    assert [e.url for e in fresh] == ["http://news.example/b", "http://news.example/c"]
