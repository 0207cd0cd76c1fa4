"""Fuzzing: whatever the bytes, a parser returns or raises ParseError, never anything else.

Examples are derandomized so that a run is reproducible; the corpus is the fixtures, cut and mangled.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.parse import (
    ParseError,
    discover_feeds,
    parse_feed,
    parse_json_feed,
    parse_page_links,
    parse_sitemap,
    sniff_kind,
)

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = sorted(p.read_bytes() for p in FIXTURES.iterdir() if p.is_file())
URL = "https://fuzz.example.com/source"

FUZZ = settings(
    database=None,
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _page_links(body: bytes) -> Any:
    return parse_page_links(body, url=URL, selector="article a, a", next_selector="a[rel=next]")


PARSERS: list[Callable[[bytes], Any]] = [
    lambda b: parse_feed(b, url=URL),
    lambda b: parse_feed(b, url=URL, headers={"content-type": "text/xml; charset=utf-16"}),
    lambda b: parse_json_feed(b, url=URL),
    lambda b: parse_sitemap(b, url=URL),
    _page_links,
    lambda b: discover_feeds(b, url=URL, headers={"content-type": "text/html; charset=bogus-charset"}),
]


def assert_only_parse_errors(body: bytes) -> None:
    messages: list[str] = []
    for parse in PARSERS:
        try:
            parse(body)
        except ParseError as exc:  # anything else fails the test
            messages.append(str(exc))
    assert all(URL in message for message in messages), messages  # every error says where
    assert sniff_kind(body) in {"feed", "json_feed", "sitemap", "html", "unknown"}


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(body: bytes) -> None:
    assert_only_parse_errors(body)


@FUZZ
@given(st.sampled_from(CORPUS), st.floats(min_value=0.0, max_value=1.0))
def test_truncated_fixtures(body: bytes, fraction: float) -> None:
    assert_only_parse_errors(body[: int(len(body) * fraction)])


@FUZZ
@given(
    st.sampled_from(CORPUS),
    st.lists(st.tuples(st.floats(0.0, 1.0), st.binary(min_size=1, max_size=8)), min_size=1, max_size=6),
)
def test_mangled_fixtures(body: bytes, edits: list[tuple[float, bytes]]) -> None:
    for where, junk in edits:
        at = int(len(body) * where)
        body = body[:at] + junk + body[at + len(junk) :]
    assert_only_parse_errors(body)


@FUZZ
@given(st.sampled_from(CORPUS), st.floats(min_value=0.0, max_value=1.0))
def test_truncated_gzip(body: bytes, fraction: float) -> None:
    packed = gzip.compress(body)
    assert_only_parse_errors(packed[: int(len(packed) * fraction)])


@FUZZ
@given(st.text(alphabet=st.sampled_from("<>!&;[]\"'/=?x- \n\u00e9{}:"), max_size=400))
def test_markup_soup(text: str) -> None:
    assert_only_parse_errors(text.encode("utf-8"))
    assert_only_parse_errors(text.encode("utf-16"))
