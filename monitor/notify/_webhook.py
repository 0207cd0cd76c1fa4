"""Generic JSON webhook: documented payloads (docs/webhook.md), HMAC-SHA256 signatures, idempotency key.

The payload carries the raw data (full title, snippet and spans): a receiver is a program that does its
own escaping, so nothing is cleaned or truncated here. The body is serialised once and signed exactly
as sent; the signature covers ``<timestamp>.<body>`` so that a captured request cannot be replayed
later with a fresh timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from monitor.core import AlertMessage, DeliveryOutcome
from monitor.log import get_logger
from monitor.notify._base import Digest, Scrubber
from monitor.notify._http import outcome_for_exception, outcome_for_status
from monitor.notify._story_render import webhook_story_update_payload
from monitor.notify._text import group_by_story

__all__ = [
    "ALERT_SCHEMA",
    "DIGEST_SCHEMA",
    "TEST_SCHEMA",
    "WebhookNotifier",
    "sign",
    "webhook_digest_payload",
    "webhook_payload",
]

ALERT_SCHEMA = "monitor.alert/1"
DIGEST_SCHEMA = "monitor.digest/1"
TEST_SCHEMA = "monitor.test/1"
_HEADER_SAFE = re.compile(r"[\x21-\x7e]{1,200}")
_USER_AGENT = "monitor-webhook/1"


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def webhook_payload(message: AlertMessage) -> dict[str, Any]:
    """The JSON object POSTed for one alert (schema ``monitor.alert/1``, see docs/webhook.md)."""
    return {
        "schema": ALERT_SCHEMA,
        "type": "alert",
        "idempotency_key": message.idempotency_key,
        "alert_ids": list(message.alert_ids),
        "channel": message.channel,
        "title": message.title,
        "url": message.url,
        "source": message.source,
        "published": message.published.isoformat() if message.published else None,
        "story_id": message.story_id,
        "watchlists": [
            {
                "name": w.name,
                "snippet": w.snippet,
                "spans": [{"start": s.start, "end": s.end} for s in w.spans],
            }
            for w in message.watchlists
        ],
        "also_reported_by": list(message.also_reported_by),
    }


def webhook_digest_payload(digest: Digest) -> dict[str, Any]:
    """The JSON object POSTed for a digest (schema ``monitor.digest/1``): alerts grouped by story."""
    return {
        "schema": DIGEST_SCHEMA,
        "type": "digest",
        "idempotency_key": digest.idempotency_key,
        "channel": digest.channel,
        "period_start": _iso(digest.period_start),
        "period_end": _iso(digest.period_end),
        "count": len(digest.items),
        "stories": [
            {"story_id": group[0].story_id, "alerts": [webhook_payload(m) for m in group]}
            for group in group_by_story(digest.items)
        ],
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 keyed with ``secret`` over ``<timestamp>.`` followed by the body."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _idempotency_header(key: str) -> str:
    """The key itself when it is a plain header token, else a stable digest of it."""
    if _HEADER_SAFE.fullmatch(key):
        return key
    return "sha256-" + hashlib.sha256(key.encode()).hexdigest()


class WebhookNotifier:
    """POSTs alerts as JSON to ``url``; signs them when a ``secret`` is configured.

    2xx is success; 408, 429 (with its ``Retry-After``), 5xx, timeouts and network errors are
    transient; other 4xx and redirects (never followed: the signed body stays with the configured
    host) are permanent. The URL is treated as a secret (such URLs often carry a token).
    """

    kind = "webhook"

    def __init__(
        self,
        *,
        name: str,
        url: str,
        secret: str | None = None,
        timeout_s: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self._url = url
        self._secret = secret
        self._timeout_s = timeout_s
        self._scrub = Scrubber(secret, urls=[url])
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self._log = get_logger(__name__, channel=name, kind=self.kind)

    async def send(self, message: AlertMessage) -> DeliveryOutcome:
        return await self._post(webhook_payload(message), message.idempotency_key, event="alert")

    async def send_digest(self, digest: Digest) -> DeliveryOutcome:
        return await self._post(webhook_digest_payload(digest), digest.idempotency_key, event="digest")

    async def send_story_update(self, message: AlertMessage) -> DeliveryOutcome:
        """A later member of an alerted story (``monitor.story_update/1``, event ``story_update``)."""
        payload = webhook_story_update_payload(message)
        return await self._post(payload, message.idempotency_key, event="story_update")

    async def send_test(self) -> DeliveryOutcome:
        key = f"test-{uuid.uuid4()}"
        payload = {
            "schema": TEST_SCHEMA,
            "type": "test",
            "idempotency_key": key,
            "channel": self.name,
            "message": f"monitor test message for channel {self.name}",
        }
        return await self._post(payload, key, event="test")

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def _headers(self, body: bytes, key: str, event: str) -> dict[str, str]:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": _USER_AGENT,
            "Idempotency-Key": _idempotency_header(key),
            "X-Monitor-Event": event,
            "X-Monitor-Timestamp": timestamp,
        }
        if self._secret:
            headers["X-Monitor-Signature"] = sign(self._secret, timestamp, body)
        return headers

    async def _post(self, payload: dict[str, Any], key: str, *, event: str) -> DeliveryOutcome:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        what = f"webhook {self.name}"
        try:
            response = await self._client.post(
                self._url, content=body, headers=self._headers(body, key, event), timeout=self._timeout_s
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            outcome = outcome_for_exception(exc, what=what, timeout_s=self._timeout_s, scrub=self._scrub)
        else:
            outcome = (
                DeliveryOutcome(ok=True)
                if response.is_success
                else outcome_for_status(response, what=what, scrub=self._scrub)
            )
        if outcome.ok:
            self._log.info("notify.sent", alert=key, payload_type=event)
        else:
            self._log.warning("notify.failed", alert=key, error=outcome.error, permanent=outcome.permanent)
        return outcome
