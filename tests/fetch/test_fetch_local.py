"""Local sources: file:// URLs and plain paths, only when the policy allows them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from monitor.fetch import FetchError, FetchPolicy, HttpFetcher, Validators, body_hash

LOCAL = FetchPolicy(allow_local_files=True)
FEED = b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>local</title></feed>"


@pytest.fixture
def feed_file(tmp_path: Path) -> Path:
    path = tmp_path / "news feed.atom"
    path.write_bytes(FEED)
    return path


async def test_file_url_and_plain_path(feed_file: Path) -> None:
    async with HttpFetcher(policy=LOCAL) as fetcher:
        for url in (feed_file.as_uri(), str(feed_file)):
            result = await fetcher.fetch(url)
            assert result.status == 200
            assert result.body == FEED
            assert result.url == url
            assert result.final_url == feed_file.as_uri()
            assert dict(result.headers) == {"content-type": "application/atom+xml"}
            assert result.body_hash == body_hash(FEED)
            assert result.not_modified is False
            assert result.etag is None and result.permanent_redirect_to is None


async def test_unchanged_file_is_not_modified(feed_file: Path) -> None:
    async with HttpFetcher(policy=LOCAL) as fetcher:
        first = await fetcher.fetch(str(feed_file))
        again = await fetcher.fetch(str(feed_file), validators=Validators(body_hash=first.body_hash))
        assert again.not_modified is True
        feed_file.write_bytes(FEED + b"\n")  # noqa: ASYNC240 - a tiny test file
        changed = await fetcher.fetch(str(feed_file), validators=Validators(body_hash=first.body_hash))
        assert changed.not_modified is False


async def test_local_files_need_permission(feed_file: Path) -> None:
    async with HttpFetcher() as fetcher:
        for url in (feed_file.as_uri(), str(feed_file)):
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(url)
            assert caught.value.kind == "local_file"
        # ...and the per-call policy can grant it for a source declared in the config file.
        assert (await fetcher.fetch(str(feed_file), policy=LOCAL)).body == FEED


async def test_local_file_size_cap(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * 2048)
    async with HttpFetcher(policy=FetchPolicy(allow_local_files=True, max_decoded_bytes=1024)) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(str(big))
    assert caught.value.kind == "too_large"


async def test_missing_file_directory_and_devices(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    async with HttpFetcher(policy=LOCAL) as fetcher:
        for url, message in [
            (str(tmp_path / "missing.xml"), "file not found"),
            (str(tmp_path), "not a regular file"),
            ("/dev/zero", "not a regular file"),  # would never end
            (str(fifo), "not a regular file"),  # would block forever waiting for a writer
        ]:
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(url)
            assert caught.value.kind == "io"
            assert message in str(caught.value)


async def test_file_url_with_a_remote_host_is_refused() -> None:
    async with HttpFetcher(policy=LOCAL) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch("file://fileserver/share/feed.xml")
    assert caught.value.kind == "scheme"
