"""SlackNotifier against a local HTTP server playing Slack (incoming webhook and Web API)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import structlog

from monitor.core import AlertMessage
from monitor.notify import Notifier, SlackNotifier

from ._servers import RecordingServer, Reply
from .conftest import make_message

TOKEN = "xoxb-0000-test-token-not-real"
HOOK_PATH = "/services/T0000/B0000/XXXXsecretpathXXXX"


@pytest.fixture
async def make_slack(http_server: RecordingServer) -> AsyncIterator[Callable[..., SlackNotifier]]:
    made: list[SlackNotifier] = []

    def make(*, api: bool = False, **kwargs: object) -> SlackNotifier:
        options: dict[str, object] = {"timeout_s": 2.0, "min_interval_s": 0.0, **kwargs}
        if api:
            options.setdefault("token", TOKEN)
            options.setdefault("channel", "#alerts")
            options.setdefault("api_base", http_server.url("/api"))
        else:
            options.setdefault("webhook_url", http_server.url(HOOK_PATH))
        notifier = SlackNotifier(name="team-slack", **options)  # type: ignore[arg-type]
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        await notifier.aclose()


def test_is_a_notifier() -> None:
    assert isinstance(SlackNotifier(name="s", webhook_url="https://hooks.example/x"), Notifier)


def test_needs_exactly_one_mode() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        SlackNotifier(name="s")
    with pytest.raises(ValueError, match="exactly one"):
        SlackNotifier(name="s", webhook_url="https://h.example/x", token="xoxb-1", channel="#c")
    with pytest.raises(ValueError, match="channel"):
        SlackNotifier(name="s", token="xoxb-1")


async def test_webhook_ok(
    http_server: RecordingServer, make_slack: Callable[..., SlackNotifier], message: AlertMessage
) -> None:
    outcome = await make_slack().send(message)
    assert outcome.ok and outcome.error is None and outcome.external_id is None
    (request,) = http_server.requests
    assert request.path == HOOK_PATH
    body = request.json()
    assert body["text"] == "Acme watch: Acme to buy Beta Industries"
    assert body["blocks"][0]["text"]["text"] == "Acme watch"
    assert body["unfurl_links"] is False and body["link_names"] is False
    assert "authorization" not in request.headers


async def test_api_post_returns_ts_and_sends_token_and_channel(
    http_server: RecordingServer, make_slack: Callable[..., SlackNotifier], message: AlertMessage
) -> None:
    http_server.queue(Reply(body={"ok": True, "channel": "C0123", "ts": "1715700000.000100"}))
    outcome = await make_slack(api=True).send(message)
    assert outcome.ok and outcome.external_id == "1715700000.000100"
    (request,) = http_server.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.json()["channel"] == "#alerts"
    assert "thread_ts" not in request.json()


async def test_api_reply_and_update_address_the_earlier_message(
    http_server: RecordingServer, make_slack: Callable[..., SlackNotifier], message: AlertMessage
) -> None:
    slack = make_slack(api=True)
    http_server.queue(
        Reply(body={"ok": True, "channel": "C0123", "ts": "1.1"}),
        Reply(body={"ok": True, "channel": "C0123", "ts": "1.2"}),
        Reply(body={"ok": True, "channel": "C0123", "ts": "1.1"}),
    )
    first = await slack.send(message)
    assert first.external_id == "1.1"
    reply = await slack.reply("1.1", message)
    assert reply.ok and reply.external_id == "1.2"
    update = await slack.update("1.1", make_message(title="Acme to buy Beta (updated)"))
    assert update.ok
    _posted, replied, updated = http_server.requests
    assert replied.path == "/api/chat.postMessage" and replied.json()["thread_ts"] == "1.1"
    assert updated.path == "/api/chat.update"
    # chat.update needs the channel id, learned from the first answer.
    assert updated.json()["ts"] == "1.1" and updated.json()["channel"] == "C0123"
    assert "Acme to buy Beta (updated)" in updated.json()["blocks"][1]["text"]["text"]


async def test_reply_and_update_need_token_mode(
    http_server: RecordingServer, make_slack: Callable[..., SlackNotifier], message: AlertMessage
) -> None:
    slack = make_slack()
    for outcome in (await slack.reply("1.1", message), await slack.update("1.1", message)):
        assert not outcome.ok and outcome.permanent and "bot-token" in (outcome.error or "")
    assert http_server.requests == []


async def test_api_channel_not_found_is_permanent(
    http_server: RecordingServer, make_slack: Callable[..., SlackNotifier], message: AlertMessage
) -> None:
    http_server.queue(Reply(body={"ok": False, "error": "channel_not_found"}))
    outcome = await make_slack(api=True).send(message)
    assert not outcome.ok and outcome.permanent
    assert outcome.error == "slack team-slack chat.postMessage: channel_not_found"


async def test_api_internal_error_is_transient(
    http_server: RecordingServer, make_slack: Callable[..., SlackNotifier], message: AlertMessage
) -> None:
    http_server.queue(Reply(body={"ok": False, "error": "internal_error"}))
    outcome = await make_slack(api=True).send(message)
    assert not outcome.ok and not outcome.permanent


async def test_webhook_404_channel_not_found_is_permanent(
    http_server: RecordingServer, make_slack: Callable[..., SlackNotifier], message: AlertMessage
) -> None:
    http_server.queue(Reply(status=404, body="channel_not_found"))
    outcome = await make_slack().send(message)
    assert not outcome.ok and outcome.permanent
    assert outcome.error == "slack team-slack: HTTP 404 channel_not_found"


@pytest.mark.parametrize("status", [400, 403, 410])
async def test_webhook_client_errors_are_permanent(
    status: int, http_server: RecordingServer, make_slack: Callable[..., SlackNotifier], message: AlertMessage
) -> None:
    http_server.queue(Reply(status=status, body="invalid_payload"))
    outcome = await make_slack().send(message)
    assert not outcome.ok and outcome.permanent


async def test_429_passes_retry_after_on(
    http_server: RecordingServer, make_slack: Callable[..., SlackNotifier], message: AlertMessage
) -> None:
    http_server.queue(Reply(status=429, body="rate_limited", headers={"Retry-After": "30"}))
    slack = make_slack()
    outcome = await slack.send(message)
    assert not outcome.ok and not outcome.permanent and outcome.retry_after_s == 30.0
    # The channel stays quiet: the next send is handed back at once without touching Slack.
    started = time.monotonic()
    again = await slack.send(message)
    assert time.monotonic() - started < 1.0
    assert not again.ok and not again.permanent and again.retry_after_s is not None
    assert 25 < again.retry_after_s <= 30
    assert len(http_server.requests) == 1


async def test_500_then_200_is_transient_then_ok(
    http_server: RecordingServer, make_slack: Callable[..., SlackNotifier], message: AlertMessage
) -> None:
    http_server.queue(Reply(status=500, body="rollup_error"), Reply(status=200, body="ok"))
    slack = make_slack()
    first = await slack.send(message)
    assert not first.ok and not first.permanent and "HTTP 500" in (first.error or "")
    second = await slack.send(message)
    assert second.ok
    assert len(http_server.requests) == 2


async def test_timeout_is_transient(
    http_server: RecordingServer, make_slack: Callable[..., SlackNotifier], message: AlertMessage
) -> None:
    http_server.queue(Reply(hang=True))
    started = time.monotonic()
    outcome = await make_slack(timeout_s=0.3).send(message)
    assert time.monotonic() - started < 2.0
    assert not outcome.ok and not outcome.permanent
    assert "no answer within 0.3s" in (outcome.error or "")


async def test_unreachable_server_is_transient(message: AlertMessage) -> None:
    slack = SlackNotifier(name="s", webhook_url="http://127.0.0.1:9/services/T/B/unreachable", timeout_s=1)
    try:
        outcome = await slack.send(message)
    finally:
        await slack.aclose()
    assert not outcome.ok and not outcome.permanent and "ConnectError" in (outcome.error or "")


async def test_two_messages_to_one_channel_are_spaced(
    http_server: RecordingServer, message: AlertMessage
) -> None:
    interval = 0.25
    sent_at: list[float] = []

    async def on_request(request: httpx.Request) -> None:
        sent_at.append(time.monotonic())  # when the request actually leaves, after the limiter

    async with httpx.AsyncClient(event_hooks={"request": [on_request]}) as client:
        slack = SlackNotifier(
            name="team-slack", webhook_url=http_server.url(HOOK_PATH), min_interval_s=interval, client=client
        )
        await slack.send(message)
        await slack.send(message)
        # Concurrent sends queue up behind the limiter as well.
        results = await asyncio.gather(slack.send(message), slack.send(message))
        assert all(r.ok for r in results)
        await slack.aclose()
        assert not client.is_closed  # a client passed in belongs to the caller
    # Spacing as seen by the client (requests leaving) and by "Slack" (requests arriving).
    for times in (sent_at, [r.at for r in http_server.requests]):
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(gaps) == 3
        assert min(gaps) >= interval - 0.001, gaps
    # A second notifier (another channel) is not held back by the first one's limiter.
    other = SlackNotifier(name="other", webhook_url=http_server.url("/other"), min_interval_s=30)
    try:
        started = time.monotonic()
        assert (await other.send(message)).ok
        assert time.monotonic() - started < 5
    finally:
        await other.aclose()


async def test_secrets_never_appear_in_errors_or_logs(
    http_server: RecordingServer, make_slack: Callable[..., SlackNotifier], message: AlertMessage
) -> None:
    hook_url = http_server.url(HOOK_PATH)
    # An error page that echoes the request URL and path back, as proxies like to do.
    http_server.queue(
        Reply(status=404, body=f"no such hook {hook_url} (path {HOOK_PATH})"),
        Reply(status=401, body={"ok": False, "error": f"invalid_auth for {TOKEN}"}),
    )
    with structlog.testing.capture_logs() as logs:
        webhook_outcome = await make_slack().send(message)
        api_outcome = await make_slack(api=True).send(message)
    for outcome in (webhook_outcome, api_outcome):
        assert not outcome.ok and outcome.permanent
        assert "secretpath" not in (outcome.error or "") and TOKEN not in (outcome.error or "")
    assert "***" in (webhook_outcome.error or "")
    assert "secretpath" not in repr(logs) and TOKEN not in repr(logs)
    assert any(entry["event"] == "notify.failed" for entry in logs)


async def test_send_test_and_digest_go_through_the_channel(
    http_server: RecordingServer, make_slack: Callable[..., SlackNotifier]
) -> None:
    from datetime import UTC, datetime

    from monitor.notify import Digest

    slack = make_slack()
    assert (await slack.send_test()).ok
    digest = Digest(
        "team",
        "d-1",
        datetime(2024, 5, 14, tzinfo=UTC),
        datetime(2024, 5, 15, tzinfo=UTC),
        (make_message(key="a", story_id=1), make_message(key="b", story_id=1)),
    )
    assert (await slack.send_digest(digest)).ok
    test_body, digest_body = (r.json() for r in http_server.requests)
    assert "test message" in test_body["text"] and "team-slack" in test_body["blocks"][0]["text"]["text"]
    assert digest_body["text"] == "monitor digest: 2 alerts"
    assert digest_body["blocks"][0]["text"]["text"] == "monitor digest: 2 alerts in 1 story"
