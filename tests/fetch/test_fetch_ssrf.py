"""The SSRF guard: every connection (redirects included) goes only to addresses the policy admits.

Refused addresses are refused before any connection attempt, so the private/public addresses returned by
the injected resolvers below are never contacted: the tests stay on loopback.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping, Sequence

import pytest
import trustme

from monitor.fetch import FetchError, FetchPolicy, HttpFetcher, Resolver

from .conftest import LOCAL_POLICY
from .httpserver import LocalServer, Response

FEED = b"<rss version='2.0'><channel/></rss>"
STRICT = FetchPolicy(connect_timeout_s=1.0, total_timeout_s=3.0)


def fake_dns(mapping: Mapping[str, Sequence[str]], calls: list[str] | None = None) -> Resolver:
    async def resolve(host: str, port: int) -> Sequence[str]:
        if calls is not None:
            calls.append(host)
        if host not in mapping:
            raise OSError(f"{host} is not in the test DNS")
        return mapping[host]

    return resolve


async def _refused(fetcher: HttpFetcher, url: str, policy: FetchPolicy = STRICT) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url, policy=policy)
    assert caught.value.kind == "ssrf", caught.value
    return caught.value


async def test_loopback_is_refused_by_default(server: LocalServer) -> None:
    server.route("/feed", Response(200, body=FEED))
    async with HttpFetcher() as fetcher:
        err = await _refused(fetcher, server.url("/feed"), policy=FetchPolicy())
    assert "loopback" in str(err)
    assert server.requests == []


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "2130706433", "0x7f.0.0.1", "127.1", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0", "[::]"],
)
async def test_loopback_spellings_are_refused(server: LocalServer, host: str) -> None:
    # Numeric spellings are resolved by getaddrinfo without any DNS traffic; all of them mean loopback.
    server.route("/feed", Response(200, body=FEED))
    async with HttpFetcher(policy=STRICT) as fetcher:
        await _refused(fetcher, f"http://{host}:{server.port}/feed")
    assert server.requests == []


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (["10.1.2.3"], "private"),
        (["192.168.0.10"], "private"),
        (["172.16.5.4"], "private"),
        (["100.64.1.1"], "reserved"),
        (["169.254.10.1"], "link-local"),
        (["224.0.0.1"], "multicast"),
        (["240.0.0.1"], "reserved"),
        (["fd12:3456::1"], "private"),
        (["fe80::1"], "link-local"),
        (["::ffff:192.168.1.1"], "private"),
        (["64:ff9b::7f00:1"], "loopback"),
        (["93.184.216.34", "127.0.0.1"], "loopback"),  # one bad answer taints the host
    ],
)
async def test_hostname_resolving_to_a_non_public_address_is_refused(answer: list[str], reason: str) -> None:
    async with HttpFetcher(policy=STRICT, resolver=fake_dns({"news.test": answer})) as fetcher:
        err = await _refused(fetcher, "http://news.test/feed")
    assert f"{reason} address" in str(err)
    assert err.url == "http://news.test/feed"


@pytest.mark.parametrize("answer", ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16"])
async def test_cloud_metadata_is_refused_even_when_private_networks_are_allowed(answer: str) -> None:
    async with HttpFetcher(policy=LOCAL_POLICY, resolver=fake_dns({"meta.test": [answer]})) as fetcher:
        err = await _refused(fetcher, "http://meta.test/latest/meta-data/", policy=LOCAL_POLICY)
        assert "cloud-metadata" in str(err)
        err = await _refused(fetcher, "http://169.254.169.254/latest/meta-data/", policy=LOCAL_POLICY)


@pytest.fixture
async def public_server() -> AsyncIterator[tuple[LocalServer, HttpFetcher, list[str]]]:
    """A server reachable as ``public.test`` (explicitly allowed) and, for the fake DNS, ``internal.test``
    (not allowed); both names resolve to 127.0.0.1 where the server listens."""
    calls: list[str] = []
    dns = fake_dns({"public.test": ["127.0.0.1"], "internal.test": ["127.0.0.1"]}, calls)
    policy = FetchPolicy(
        connect_timeout_s=1.0, total_timeout_s=3.0, allowed_private_hosts=frozenset({"PUBLIC.test"})
    )
    async with LocalServer() as server, HttpFetcher(policy=policy, resolver=dns) as fetcher:
        yield server, fetcher, calls


async def test_redirect_to_a_private_address_is_refused(
    public_server: tuple[LocalServer, HttpFetcher, list[str]],
) -> None:
    server, fetcher, _calls = public_server
    server.route("/ok", Response(200, body=FEED))
    server.route("/to-literal", Response(302, [("Location", server.url("/secret"))]))
    server.route("/to-name", Response(301, [("Location", server.url("/secret", host="internal.test"))]))
    server.route("/secret", Response(200, body=b"credentials"))
    ok = await fetcher.fetch(server.url("/ok", host="public.test"))  # control: the first hop is allowed
    assert ok.body == FEED
    for start in ("/to-literal", "/to-name"):
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(server.url(start, host="public.test"))
        err = caught.value
        assert err.kind == "ssrf"
        assert "loopback" in str(err) and "redirected from http://public.test" in str(err)
    assert server.hits("/secret") == []


async def test_connection_goes_to_the_checked_address(
    public_server: tuple[LocalServer, HttpFetcher, list[str]],
) -> None:
    # public.test exists only in the fake DNS: the fetch can only succeed by connecting to the address
    # our guard resolved and checked, and it is resolved once, not again by the HTTP client.
    server, fetcher, calls = public_server
    server.route("/feed", Response(200, body=FEED))
    result = await fetcher.fetch(server.url("/feed", host="public.test"))
    assert result.body == FEED
    assert calls == ["public.test"]
    assert server.hits("/feed")[0].headers["host"] == f"public.test:{server.port}"


async def test_dns_rebinding_between_check_and_connect_is_impossible(server: LocalServer) -> None:
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])
    calls: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    server.route("/feed", Response(200, body=FEED))
    async with HttpFetcher(policy=LOCAL_POLICY, resolver=rebinding) as fetcher:
        result = await fetcher.fetch(server.url("/feed", host="rebind.test"))
    assert result.body == FEED
    assert calls == ["rebind.test"]


async def test_unresolvable_host(public_server: tuple[LocalServer, HttpFetcher, list[str]]) -> None:
    _server, fetcher, _calls = public_server
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch("http://nowhere.test/feed")
    assert caught.value.kind == "dns"


async def test_environment_proxies_are_ignored(
    monkeypatch: pytest.MonkeyPatch, public_server: tuple[LocalServer, HttpFetcher, list[str]]
) -> None:
    # A proxy resolves names itself, which would bypass the guard; the fetcher never uses one.
    server, fetcher, _calls = public_server
    async with LocalServer() as proxy:
        proxy.route("/feed", Response(200, body=b"from the proxy"))
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, proxy.url())
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        server.route("/feed", Response(200, body=FEED))
        result = await fetcher.fetch(server.url("/feed", host="public.test"))
    assert result.body == FEED
    assert proxy.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/feed.xml",
        "gopher://example.com/",
        "data:text/plain,hi",
        "javascript:alert(1)",
        "mailto:news@example.com",
        "ws://example.com/socket",
        "dict://127.0.0.1:11211/",
    ],
)
async def test_other_schemes_are_refused(fetcher: HttpFetcher, url: str) -> None:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url)
    assert caught.value.kind == "scheme"


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/"])
async def test_redirect_to_another_scheme_is_refused(server: LocalServer, location: str) -> None:
    server.route("/r", Response(302, [("Location", location)]))
    policy = FetchPolicy(allow_private_networks=True, allow_local_files=True)  # even with local files on
    async with HttpFetcher(policy=policy) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(server.url("/r"))
    assert caught.value.kind == "scheme"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_server(ca: trustme.CA) -> AsyncIterator[LocalServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("public.test").configure_cert(context)
    async with LocalServer(tls=context) as running:
        yield running


async def test_tls_keeps_hostname_verification_while_connecting_to_the_ip(
    ca: trustme.CA, tls_server: LocalServer
) -> None:
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    tls_server.route("/feed", Response(200, body=FEED))
    dns = fake_dns({"public.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    async with HttpFetcher(policy=LOCAL_POLICY, resolver=dns, ssl_context=client_context) as fetcher:
        result = await fetcher.fetch(tls_server.url("/feed", host="public.test"))
        assert result.body == FEED
        with pytest.raises(FetchError) as caught:  # the certificate does not name other.test
            await fetcher.fetch(tls_server.url("/feed", host="other.test"))
        assert caught.value.kind == "tls"
    async with HttpFetcher(policy=LOCAL_POLICY, resolver=dns) as default_trust:
        with pytest.raises(FetchError) as caught:  # and a private CA is not trusted by default
            await default_trust.fetch(tls_server.url("/feed", host="public.test"))
        assert caught.value.kind == "tls"
