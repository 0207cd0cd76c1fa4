"""Pure helpers of the fetch stage: header parsing, bounded decoders, address classification, errors."""

from __future__ import annotations

import gzip
import ipaddress
import pickle
import tracemalloc
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import brotli
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.fetch import FetchError, FetchPolicy, body_hash, parse_max_age, parse_retry_after, refusal_reason
from monitor.fetch._decode import DecodeError, OutputTooLarge, make_decoder

from .httpserver import brotli_bomb, gzip_bomb

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@given(st.integers(min_value=0, max_value=10**9))
def test_retry_after_seconds(seconds: int) -> None:
    assert parse_retry_after(str(seconds), now=NOW) == float(seconds)
    assert parse_retry_after(f"  {seconds} ", now=NOW) == float(seconds)


@given(st.integers(min_value=-86400, max_value=10 * 86400))
def test_retry_after_http_date(offset: int) -> None:
    value = format_datetime(NOW + timedelta(seconds=offset), usegmt=True)
    assert parse_retry_after(value, now=NOW) == max(0.0, float(offset))


def test_retry_after_obsolete_date_forms_and_garbage() -> None:
    assert parse_retry_after("Saturday, 01-Mar-25 12:01:00 GMT", now=NOW) == 60.0
    assert parse_retry_after("Sat Mar  1 12:02:00 2025", now=NOW) == 120.0
    naive_now = NOW.replace(tzinfo=None)
    assert parse_retry_after("Sat, 01 Mar 2025 12:00:30 GMT", now=naive_now) == 30.0
    for garbage in ("", "soon", "-5", "nan", "inf", "1e999", "Mon, 99 Foo 2025"):
        assert parse_retry_after(garbage, now=NOW) is None, garbage


def test_max_age() -> None:
    assert parse_max_age({"cache-control": "public, max-age=300"}, now=NOW) == 300
    assert parse_max_age({"cache-control": "max-age=300", "age": "100"}, now=NOW) == 200
    assert parse_max_age({"cache-control": "s-maxage=50"}, now=NOW) is None
    assert parse_max_age({"cache-control": "no-store, max-age=300"}, now=NOW) is None
    assert parse_max_age({"cache-control": "no-cache"}, now=NOW) is None
    expires = format_datetime(NOW + timedelta(minutes=10), usegmt=True)
    assert parse_max_age({"expires": expires}, now=NOW) == 600
    # Expires is measured against the server's Date, so clock skew does not matter.
    skewed = {"expires": expires, "date": format_datetime(NOW + timedelta(minutes=5), usegmt=True)}
    assert parse_max_age(skewed, now=NOW) == 300
    assert parse_max_age({"expires": "0"}, now=NOW) == 0.0
    assert parse_max_age({"cache-control": "max-age=60", "expires": expires}, now=NOW) == 60
    assert parse_max_age({}, now=NOW) is None


def test_body_hash() -> None:
    assert body_hash(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert body_hash(b"a") != body_hash(b"b")


def _decode(encoding: str, data: bytes, cuts: list[int], limit: int) -> bytes:
    decoder = make_decoder(encoding, limit=limit)
    start = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        decoder.feed(data[start:cut])
        start = cut
    decoder.feed(data[start:])
    return decoder.finish()


ENCODERS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "gzip, br": lambda data: brotli.compress(gzip.compress(data)),
    "": lambda data: data,
}


@given(
    st.sampled_from(sorted(ENCODERS)),
    st.binary(max_size=4000) | st.text(max_size=3000).map(str.encode),
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=6),
)
def test_decoders_round_trip_whatever_the_chunking(encoding: str, data: bytes, cuts: list[int]) -> None:
    encoded = ENCODERS[encoding](data)
    assert _decode(encoding, encoded, cuts, limit=len(data)) == data


@given(
    st.sampled_from(sorted(ENCODERS)),
    st.integers(min_value=1, max_value=20_000),
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=4),
)
def test_decoders_stop_one_byte_past_the_limit(encoding: str, size: int, cuts: list[int]) -> None:
    data = bytes(size)
    encoded = ENCODERS[encoding](data)
    with pytest.raises(OutputTooLarge):
        _decode(encoding, encoded, cuts, limit=size - 1)


@pytest.mark.parametrize(
    ("encoding", "bomb"),
    [
        ("gzip", lambda: b"".join(gzip_bomb(64 << 20))),
        ("br", lambda: b"".join(brotli_bomb(64 << 20))),
        ("gzip, br", lambda: brotli.compress(b"".join(gzip_bomb(64 << 20)), quality=1)),
    ],
)
def test_decoder_output_per_feed_is_bounded(encoding: str, bomb: Callable[[], bytes]) -> None:
    # 64 MiB of zeros in one feed() call: refused after ~1 MiB instead of inflating the lot, and fast.
    data = bomb()
    decoder = make_decoder(encoding, limit=1 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(OutputTooLarge):
            decoder.feed(data)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_corrupt_input_raises_decode_error() -> None:
    for encoding in ("gzip", "br", "deflate"):
        with pytest.raises(DecodeError):
            _decode(encoding, b"\x00\x01not compressed at all" * 5, [], limit=1 << 20)


def test_truncated_gzip_keeps_what_was_decoded() -> None:
    data = gzip.compress(b"hello world" * 100)
    assert _decode("gzip", data[:-8], [], limit=1 << 20) == b"hello world" * 100


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
        ("2002:808:808::1", None),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("169.254.169.254", "cloud-metadata"),
        ("::ffff:169.254.169.254", "cloud-metadata"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("2002:7f00:1::1", "loopback"),
        ("fec0::1", "private"),
        ("192.0.0.8", "reserved"),
        ("198.18.0.1", "private"),
        ("255.255.255.255", "reserved"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "private"),
    ],
)
def test_refusal_reason(address: str, reason: str | None) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


def test_fetch_error_is_one_line_and_pickles() -> None:
    err = FetchError(
        "http",
        "HTTP 503 Service\r\nUnavailable",
        url="https://example.com/feed",
        status=503,
        retry_after_s=30.0,
    )
    text = str(err)
    assert "\n" not in text and "\r" not in text
    assert text == "http: HTTP 503 Service Unavailable (https://example.com/feed); retry after 30s"
    copy = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own bytes
    assert (copy.kind, copy.status, copy.retry_after_s, copy.url, str(copy)) == (
        "http",
        503,
        30.0,
        "https://example.com/feed",
        text,
    )


def test_policy_validation_and_host_normalisation() -> None:
    policy = FetchPolicy(allowed_private_hosts=frozenset({"Intranet.Example."}))
    assert policy.allowed_private_hosts == frozenset({"intranet.example"})
    with pytest.raises(ValueError, match="timeouts"):
        FetchPolicy(total_timeout_s=0)
    with pytest.raises(ValueError, match="limits"):
        FetchPolicy(max_redirects=-1)
