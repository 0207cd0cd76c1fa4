"""HttpFetcher against a real HTTP server on 127.0.0.1: statuses, validators, redirects, limits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from monitor.fetch import DEFAULT_USER_AGENT, FetchError, FetchPolicy, HttpFetcher, Validators, body_hash

from .conftest import LOCAL_POLICY
from .httpserver import LocalServer, Request, Response

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


async def test_200_returns_body_and_metadata(server: LocalServer, fetcher: HttpFetcher) -> None:
    server.route(
        "/feed",
        Response(
            200,
            [
                ("ETag", '"v1"'),
                ("Last-Modified", "Wed, 01 Jan 2025 00:00:00 GMT"),
                ("Content-Type", "application/rss+xml"),
                ("Cache-Control", "public, max-age=600"),
            ],
            FEED,
        ),
    )
    result = await fetcher.fetch(server.url("/feed"))
    assert result.status == 200
    assert result.body == FEED
    assert result.url == result.final_url == server.url("/feed")
    assert result.headers["content-type"] == "application/rss+xml"
    assert all(key == key.lower() for key in result.headers)
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert result.body_hash == body_hash(FEED)
    assert result.not_modified is False
    assert result.permanent_redirect_to is None
    assert result.max_age_s == 600
    assert result.elapsed_s > 0
    sent = server.hits("/feed")[0].headers
    assert sent["user-agent"] == DEFAULT_USER_AGENT
    assert "https://" in sent["user-agent"]
    assert sent["accept-encoding"] == "gzip, deflate, br"
    assert "if-none-match" not in sent and "if-modified-since" not in sent


async def test_user_agent_is_configurable(server: LocalServer, fetcher: HttpFetcher) -> None:
    server.route("/feed", Response(200, body=FEED))
    policy = FetchPolicy(user_agent="custom/1.0 (+https://example.org/contact)", allow_private_networks=True)
    await fetcher.fetch(server.url("/feed"), policy=policy)
    assert server.hits("/feed")[0].headers["user-agent"] == "custom/1.0 (+https://example.org/contact)"


async def test_304_sends_validators_and_reports_not_modified(
    server: LocalServer, fetcher: HttpFetcher
) -> None:
    def conditional(request: Request) -> Response:
        if request.headers.get("if-none-match") == '"v1"':
            return Response(304, [("ETag", '"v1"')])
        return Response(200, [("ETag", '"v1"')], FEED)

    server.route("/feed", conditional)
    first = await fetcher.fetch(server.url("/feed"))
    validators = Validators(
        etag=first.etag, last_modified="Wed, 01 Jan 2025 00:00:00 GMT", body_hash=first.body_hash
    )
    second = await fetcher.fetch(server.url("/feed"), validators=validators)
    sent = server.hits("/feed")[1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert second.status == 304
    assert second.not_modified is True
    assert second.body == b""
    assert second.etag == '"v1"'
    # A 304 carries no body: the stored hash and Last-Modified carry over.
    assert second.body_hash == first.body_hash
    assert second.last_modified == "Wed, 01 Jan 2025 00:00:00 GMT"


async def test_a_validator_that_is_not_ascii_is_not_sent_back(
    server: LocalServer, fetcher: HttpFetcher
) -> None:
    # A hostile or careless server's ETag / Last-Modified in Latin-1 bytes: storing it is harmless, but
    # sending it back cannot be encoded. The next poll goes out without it; the body hash still tells.
    server.route(
        "/feed", Response(200, [("ETag", '"caf\u00e9"'), ("Last-Modified", "mercredi 1 ao\u00fbt")], FEED)
    )
    first = await fetcher.fetch(server.url("/feed"))
    assert first.etag == '"caf\u00e9"' and first.last_modified == "mercredi 1 ao\u00fbt"
    validators = Validators(etag=first.etag, last_modified=first.last_modified, body_hash=first.body_hash)
    again = await fetcher.fetch(server.url("/feed"), validators=validators)
    sent = server.hits("/feed")[1].headers
    assert "if-none-match" not in sent and "if-modified-since" not in sent
    assert again.status == 200 and again.not_modified is True


async def test_unchanged_body_without_validator_support_is_not_modified(
    server: LocalServer, fetcher: HttpFetcher
) -> None:
    body = {"value": FEED}
    server.route("/feed", lambda _request: Response(200, body=body["value"]))  # ignores validators
    first = await fetcher.fetch(server.url("/feed"))
    assert first.etag is None and first.last_modified is None
    again = await fetcher.fetch(server.url("/feed"), validators=Validators(body_hash=first.body_hash))
    assert again.status == 200 and again.not_modified is True
    body["value"] = FEED + b"<!-- new -->"
    changed = await fetcher.fetch(server.url("/feed"), validators=Validators(body_hash=first.body_hash))
    assert changed.not_modified is False
    assert changed.body_hash != first.body_hash


@pytest.mark.parametrize("status", [301, 308])
async def test_permanent_redirect_is_reported(server: LocalServer, fetcher: HttpFetcher, status: int) -> None:
    server.route("/old", Response(status, [("Location", "/new")]))
    server.route("/new", Response(200, body=FEED))
    result = await fetcher.fetch(server.url("/old"))
    assert result.body == FEED
    assert result.url == server.url("/old")
    assert result.final_url == server.url("/new")
    assert result.permanent_redirect_to == server.url("/new")


@pytest.mark.parametrize("status", [302, 303, 307])
async def test_temporary_redirect_is_followed_not_reported(
    server: LocalServer, fetcher: HttpFetcher, status: int
) -> None:
    server.route("/old", Response(status, [("Location", server.url("/new"))]))
    server.route("/new", Response(200, body=FEED))
    result = await fetcher.fetch(server.url("/old"))
    assert result.final_url == server.url("/new")
    assert result.permanent_redirect_to is None


async def test_permanent_redirect_only_counts_the_leading_permanent_hops(
    server: LocalServer, fetcher: HttpFetcher
) -> None:
    server.route("/a", Response(301, [("Location", "/b")]))
    server.route("/b", Response(302, [("Location", "/c")]))
    server.route("/c", Response(301, [("Location", "/d")]))
    server.route("/d", Response(200, body=FEED))
    result = await fetcher.fetch(server.url("/a"))
    assert result.final_url == server.url("/d")
    # /a moved for good to /b; /b only temporarily points further, so the source becomes /b.
    assert result.permanent_redirect_to == server.url("/b")
    temporary_first = await fetcher.fetch(server.url("/b"))
    assert temporary_first.permanent_redirect_to is None


async def test_redirect_loop_is_detected(server: LocalServer, fetcher: HttpFetcher) -> None:
    server.route("/a", Response(302, [("Location", "/b")]))
    server.route("/b", Response(301, [("Location", "/a")]))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/a"))
    assert caught.value.kind == "redirect_loop"
    assert len(server.requests) == 2
    server.route("/self", Response(302, [("Location", "/self#frag")]))
    with pytest.raises(FetchError, match="redirect loop"):
        await fetcher.fetch(server.url("/self"))


async def test_too_many_redirects(server: LocalServer, fetcher: HttpFetcher) -> None:
    for hop in range(7):
        server.route(f"/r{hop}", Response(302, [("Location", f"/r{hop + 1}")]))
    server.route("/r7", Response(200, body=FEED))
    ok = await fetcher.fetch(server.url("/r2"))  # exactly 5 redirects: allowed
    assert ok.final_url == server.url("/r7")
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/r1"))  # 6 redirects
    assert caught.value.kind == "too_many_redirects"
    strict = FetchPolicy(max_redirects=0, allow_private_networks=True)
    with pytest.raises(FetchError, match="more than 0 redirects"):
        await fetcher.fetch(server.url("/r6"), policy=strict)


async def test_redirect_without_location(server: LocalServer, fetcher: HttpFetcher) -> None:
    server.route("/r", Response(302))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/r"))
    assert caught.value.kind == "bad_redirect" and caught.value.status == 302


async def test_410_is_permanent(server: LocalServer, fetcher: HttpFetcher) -> None:
    server.route("/gone", Response(410))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/gone"))
    err = caught.value
    assert (err.kind, err.status, err.permanent) == ("http", 410, True)
    assert "410" in str(err) and server.url("/gone") in str(err) and "\n" not in str(err)


async def test_429_retry_after_seconds(server: LocalServer, fetcher: HttpFetcher) -> None:
    server.route("/limited", Response(429, [("Retry-After", "120")]))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/limited"))
    err = caught.value
    assert (err.kind, err.status, err.retry_after_s, err.permanent) == ("http", 429, 120.0, False)


async def test_429_retry_after_http_date(server: LocalServer, fetcher: HttpFetcher) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    server.route("/limited", Response(429, [("Retry-After", when)]))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/limited"))
    assert caught.value.retry_after_s is not None
    assert 85 <= caught.value.retry_after_s <= 90


async def test_503_with_retry_after(server: LocalServer, fetcher: HttpFetcher) -> None:
    server.route("/down", Response(503, [("Retry-After", "30")], b"maintenance"))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/down"))
    assert (caught.value.status, caught.value.retry_after_s) == (503, 30.0)
    assert not caught.value.permanent


@pytest.mark.parametrize("status", [500, 404, 403])
async def test_other_errors_are_http_errors(server: LocalServer, fetcher: HttpFetcher, status: int) -> None:
    server.route("/err", Response(status, body=b"oops"))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/err"))
    err = caught.value
    assert (err.kind, err.status, err.retry_after_s, err.permanent) == ("http", status, None, False)
    assert err.url == server.url("/err")


async def test_error_after_redirect_names_both_urls(server: LocalServer, fetcher: HttpFetcher) -> None:
    server.route("/old", Response(302, [("Location", "/broken")]))
    server.route("/broken", Response(500))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/old"))
    assert caught.value.url == server.url("/broken")
    assert server.url("/old") in str(caught.value)


async def test_cookies_are_never_kept(server: LocalServer, fetcher: HttpFetcher) -> None:
    server.route("/c", Response(200, [("Set-Cookie", "session=abc; Path=/")], FEED))
    await fetcher.fetch(server.url("/c"))
    await fetcher.fetch(server.url("/c"))
    assert all("cookie" not in request.headers for request in server.requests)


async def test_retry_after_and_expires_on_success(server: LocalServer, fetcher: HttpFetcher) -> None:
    now = datetime.now(UTC)
    server.route(
        "/x",
        Response(
            200,
            [
                ("Retry-After", "60"),
                ("Date", format_datetime(now, usegmt=True)),
                ("Expires", format_datetime(now + timedelta(hours=1), usegmt=True)),
            ],
            FEED,
        ),
    )
    result = await fetcher.fetch(server.url("/x"))
    assert result.retry_after_s == 60.0
    assert result.max_age_s == pytest.approx(3600, abs=1)


class _Tracker:
    """Counts requests in flight per host, and their peaks, while each one takes 30 ms."""

    def __init__(self) -> None:
        self.in_flight: dict[str, int] = {}
        self.peaks: dict[str, int] = {}
        self.total_peak = 0

    async def handle(self, request: Request) -> Response:
        host = request.headers["host"].split(":")[0]
        self.in_flight[host] = self.in_flight.get(host, 0) + 1
        self.peaks[host] = max(self.peaks.get(host, 0), self.in_flight[host])
        self.total_peak = max(self.total_peak, sum(self.in_flight.values()))
        await asyncio.sleep(0.03)
        self.in_flight[host] -= 1
        return Response(200, body=FEED)


async def _resolve_all_to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


@pytest.mark.parametrize(
    ("hosts", "max_connections", "per_host", "host_peak", "total_peak"),
    [
        (["a.test"], 100, 2, 2, 2),  # the per-host cap binds
        (["a.test"], 100, 3, 3, 3),
        ([f"h{i}.test" for i in range(6)], 3, 2, None, 3),  # the global cap binds
    ],
)
async def test_concurrency_caps(
    hosts: list[str], max_connections: int, per_host: int, host_peak: int | None, total_peak: int
) -> None:
    tracker = _Tracker()
    async with (
        LocalServer() as server,
        HttpFetcher(
            policy=LOCAL_POLICY,
            max_connections=max_connections,
            per_host_limit=per_host,
            resolver=_resolve_all_to_loopback,
        ) as fetcher,
    ):
        server.route("/slow", tracker.handle)
        urls = [server.url("/slow", host=hosts[i % len(hosts)]) for i in range(24)]
        results = await asyncio.gather(*(fetcher.fetch(url) for url in urls))
    assert all(r.status == 200 for r in results)
    assert max(tracker.peaks.values()) <= per_host
    if host_peak is not None:
        assert max(tracker.peaks.values()) == host_peak
    assert tracker.total_peak == total_peak


async def test_fetcher_is_reusable_across_policies(server: LocalServer) -> None:
    server.route("/feed", Response(200, body=FEED))
    async with HttpFetcher() as fetcher:  # default policy: loopback refused
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(server.url("/feed"))
        assert caught.value.kind == "ssrf"
        allowed = await fetcher.fetch(server.url("/feed"), policy=LOCAL_POLICY)
        assert allowed.body == FEED
        # The connection opened under the lax policy is not reused under the strict one.
        with pytest.raises(FetchError, match="loopback"):
            await fetcher.fetch(server.url("/feed"))
    assert len(server.hits("/feed")) == 1
