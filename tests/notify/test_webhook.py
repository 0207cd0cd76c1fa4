"""WebhookNotifier against a local receiver: signatures, idempotency header, outcomes; the schema doc."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import structlog

from monitor.core import AlertMessage
from monitor.notify import Digest, WebhookNotifier, sign, webhook_digest_payload, webhook_payload
from monitor.notify._story_render import webhook_story_update_payload

from ._servers import Recorded, RecordingServer, Reply
from .conftest import make_message

SECRET = "whsec-test-0123456789"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhook.md"


@pytest.fixture
async def make_hook(http_server: RecordingServer) -> AsyncIterator[Callable[..., WebhookNotifier]]:
    made: list[WebhookNotifier] = []

    def make(**kwargs: Any) -> WebhookNotifier:
        options: dict[str, Any] = {
            "url": http_server.url("/hooks/monitor"),
            "secret": SECRET,
            "timeout_s": 2.0,
        }
        options.update(kwargs)
        notifier = WebhookNotifier(name="ops-hook", **options)
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        await notifier.aclose()


def verify(request: Recorded, secret: str, *, tolerance_s: int = 300) -> bool:
    """What a receiver does (docs/webhook.md): recompute the HMAC and check the timestamp is fresh."""
    timestamp = request.headers["x-monitor-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= tolerance_s
    return fresh and hmac.compare_digest(request.headers["x-monitor-signature"], f"sha256={expected}")


async def test_signed_alert_with_idempotency_key(
    http_server: RecordingServer, make_hook: Callable[..., WebhookNotifier], message: AlertMessage
) -> None:
    outcome = await make_hook().send(message)
    assert outcome.ok and outcome.error is None
    (request,) = http_server.requests
    assert request.path == "/hooks/monitor"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.headers["idempotency-key"] == "alert-1"
    assert request.headers["x-monitor-event"] == "alert"
    assert verify(request, SECRET)
    assert not verify(request, "wrong-secret")
    tampered = Recorded(
        request.method, request.path, request.headers, request.body.replace(b"Acme", b"Evil"), 0
    )
    assert not verify(tampered, SECRET)
    assert request.json() == webhook_payload(message)
    assert request.json()["watchlists"][0]["spans"] == [{"start": 0, "end": 4}, {"start": 35, "end": 50}]


async def test_unsigned_without_secret(
    http_server: RecordingServer, make_hook: Callable[..., WebhookNotifier], message: AlertMessage
) -> None:
    assert (await make_hook(secret=None).send(message)).ok
    assert "x-monitor-signature" not in http_server.requests[0].headers
    assert "x-monitor-timestamp" in http_server.requests[0].headers


async def test_unusual_idempotency_key_is_hashed_into_the_header(
    http_server: RecordingServer, make_hook: Callable[..., WebhookNotifier]
) -> None:
    key = "alert 1\r\nX-Injected: yes"
    assert (await make_hook().send(make_message(key=key))).ok
    request = http_server.requests[0]
    assert request.headers["idempotency-key"] == "sha256-" + hashlib.sha256(key.encode()).hexdigest()
    assert "x-injected" not in request.headers
    assert request.json()["idempotency_key"] == key


async def test_429_with_http_date_retry_after(
    http_server: RecordingServer, make_hook: Callable[..., WebhookNotifier], message: AlertMessage
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    http_server.queue(Reply(status=429, body="slow down", headers={"Retry-After": when}))
    outcome = await make_hook().send(message)
    assert not outcome.ok and not outcome.permanent
    assert outcome.retry_after_s is not None and 100 < outcome.retry_after_s <= 120


@pytest.mark.parametrize("status", [408, 500, 502, 503])
async def test_transient_statuses(
    status: int,
    http_server: RecordingServer,
    make_hook: Callable[..., WebhookNotifier],
    message: AlertMessage,
) -> None:
    http_server.queue(Reply(status=status, body="later"), Reply(status=204, body=b""))
    hook = make_hook()
    first = await hook.send(message)
    assert not first.ok and not first.permanent and f"HTTP {status}" in (first.error or "")
    assert (await hook.send(message)).ok


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
async def test_permanent_statuses(
    status: int,
    http_server: RecordingServer,
    make_hook: Callable[..., WebhookNotifier],
    message: AlertMessage,
) -> None:
    http_server.queue(Reply(status=status, body="nope"))
    outcome = await make_hook().send(message)
    assert not outcome.ok and outcome.permanent


async def test_redirect_is_not_followed(
    http_server: RecordingServer, make_hook: Callable[..., WebhookNotifier], message: AlertMessage
) -> None:
    http_server.queue(Reply(status=307, body="", headers={"Location": http_server.url("/elsewhere")}))
    outcome = await make_hook().send(message)
    assert not outcome.ok and outcome.permanent and "redirect not followed" in (outcome.error or "")
    assert [r.path for r in http_server.requests] == ["/hooks/monitor"]


async def test_timeout_is_transient(
    http_server: RecordingServer, make_hook: Callable[..., WebhookNotifier], message: AlertMessage
) -> None:
    http_server.queue(Reply(hang=True))
    outcome = await make_hook(timeout_s=0.3).send(message)
    assert not outcome.ok and not outcome.permanent and "no answer within 0.3s" in (outcome.error or "")


async def test_secret_url_and_key_never_leak(
    http_server: RecordingServer, make_hook: Callable[..., WebhookNotifier], message: AlertMessage
) -> None:
    url = http_server.url("/hooks/monitor?token=tok-very-secret-123")
    http_server.queue(Reply(status=400, body=f"bad request to {url} signed with {SECRET}"))
    with structlog.testing.capture_logs() as logs:
        outcome = await make_hook(url=url).send(message)
    assert not outcome.ok and outcome.permanent
    for text in (outcome.error or "", repr(logs)):
        assert "tok-very-secret" not in text and SECRET not in text


async def test_digest_and_test_payloads(
    http_server: RecordingServer, make_hook: Callable[..., WebhookNotifier]
) -> None:
    items = (
        make_message(key="a", story_id=3),
        make_message(key="b", story_id=None),
        make_message(key="c", story_id=3),
    )
    digest = Digest(
        "team", "digest-9", datetime(2024, 5, 14, 8, tzinfo=UTC), datetime(2024, 5, 15, 8, tzinfo=UTC), items
    )
    hook = make_hook()
    assert (await hook.send_digest(digest)).ok
    assert (await hook.send_test()).ok
    digest_req, test_req = http_server.requests
    body = digest_req.json()
    assert body == webhook_digest_payload(digest)
    assert digest_req.headers["idempotency-key"] == "digest-9"
    assert digest_req.headers["x-monitor-event"] == "digest"
    assert body["period_start"] == "2024-05-14T08:00:00Z" and body["count"] == 3
    assert [[a["idempotency_key"] for a in s["alerts"]] for s in body["stories"]] == [["a", "c"], ["b"]]
    assert test_req.json()["type"] == "test" and test_req.headers["x-monitor-event"] == "test"
    assert verify(test_req, SECRET)


def _doc_json_blocks() -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", DOCS.read_text(), re.S)]


def _shape(value: Any) -> Any:
    """Keys and value types, recursively: what the schema doc promises."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_documented_examples_match_the_payloads() -> None:
    docs = {d["schema"]: d for d in _doc_json_blocks() if isinstance(d, dict) and "schema" in d}
    assert _shape(docs["monitor.alert/1"]) == _shape(webhook_payload(make_message()))
    digest = Digest(
        "team", "d", datetime(2024, 5, 14, tzinfo=UTC), datetime(2024, 5, 15, tzinfo=UTC), (make_message(),)
    )
    assert _shape(docs["monitor.digest/1"]) == _shape(webhook_digest_payload(digest))
    parent = replace(make_message(), also_reported_by=("Reuters", "sixth"))
    update = replace(
        make_message(),
        story_id=7,
        extra={"kind": "story_update", "parent_id": 41, "parent": parent, "parent_external_id": None},
    )
    payload = webhook_story_update_payload(update)
    assert _shape(docs["monitor.story_update/1"]) == _shape(payload)
    assert payload["also_reported_by"] == ["Reuters", "sixth"] and payload["parent_alert_id"] == 41


def test_documented_signature_example_is_right() -> None:
    text = DOCS.read_text()
    secret = re.search(r"secret `([^`]+)`", text)
    timestamp = re.search(r"X-Monitor-Timestamp: (\d+)", text)
    signature = re.search(r"X-Monitor-Signature: (sha256=[0-9a-f]{64})", text)
    body = re.search(r"body `([^`]+)`", text)
    assert secret and timestamp and signature and body
    assert sign(secret[1], timestamp[1], body[1].encode()) == signature[1]
