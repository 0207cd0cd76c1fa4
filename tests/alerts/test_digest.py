"""Digests and quiet hours through the real store and real receivers: one message per period, exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from typing import Any

import pytest

from monitor.core import AlertMessage, DeliveryOutcome
from monitor.notify import Digest, Notifier, WebhookNotifier
from monitor.runtime._digest import ChannelPolicy, QuietHours, Schedule
from monitor.store import Store, WatchlistSpec
from tests.notify._servers import RecordingServer, Reply

from .conftest import Env, Smtp, dispatcher, hook_payloads

HOURLY = {"hook": ChannelPolicy(digest=Schedule(every_s=3600))}


def at(hour: int, minute: int = 0, second: int = 0, day: int = 20) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def _setup(env: Env, channel: str = "hook") -> None:
    env.setup(
        WatchlistSpec(name="now", query="strike", channels=(channel,)),
        WatchlistSpec(name="later", query="strike", channels=(channel,), mode="digest"),
        WatchlistSpec(name="later2", query="harbour", channels=(channel,), mode="digest"),
    )


def digests(server: RecordingServer) -> list[dict[str, Any]]:
    return [p for p in hook_payloads(server) if p["type"] == "digest"]


def items(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for story in payload["stories"] for a in story["alerts"]]


async def test_digest_mode_goes_out_once_per_period(
    env: Env, http_server: RecordingServer, notifiers: dict[str, Notifier]
) -> None:
    _setup(env)
    env.clock.set(at(10, 20))
    titles = env.enqueue(2, hits=("later", "later2"))
    d = dispatcher(env, notifiers, policies=HOURLY)
    report = await d.drain()
    assert (report.sent, report.waiting_digest, report.next_digest_at) == (0, 4, at(11))
    env.clock.set(at(10, 59, 59))
    assert (await d.drain()).sent == 0 and http_server.requests == []
    env.clock.set(at(11, 0, 5))
    report = await d.drain()
    assert (report.digests_sent, report.sent, report.waiting_digest) == (1, 4, 0)
    (payload,) = digests(http_server)
    assert payload["idempotency_key"] == "monitor-digest-hook-20261120T110000Z"
    assert (payload["period_start"], payload["period_end"]) == (
        "2026-11-20T10:00:00Z",
        "2026-11-20T11:00:00Z",
    )
    assert [a["title"] for a in items(payload)] == titles
    assert all([w["name"] for w in a["watchlists"]] == ["later", "later2"] for a in items(payload))
    # an immediate alert is not held back by the digest; a new digest row waits for the next period
    env.clock.set(at(11, 10))
    env.enqueue(1, hits=("now",))
    env.enqueue(1, hits=("later",))
    report = await d.drain()
    assert (report.sent, report.waiting_digest, report.next_digest_at) == (1, 1, at(12))
    env.clock.set(at(12, 0, 1))
    assert (await d.drain()).digests_sent == 1
    assert [len(items(p)) for p in digests(http_server)] == [2, 1]
    assert env.statuses() == {"sent": 6}


class Crash(BaseException):
    """The process dying (not an error a notifier reports)."""


class CrashingNotifier:
    """Fault injection around a real notifier: dies before or after the real digest send."""

    kind = "webhook"

    def __init__(self, real: Notifier, *, after: bool) -> None:
        self.name = real.name
        self.real = real
        self.after = after

    async def send(self, message: AlertMessage) -> DeliveryOutcome:
        return await self.real.send(message)

    async def send_digest(self, digest: Digest) -> DeliveryOutcome:
        if not self.after:
            raise Crash
        await self.real.send_digest(digest)
        raise Crash

    async def send_test(self) -> DeliveryOutcome:
        return await self.real.send_test()

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize("after", [False, True], ids=["before-send", "after-send"])
async def test_digest_survives_a_crash_with_the_same_rows_and_key(
    env: Env, http_server: RecordingServer, notifiers: dict[str, Notifier], after: bool
) -> None:
    _setup(env)
    env.clock.set(at(10, 20))
    env.enqueue(3, hits=("later",))
    env.clock.set(at(11, 0, 1))
    with pytest.raises(Crash):
        await dispatcher(
            env, {"hook": CrashingNotifier(notifiers["hook"], after=after)}, policies=HOURLY
        ).drain()
    restarted = dispatcher(env, notifiers, policies=HOURLY, lease_s=120)
    env.clock.set(at(11, 1))
    assert (await restarted.drain()).sent == 0  # the dead dispatcher's lease still holds
    env.clock.set(at(11, 2, 2))
    assert (await restarted.drain()).digests_sent == 1
    sent = digests(http_server)
    assert len(sent) == (2 if after else 1)
    assert {p["idempotency_key"] for p in sent} == {"monitor-digest-hook-20261120T110000Z"}
    assert all(sorted(a["alert_ids"][0] for a in items(p)) == [1, 2, 3] for p in sent)
    assert env.statuses() == {"sent": 3}


async def test_quiet_hours_hold_alerts_until_their_end_without_own_digest(
    env: Env, http_server: RecordingServer, notifiers: dict[str, Notifier]
) -> None:
    _setup(env)
    policies = {"hook": ChannelPolicy(quiet=QuietHours(time(22), time(7), "Europe/London"))}
    d = dispatcher(env, notifiers, policies=policies)
    env.clock.set(at(23))
    env.enqueue(2, hits=("now",))
    report = await d.drain()
    assert (report.sent, report.held, report.waiting_digest) == (0, 2, 2)
    assert report.next_digest_at == at(7, day=21)
    env.clock.set(at(6, 59, day=21))
    assert (await d.drain()).sent == 0 and http_server.requests == []
    env.clock.set(at(7, 0, 1, day=21))
    report = await d.drain()
    assert (report.digests_sent, report.sent) == (1, 2)
    (payload,) = digests(http_server)
    assert payload["idempotency_key"] == "monitor-digest-hook-20261121T070000Z"
    env.clock.set(at(7, 10, day=21))
    env.enqueue(1, hits=("now",))
    assert (await d.drain()).sent == 1
    assert [p["type"] for p in hook_payloads(http_server)] == ["digest", "alert"]


async def test_quiet_hours_with_own_digest_wait_for_the_next_digest(
    env: Env, http_server: RecordingServer, notifiers: dict[str, Notifier]
) -> None:
    _setup(env)
    policies = {
        "hook": ChannelPolicy(digest=Schedule(at=(time(8),)), quiet=QuietHours(time(22), time(7))),
    }
    d = dispatcher(env, notifiers, policies=policies)
    env.clock.set(at(23))
    env.enqueue(1, hits=("now",))
    env.enqueue(1, hits=("later",))
    await d.drain()
    env.clock.set(at(7, 30, day=21))
    assert (await d.drain()).sent == 0
    env.clock.set(at(8, 0, 1, day=21))
    assert (await d.drain()).digests_sent == 1
    (payload,) = digests(http_server)
    assert len(items(payload)) == 2 and len(http_server.requests) == 1


async def test_email_channel_per_digest(env: Env, smtp: Smtp, notifiers: dict[str, Notifier]) -> None:
    _setup(env, "mail")
    policies = {"mail": ChannelPolicy(digest=Schedule(every_s=3600), digest_only=True)}
    d = dispatcher(env, notifiers, policies=policies)
    env.clock.set(at(10, 20))
    env.enqueue(3, hits=("now",))
    assert (await d.drain()).held == 3 and smtp.messages() == []
    env.clock.set(at(11, 0, 1))
    assert (await d.drain()).sent == 3
    (message,) = smtp.messages()
    assert "digest" in str(message["Subject"]).lower()


async def test_failed_digest_is_listed_and_retried_as_a_whole(
    env: Env, http_server: RecordingServer, notifiers: dict[str, Notifier]
) -> None:
    _setup(env)
    env.clock.set(at(10, 20))
    env.enqueue(2, hits=("later",))
    http_server.queue(Reply(410, "gone"))
    d = dispatcher(env, notifiers, policies=HOURLY)
    env.clock.set(at(11, 0, 1))
    assert (await d.drain()).failed == 2
    failed = env.store.list_alerts(status="failed")
    assert len(failed) == 2 and all(
        (r.last_error or "").startswith("digest: webhook hook: HTTP 410") for r in failed
    )
    assert env.store.requeue_failed(ids=[failed[0].id], now=env.clock()) == 2
    assert (await d.drain()).digests_sent == 1
    keys = [p["idempotency_key"] for p in digests(http_server)]
    assert keys == ["monitor-digest-hook-20261120T110000Z"] * 2
    assert env.statuses() == {"sent": 2}


async def test_two_dispatchers_seal_and_send_a_digest_once(
    env: Env, db_url: str, http_server: RecordingServer, notifiers: dict[str, Notifier]
) -> None:
    _setup(env)
    env.clock.set(at(10, 20))
    env.enqueue(4, hits=("later",))
    env.clock.set(at(11, 0, 1))
    other_store = Store(db_url)
    other_hook = WebhookNotifier(name="hook", url=http_server.url("/hook"), timeout_s=1)
    try:
        a = dispatcher(env, notifiers, policies=HOURLY)
        b = dispatcher(env, {"hook": other_hook}, policies=HOURLY)
        b.store = other_store
        b.outbox = type(a.outbox)(other_store)
        await asyncio.gather(a.drain(), b.drain())
    finally:
        await other_hook.aclose()
        other_store.close()
    (payload,) = digests(http_server)
    assert len(items(payload)) == 4
    assert env.statuses() == {"sent": 4}


async def test_a_late_digest_covers_everything_since_the_last_one(
    env: Env, http_server: RecordingServer, notifiers: dict[str, Notifier]
) -> None:
    """The dispatcher was down from 08:20 to 11:30: one digest, keyed by the latest period, says so."""
    _setup(env)
    env.clock.set(at(8, 20))
    env.enqueue(1, hits=("later",))
    env.clock.set(at(9, 40))
    env.enqueue(1, hits=("later",))
    env.clock.set(at(11, 30))
    assert (await dispatcher(env, notifiers, policies=HOURLY).drain()).digests_sent == 1
    (payload,) = digests(http_server)
    assert payload["idempotency_key"] == "monitor-digest-hook-20261120T110000Z"
    assert (payload["period_start"], payload["count"]) == ("2026-11-20T08:20:00Z", 2)
