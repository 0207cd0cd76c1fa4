"""The dispatcher against real local receivers, through the real store (SQLite, and PostgreSQL when set)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import time
from datetime import UTC, datetime, timedelta

from monitor import log as logmod
from monitor.notify import Notifier, SlackNotifier, WebhookNotifier
from monitor.runtime._messages import RetryPolicy
from monitor.store import WatchlistSpec
from tests.notify._servers import RecordingServer, Reply

from .conftest import Env, Smtp, dispatcher, hook_payloads, on


def _setup(env: Env, *channels: str) -> None:
    env.setup(
        WatchlistSpec(name="w", query="strike", channels=channels),
        WatchlistSpec(name="w2", query="harbour", channels=channels),
    )


async def test_200_on_every_channel_type_marks_sent_once(
    env: Env, http_server: RecordingServer, smtp: Smtp, notifiers: dict[str, Notifier]
) -> None:
    _setup(env, "hook", "slack", "mail")
    titles = env.enqueue(3)
    report = await dispatcher(env, notifiers).drain()
    assert (report.sent, report.retried, report.failed) == (9, 0, 0)
    assert [p["title"] for p in hook_payloads(http_server)] == titles
    assert [p["idempotency_key"] for p in hook_payloads(http_server)] == [
        f"monitor-alert-{ids[0]}" for ids in (p["alert_ids"] for p in hook_payloads(http_server))
    ]
    slack_texts = [json.loads(r.body)["text"] for r in on(http_server, "/slack")]
    assert len(slack_texts) == 3 and all(t in s for t, s in zip(titles, slack_texts, strict=True))
    assert len(smtp.messages()) == 3 and all(
        any(t in str(m["Subject"]) for t in titles) for m in smtp.messages()
    )
    assert env.statuses() == {"sent": 9}
    again = await dispatcher(env, notifiers).drain()
    assert again.claimed == 0 and len(http_server.requests) == 6 and len(smtp.messages()) == 3


async def test_several_watchlists_on_one_channel_make_one_message(
    env: Env, http_server: RecordingServer, notifiers: dict[str, Notifier]
) -> None:
    _setup(env, "hook")
    env.enqueue(1, hits=("w", "w2"))
    report = await dispatcher(env, notifiers).drain()
    assert report.sent == 2
    (payload,) = hook_payloads(http_server)
    assert [w["name"] for w in payload["watchlists"]] == ["w", "w2"]
    assert len(payload["alert_ids"]) == 2
    assert payload["idempotency_key"] == f"monitor-alert-{min(payload['alert_ids'])}"


async def test_group_is_never_split_by_the_batch_limit(
    env: Env, http_server: RecordingServer, notifiers: dict[str, Notifier]
) -> None:
    _setup(env, "hook")
    env.enqueue(3, hits=("w", "w2"))
    await dispatcher(env, notifiers, batch=1).drain()
    assert [len(p["alert_ids"]) for p in hook_payloads(http_server)] == [2, 2, 2]


async def test_429_retry_after_is_a_floor_and_the_batch_waits(
    env: Env, http_server: RecordingServer, notifiers: dict[str, Notifier]
) -> None:
    _setup(env, "hook")
    env.enqueue(2)
    http_server.queue(Reply(429, "slow down", headers={"Retry-After": "120"}))
    d = dispatcher(env, notifiers)
    report = await d.drain()
    assert (report.sent, report.retried) == (0, 1)
    assert len(http_server.requests) == 1  # the second message was handed back, not hammered
    rows = d.outbox.listing()
    first = min(rows, key=lambda r: r.id)
    assert first.next_attempt_at - env.clock() >= timedelta(seconds=120)
    assert all(r.next_attempt_at - env.clock() >= timedelta(seconds=120) for r in rows)
    assert "HTTP 429" in (first.last_error or "")
    assert report.waiting_retry == 2 and report.next_retry_at is not None
    env.clock.advance(seconds=119)
    assert (await d.drain()).claimed == 0 and len(http_server.requests) == 1
    env.clock.advance(seconds=14)  # past 120 s + 10% jitter
    report = await d.drain()
    assert report.sent == 2 and env.statuses() == {"sent": 2}
    assert [r.attempts for r in d.outbox.listing() if r.id == first.id] == [2]


async def test_500_then_200_backs_off_exponentially(
    env: Env, http_server: RecordingServer, notifiers: dict[str, Notifier]
) -> None:
    _setup(env, "slack")
    env.enqueue(1)
    http_server.queue(Reply(500, "oops"), Reply(502, "bad gateway"))
    d = dispatcher(env, notifiers)
    assert (await d.drain()).retried == 1
    (row,) = d.outbox.listing()
    first_delay = (row.next_attempt_at - env.clock()).total_seconds()
    assert 24 <= first_delay <= 36  # 30 s ± 20%
    env.clock.set(row.next_attempt_at)
    assert (await d.drain()).retried == 1
    (row,) = d.outbox.listing()
    assert 48 <= (row.next_attempt_at - env.clock()).total_seconds() <= 72
    env.clock.set(row.next_attempt_at)
    assert (await d.drain()).sent == 1
    (row,) = d.outbox.listing()
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert len(on(http_server, "/slack")) == 3


async def test_timeout_is_retried(
    env: Env, http_server: RecordingServer, notifiers: dict[str, Notifier]
) -> None:
    _setup(env, "hook")
    env.enqueue(1)
    http_server.queue(Reply(hang=True))
    d = dispatcher(env, notifiers)
    report = await d.drain()
    assert report.retried == 1
    (row,) = d.outbox.listing()
    assert "no answer within" in (row.last_error or "") and row.status == "pending"
    env.clock.advance(minutes=1)
    assert (await d.drain()).sent == 1


async def test_404_channel_not_found_fails_and_retry_requeues(
    env: Env, http_server: RecordingServer, notifiers: dict[str, Notifier]
) -> None:
    _setup(env, "slack")
    env.enqueue(2)
    http_server.queue(Reply(404, "channel_not_found"), Reply(404, "channel_not_found"))
    d = dispatcher(env, notifiers)
    report = await d.drain()
    assert (report.failed, report.sent, report.retried) == (2, 0, 0)
    failed = env.store.list_alerts(status="failed")
    assert len(failed) == 2 and all("404 channel_not_found" in (r.last_error or "") for r in failed)
    env.clock.advance(days=1)
    assert (await d.drain()).claimed == 0  # permanent: never tried again by itself
    assert env.store.requeue_failed(ids=[failed[0].id], now=env.clock()) == 1
    assert (await d.drain()).sent == 1
    assert env.statuses() == {"sent": 1, "failed": 1}
    assert len(on(http_server, "/slack")) == 3


async def test_smtp_5xx_is_permanent_4xx_transient(
    env: Env, smtp: Smtp, notifiers: dict[str, Notifier]
) -> None:
    _setup(env, "mail")
    env.enqueue(1)
    smtp.handler.data_reply = "451 try later"
    d = dispatcher(env, notifiers)
    assert (await d.drain()).retried == 1
    smtp.handler.data_reply = "554 rejected by policy"
    env.clock.advance(minutes=5)
    assert (await d.drain()).failed == 1
    (row,) = env.store.list_alerts(status="failed")
    assert "554" in (row.last_error or "")


async def test_gives_up_after_max_attempts(
    env: Env, http_server: RecordingServer, notifiers: dict[str, Notifier]
) -> None:
    _setup(env, "hook")
    env.enqueue(1)
    http_server.default = Reply(503, "down")
    d = dispatcher(env, notifiers, retry=RetryPolicy(max_attempts=3))
    for _ in range(3):
        await d.drain()
        env.clock.advance(hours=1)
    (row,) = env.store.list_alerts(status="failed")
    assert (row.attempts, (row.last_error or "").startswith("gave up after 3 attempts")) == (3, True)
    assert len(http_server.requests) == 3


async def test_unconfigured_channel_is_a_permanent_failure(env: Env, notifiers: dict[str, Notifier]) -> None:
    _setup(env, "nowhere")
    env.enqueue(1)
    assert (await dispatcher(env, notifiers).drain()).failed == 1
    (row,) = env.store.list_alerts(status="failed")
    assert row.last_error == "channel 'nowhere' is not configured"


async def test_one_dead_channel_does_not_hold_up_the_others(
    env: Env, http_server: RecordingServer, smtp: Smtp, notifiers: dict[str, Notifier]
) -> None:
    _setup(env, "hook", "mail")
    env.enqueue(5)
    http_server.default = Reply(hang=True)  # every webhook request times out (0.5 s)
    started = time.monotonic()
    report = await dispatcher(env, notifiers).drain()
    assert len(smtp.messages()) == 5 and report.sent == 5
    assert len(on(http_server, "/hook")) == 1  # one timeout, then the batch is handed back
    assert time.monotonic() - started < 3
    assert report.waiting_retry == 5


async def test_slack_channel_is_never_sent_to_concurrently(
    env: Env, http_server: RecordingServer, notifiers: dict[str, Notifier]
) -> None:
    """A limiter of 0.2 s per message: 5 alerts take >= 0.8 s and arrive spaced, even with two drains."""
    _setup(env, "slack")
    env.enqueue(5)
    slow = SlackNotifier(name="slack", webhook_url=http_server.url("/slack"), min_interval_s=0.2)
    try:
        d = dispatcher(env, {"slack": slow})
        await asyncio.gather(d.drain(), d.drain())
    finally:
        await slow.aclose()
    times = [r.at for r in on(http_server, "/slack")]
    assert len(times) == 5
    assert all(b - a >= 0.18 for a, b in itertools.pairwise(times))


async def test_lease_is_renewed_during_a_slow_batch(env: Env, http_server: RecordingServer) -> None:
    """Real clock, 1 s lease, 6 sends spaced 0.3 s: a second dispatcher never gets the rows."""
    _setup(env, "slack")
    env.enqueue(6)
    slow = SlackNotifier(name="slack", webhook_url=http_server.url("/slack"), min_interval_s=0.3)
    other_claims: list[int] = []
    try:
        first = dispatcher(env, {"slack": slow}, lease_s=1.0, batch=10)
        second = dispatcher(env, {"slack": slow}, lease_s=1.0)
        first.clock = second.clock = lambda: datetime.now(UTC)

        async def poach() -> None:
            for _ in range(20):
                await asyncio.sleep(0.1)
                rows = await asyncio.to_thread(
                    second.outbox.claim,
                    channel="slack",
                    now=second.clock(),
                    limit=10,
                    lease_s=1,
                    token="poacher",
                )
                other_claims.append(len(rows))

        await asyncio.gather(first.drain(), poach())
    finally:
        await slow.aclose()
    assert sum(other_claims) == 0
    assert len(on(http_server, "/slack")) == 6 and env.statuses() == {"sent": 6}


async def test_webhook_secret_never_reaches_logs_or_the_outbox(
    env: Env, http_server: RecordingServer
) -> None:
    token = "T0KEN-5ecret-path-0123456789abcdef"
    url = http_server.url(f"/hooks/{token}")
    _setup(env, "hook")
    env.enqueue(2)
    http_server.queue(
        Reply(500, f"upstream error for /hooks/{token} at {url}"),
        Reply(404, f"no such hook {url}"),
    )
    buf = io.StringIO()
    logmod.configure(fmt="json", level="DEBUG", stream=buf)
    hook = WebhookNotifier(name="hook", url=url, timeout_s=1)
    try:
        d = dispatcher(env, {"hook": hook})
        await d.drain()
        env.clock.advance(minutes=5)
        await d.drain()
    finally:
        await hook.aclose()
    logged = buf.getvalue()
    assert "alert.retry" in logged and "alert.failed" in logged
    errors = [r.last_error or "" for r in env.store.list_alerts()]
    assert any("HTTP 500" in e for e in errors) or any("HTTP 404" in e for e in errors)
    for text in (logged, *errors):
        assert token not in text and "5ecret" not in text


async def test_round_budget_and_cancellation_hand_back_unattempted_rows(
    env: Env, http_server: RecordingServer
) -> None:
    """A slow channel stops claiming after ``round_budget_s``; a cancelled drain (shutdown) hands back
    what it had not attempted at once, while the message in flight keeps its lease (fate unknown)."""
    _setup(env, "slack")
    env.enqueue(8)
    slow = SlackNotifier(name="slack", webhook_url=http_server.url("/slack"), min_interval_s=0.25)
    try:
        d = dispatcher(env, {"slack": slow}, round_budget_s=0.4, batch=10)
        report = await d.drain_once()
        assert 1 <= report.sent <= 3 and report.claimed == 8
        rows = d.outbox.listing()
        pending = [r for r in rows if r.status == "pending"]
        assert pending and all(r.attempts == 0 for r in pending)  # handed back, attempt undone
        assert d.outbox.summary(now=env.clock()).due == len(pending)
        task = asyncio.create_task(d.drain())
        for _ in range(500):  # until the next message is on the wire
            if len(on(http_server, "/slack")) > report.sent:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        await slow.aclose()
    left = d.outbox.summary(now=env.clock())
    assert left.leased <= 1  # at most the message that was in flight
    assert left.due + left.leased + env.statuses().get("sent", 0) == 8
