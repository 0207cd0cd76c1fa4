"""Fixtures for the fetch tests: a scriptable local HTTP server and a fetcher allowed to reach it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from monitor.fetch import FetchPolicy, HttpFetcher

from .httpserver import LocalServer

# Loopback is private: tests that are not about the SSRF guard allow it explicitly.
LOCAL_POLICY = FetchPolicy(allow_private_networks=True, connect_timeout_s=1.0, total_timeout_s=3.0)


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with LocalServer() as running:
        yield running


@pytest.fixture
async def fetcher() -> AsyncIterator[HttpFetcher]:
    async with HttpFetcher(policy=LOCAL_POLICY) as client:
        yield client
