"""Story updates: what a channel shows when a later member joins an alerted story.

The dispatcher hands a channel an ``AlertMessage`` for the new member (its title, URL, source) whose
``extra`` carries the story's alert as it was sent, refreshed with every outlet now known
(``extra["parent"]``, an ``AlertMessage``), and that alert's channel id (``extra["parent_external_id"]``,
Slack's ``ts``). Untrusted text goes through the same cleaning and escaping as an alert.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from monitor.core import AlertMessage
from monitor.notify._slack_render import MAX_SECTION, escape_slack, safe_link_target
from monitor.notify._text import clean_line, clip

__all__ = [
    "STORY_UPDATE_SCHEMA",
    "parent_of",
    "render_console_story_update",
    "slack_follow_up_blocks",
    "slack_follow_up_text",
    "webhook_story_update_payload",
]

STORY_UPDATE_SCHEMA = "monitor.story_update/1"


def parent_of(message: AlertMessage) -> AlertMessage | None:
    parent = message.extra.get("parent")
    return parent if isinstance(parent, AlertMessage) else None


def _names(message: AlertMessage) -> str:
    return ", ".join(n for n in (clean_line(w.name) for w in message.watchlists) if n)


def render_console_story_update(message: AlertMessage) -> str:
    """One line: ``  ↳ [watchlist] also reported by SOURCE: TITLE URL``."""
    source = clip(clean_line(message.source), 100) or "another source"
    title = clip(clean_line(message.title), 160) or "(untitled)"
    names = clip(_names(message), 120)
    label = f"[{names}] " if names else ""
    return f"  ↳ {label}also reported by {source}: {title} {clean_line(message.url)}".rstrip() + "\n"


def slack_follow_up_text(message: AlertMessage) -> str:
    return escape_slack(
        clip(f"Also reported by {clean_line(message.source)}: {clean_line(message.title)}", 300)
    )


def slack_follow_up_blocks(message: AlertMessage) -> list[dict[str, Any]]:
    """A short message: "Also reported by SOURCE: linked title", and the story it belongs to."""
    title = escape_slack(clip(clean_line(message.title) or clean_line(message.url), 300)) or "(untitled)"
    target = safe_link_target(message.url)
    linked = f"<{target}|{title}>" if target else title
    source = escape_slack(clip(clean_line(message.source), 200)) or "another source"
    blocks: list[Any] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=clip(f"↳ Also reported by *{source}*: {linked}", MAX_SECTION), verbatim=True
            )
        )
    ]
    parent = parent_of(message)
    if parent is not None:
        story = escape_slack(clip(clean_line(parent.title), 300))
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Story: {story}", verbatim=True)]))
    return [b.to_dict() for b in blocks]


def _article(message: AlertMessage) -> dict[str, Any]:
    return {
        "title": message.title,
        "url": message.url,
        "source": message.source,
        "published": message.published.isoformat() if message.published else None,
    }


def webhook_story_update_payload(message: AlertMessage) -> dict[str, Any]:
    """The JSON object POSTed for a story update (schema ``monitor.story_update/1``, docs/webhook.md)."""
    parent = parent_of(message)
    return {
        "schema": STORY_UPDATE_SCHEMA,
        "type": "story_update",
        "kind": "story_update",
        "idempotency_key": message.idempotency_key,
        "alert_ids": list(message.alert_ids),
        "channel": message.channel,
        "story_id": message.story_id,
        "parent_alert_id": message.extra.get("parent_id"),
        "parent_idempotency_key": parent.idempotency_key if parent is not None else None,
        "story": _article(parent) if parent is not None else None,
        "member": _article(message),
        "watchlists": [w.name for w in message.watchlists],
        "also_reported_by": list(parent.also_reported_by if parent is not None else message.also_reported_by),
    }
