"""Slack delivery over httpx: incoming webhooks, or a bot token with ``chat.postMessage``.

slack_sdk is used for the Block Kit models only: its async clients need aiohttp, which the project does
not ship, and its sync clients would block the event loop. The wire protocol is two JSON POSTs, so
httpx (already the project's HTTP client) does it with the same timeout and error handling as the
webhook channel.

Outcomes: 2xx and ``{"ok": true}`` succeed (``external_id`` is the message ``ts`` in token mode);
``{"ok": false, "error": ...}`` is permanent unless the error is one of Slack's server-side ones;
429/408/5xx and network errors are transient (429's ``Retry-After`` is passed on and also applied to
this notifier's own limiter); other 4xx and redirects are permanent.
"""

from __future__ import annotations

from typing import Any

import httpx

from monitor.core import AlertMessage, DeliveryOutcome
from monitor.log import get_logger
from monitor.notify._base import Digest, Scrubber, fail, transient
from monitor.notify._http import outcome_for_exception, outcome_for_status, parse_retry_after
from monitor.notify._ratelimit import IntervalLimiter, RateLimited
from monitor.notify._slack_render import (
    escape_slack,
    fallback_text,
    slack_blocks,
    slack_digest_blocks,
    slack_test_blocks,
)
from monitor.notify._story_render import parent_of, slack_follow_up_blocks, slack_follow_up_text

__all__ = ["SlackNotifier"]

# Web API errors that say "Slack had a problem", not "your request is wrong": worth retrying.
_TRANSIENT_API_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
_WEBHOOK_KEY = "webhook"


class SlackNotifier:
    """Posts alerts to one Slack channel, at most one message per ``min_interval_s`` per channel.

    Exactly one of ``webhook_url`` (incoming webhook) or ``token`` + ``channel`` (bot token) is given.
    ``update`` and ``reply`` need the bot token: webhooks cannot address an earlier message. For
    ``update`` Slack wants the channel *id*; the notifier remembers the id Slack returns from the first
    post, so configure the id (``C0123…``) if updates must work right after a restart.
    A ``client`` passed in is used as is and not closed by ``aclose``.
    """

    kind = "slack"

    def __init__(
        self,
        *,
        name: str,
        webhook_url: str | None = None,
        token: str | None = None,
        channel: str | None = None,
        api_base: str = "https://slack.com/api",
        timeout_s: float = 10.0,
        min_interval_s: float = 1.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if (webhook_url is None) == (token is None):
            raise ValueError("SlackNotifier needs exactly one of webhook_url or token")
        if token is not None and not channel:
            raise ValueError("SlackNotifier with a bot token needs a channel")
        self.name = name
        self._webhook_url = webhook_url
        self._token = token
        self._channel = channel
        self._channel_id: str | None = None
        self._api_base = api_base.rstrip("/")
        self._timeout_s = timeout_s
        self._scrub = Scrubber(token, urls=[webhook_url])
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self._limiter = IntervalLimiter(min_interval_s=min_interval_s)
        self._log = get_logger(__name__, channel=name, kind=self.kind)

    async def send(self, message: AlertMessage) -> DeliveryOutcome:
        payload = {"text": fallback_text(message), "blocks": slack_blocks(message)}
        return await self._post("chat.postMessage", payload, alert=message.idempotency_key)

    async def send_digest(self, digest: Digest) -> DeliveryOutcome:
        n = len(digest.items)
        payload = {
            "text": f"monitor digest: {n} alert{'' if n == 1 else 's'}",
            "blocks": slack_digest_blocks(digest),
        }
        return await self._post("chat.postMessage", payload, alert=digest.idempotency_key)

    async def send_test(self) -> DeliveryOutcome:
        payload = {
            "text": f"monitor test message for channel {escape_slack(self.name)}",
            "blocks": slack_test_blocks(self.name),
        }
        return await self._post("chat.postMessage", payload, alert="test")

    async def reply(self, external_id: str, message: AlertMessage) -> DeliveryOutcome:
        """Post ``message`` in the thread of the earlier message ``external_id`` (its ``ts``)."""
        if self._token is None:
            return fail(f"slack {self.name}: replies in a thread need bot-token mode")
        payload = {
            "text": fallback_text(message),
            "blocks": slack_blocks(message),
            "thread_ts": external_id,
        }
        return await self._post("chat.postMessage", payload, alert=message.idempotency_key)

    async def update(self, external_id: str, message: AlertMessage) -> DeliveryOutcome:
        """Replace the earlier message ``external_id`` (its ``ts``) with ``message`` (``chat.update``)."""
        if self._token is None:
            return fail(f"slack {self.name}: updating a message needs bot-token mode")
        payload = {"ts": external_id, "text": fallback_text(message), "blocks": slack_blocks(message)}
        return await self._post("chat.update", payload, alert=message.idempotency_key)

    async def send_story_update(self, message: AlertMessage) -> DeliveryOutcome:
        """A later member of an alerted story.

        Bot token: the story's message is edited in place (``chat.update``) to list every outlet; if
        Slack refuses the edit for good (message deleted, too old, channel name instead of id after a
        restart), a short follow-up is posted in its thread instead. Incoming webhook (no edits, no
        threads): a short follow-up message in the channel.
        """
        parent = parent_of(message)
        ts = message.extra.get("parent_external_id")
        if self._token is not None and parent is not None and isinstance(ts, str) and ts:
            outcome = await self.update(ts, parent)
            if outcome.ok or not outcome.permanent:
                return DeliveryOutcome(ok=True, external_id=ts) if outcome.ok else outcome
            self._log.info("notify.update_refused", alert=message.idempotency_key, error=outcome.error)
            return await self._follow_up(message, thread_ts=ts)
        return await self._follow_up(message, thread_ts=None)

    async def _follow_up(self, message: AlertMessage, *, thread_ts: str | None) -> DeliveryOutcome:
        payload: dict[str, Any] = {
            "text": slack_follow_up_text(message),
            "blocks": slack_follow_up_blocks(message),
        }
        if thread_ts is not None:
            payload["thread_ts"] = thread_ts
        return await self._post("chat.postMessage", payload, alert=message.idempotency_key)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _post(self, method: str, payload: dict[str, Any], *, alert: str) -> DeliveryOutcome:
        key = self._channel or _WEBHOOK_KEY
        what = f"slack {self.name}" if self._token is None else f"slack {self.name} {method}"
        try:
            async with self._limiter.slot(key):
                outcome = await self._request(method, payload, what=what)
        except RateLimited as exc:
            outcome = transient(f"{what}: rate limited ({exc})", retry_after_s=exc.wait_s)
        else:
            if outcome.retry_after_s:
                self._limiter.back_off(key, outcome.retry_after_s)
        if outcome.ok:
            self._log.info("notify.sent", alert=alert, external_id=outcome.external_id)
        else:
            self._log.warning("notify.failed", alert=alert, error=outcome.error, permanent=outcome.permanent)
        return outcome

    async def _request(self, method: str, payload: dict[str, Any], *, what: str) -> DeliveryOutcome:
        body: dict[str, Any] = {
            **payload,
            "parse": "none",
            "link_names": False,
        }
        if method == "chat.postMessage":
            body.update(unfurl_links=False, unfurl_media=False)
        headers: dict[str, str] = {}
        if self._webhook_url is not None:
            url = self._webhook_url
        else:
            url = f"{self._api_base}/{method}"
            headers["Authorization"] = f"Bearer {self._token}"
            use_id = method == "chat.update" and self._channel_id is not None
            body["channel"] = self._channel_id if use_id else self._channel
        try:
            response = await self._client.post(url, json=body, headers=headers, timeout=self._timeout_s)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return outcome_for_exception(exc, what=what, timeout_s=self._timeout_s, scrub=self._scrub)
        if not response.is_success:
            return outcome_for_status(response, what=what, scrub=self._scrub)
        if self._webhook_url is not None:
            return DeliveryOutcome(ok=True)
        return self._api_outcome(response, what=what)

    def _api_outcome(self, response: httpx.Response, *, what: str) -> DeliveryOutcome:
        try:
            data = response.json()
        except ValueError:
            return transient(self._scrub(f"{what}: answer is not JSON"))
        if not isinstance(data, dict):
            return transient(self._scrub(f"{what}: unexpected answer"))
        if data.get("ok") is True:
            if isinstance(data.get("channel"), str):
                self._channel_id = data["channel"]
            ts = data.get("ts")
            return DeliveryOutcome(ok=True, external_id=str(ts) if ts is not None else None)
        error = self._scrub(str(data.get("error") or "unknown_error"), limit=200)
        if error in _TRANSIENT_API_ERRORS:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            return transient(f"{what}: {error}", retry_after_s=retry_after)
        return fail(f"{what}: {error}")
