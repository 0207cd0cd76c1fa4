"""Delivering stories: "also reported by" on story alerts, and the ``story_update`` rows.

The ingest transaction writes one alert per story, watchlist and channel (the first member that hit)
and a ``story_update`` row, pointing at it, for each later member (store/_stories.py). Here:

* **A story alert** lists, when it is sent, every other outlet of its story known at that moment
  (``also_reported_by``, read from the database, not from the row: members keep arriving while an alert
  waits or retries). The updates of members it lists are then *folded*: marked delivered, because the
  alert says it already.
* **An update whose parent is not out yet** is handed back unattempted and comes due again
  ``defer_s`` later; once the parent is sent the update goes out (or was folded meanwhile).
* **An update whose parent failed**, or has gone, is sent as an ordinary alert, so that the story still
  reaches the channel.
* **An update of a sent parent** goes to the channel's ``send_story_update``: Slack edits the parent in
  place (``chat.update``, bot token) and falls back to a reply in its thread, or posts a short
  follow-up (incoming webhook: it cannot edit); the console prints one "also reported by" line; the
  webhook POSTs a ``story_update`` payload (docs/webhook.md).
* **E-mail** channels choose ``story_updates: digest`` (the rows join the channel's next digest, where
  they are listed under their story) or ``silence`` (marked delivered, never sent): ``route`` applies
  that at the start of each dispatcher round.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from monitor.core import AlertMessage, DeliveryOutcome
from monitor.log import get_logger
from monitor.notify import Notifier
from monitor.runtime._digest import ChannelPolicy
from monitor.runtime._messages import build_messages
from monitor.store._story_outbox import ParentState, StoryOutbox, StorySource

__all__ = ["MAX_ALSO", "StoryUpdates", "kind_of"]

log = get_logger("monitor.dispatcher")
T = TypeVar("T")
Run = Callable[..., Awaitable[Any]]
MAX_ALSO = 50  # outlets named in one message; renderers clip further to their channel's limits


def kind_of(message: AlertMessage) -> str:
    return str(message.extra.get("kind", "hit"))


def _others(members: Sequence[StorySource], own: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for m in members:
        if m.source and m.source != own:
            seen.setdefault(m.source, None)
    return tuple(seen)[:MAX_ALSO]


class StoryUpdates:
    """The story side of one dispatcher (see the module docstring)."""

    def __init__(
        self,
        *,
        outbox: StoryOutbox,
        policy: Callable[[str], ChannelPolicy],
        channels: Sequence[str],
        clock: Callable[[], datetime],
        defer_s: float = 30.0,
    ) -> None:
        self.outbox = outbox
        self.policy = policy
        self.channels = list(channels)
        self.clock = clock
        self.defer_s = defer_s

    def route(self, now: datetime) -> None:
        """E-mail-style channels: updates join the digest, or are silenced (runs in the db thread)."""
        digest = [c for c in self.channels if self.policy(c).story_updates == "digest"]
        silence = [c for c in self.channels if self.policy(c).story_updates == "silence"]
        if digest or silence:
            moved, silenced = self.outbox.route(digest=digest, silence=silence, now=now)
            if moved or silenced:
                log.info("story_update.routed", to_digest=moved, silenced=silenced)

    async def prepare(self, token: str, messages: list[AlertMessage], run: Run) -> list[AlertMessage]:
        """Enrich a claimed batch (one channel) before sending: "also reported by" for story alerts,
        folding, deferring or enriching updates. Answers the messages to send, in order."""
        hits = [m for m in messages if kind_of(m) == "hit" and m.story_id is not None]
        updates = [m for m in messages if kind_of(m) == "story_update"]
        if not hits and not updates:
            return messages
        parent_ids = sorted({int(m.extra["parent_id"]) for m in updates if m.extra.get("parent_id")})
        parents: dict[int, ParentState] = await run(self.outbox.parents, parent_ids)
        story_ids = {m.story_id for m in hits} | {p.row.payload.get("story_id") for p in parents.values()}
        members: dict[int, list[StorySource]] = await run(
            self.outbox.sources, sorted(int(s) for s in story_ids if s is not None)
        )
        now = self.clock()
        out: dict[int, AlertMessage] = {}
        covered: dict[int, list[int]] = {}
        for m in hits:
            story = members.get(int(m.story_id or 0), [])
            out[id(m)] = dataclasses.replace(m, also_reported_by=_others(story, m.source))
            for alert_id in m.alert_ids:
                covered[alert_id] = [s.article_id for s in story]
        folded: set[int] = await run(self.outbox.fold, covered, token=token, now=now) if covered else set()
        deferred: list[int] = []
        for m in updates:
            if set(m.alert_ids) <= folded:
                continue
            parent = parents.get(int(m.extra.get("parent_id") or 0))
            if parent is None or parent.status == "failed":
                # No message to update: the member goes out as the story's alert on this channel.
                story = members.get(int(m.story_id or 0), [])
                extra = {**m.extra, "kind": "hit"}
                out[id(m)] = dataclasses.replace(m, also_reported_by=_others(story, m.source), extra=extra)
            elif parent.status != "sent":
                deferred.extend(m.alert_ids)
            else:
                out[id(m)] = self._enrich(m, parent, members)
        if deferred:
            until = now + timedelta(seconds=self.defer_s)
            await run(self.outbox.defer, deferred, token=token, until=until)
            log.info("story_update.deferred", alerts=len(deferred), until=until.isoformat())
        # Folded and deferred updates are no longer ours to send; everything else keeps its order.
        return [out.get(id(m), m) for m in messages if id(m) in out or kind_of(m) != "story_update"]

    def _enrich(
        self, m: AlertMessage, parent: ParentState, members: Mapping[int, list[StorySource]]
    ) -> AlertMessage:
        story = members.get(int(parent.row.payload.get("story_id") or 0), [])
        (pmsg,) = build_messages([parent.row])
        pmsg = dataclasses.replace(
            pmsg,
            idempotency_key=f"monitor-alert-{parent.key_id}",
            story_id=m.story_id,
            also_reported_by=_others(story, pmsg.source),
        )
        extra = {
            **m.extra,
            "parent": pmsg,
            "parent_id": parent.row.id,
            "parent_external_id": parent.external_id,
        }
        return dataclasses.replace(m, also_reported_by=_others(story, m.source), extra=extra)

    async def send(self, notifier: Notifier, message: AlertMessage) -> DeliveryOutcome:
        """An enriched update through the channel's ``send_story_update`` (or as an alert if it has none)."""
        method = getattr(notifier, "send_story_update", None)
        if method is None or "parent" not in message.extra:
            return await notifier.send(message)
        outcome: DeliveryOutcome = await method(message)
        return outcome
