"""Plain-text alerts on a terminal (what the demo prints).

Every article-derived string goes through ``clean_line`` first: a title carrying ``ESC[2J`` or a
carriage return must not clear or overwrite the operator's screen. Matched words are marked «like
this», which survives copy-paste and needs no terminal support.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from monitor.core import AlertMessage, DeliveryOutcome, Span
from monitor.log import get_logger
from monitor.notify._base import Digest, transient
from monitor.notify._story_render import render_console_story_update
from monitor.notify._text import clean_line, clean_segments, clip, group_by_story, segments, window

__all__ = ["ConsoleNotifier", "render_console", "render_console_digest", "render_sentence_marked"]

SENTENCE_CHARS = 280
OPEN, CLOSE = "«", "»"


def render_sentence_marked(snippet: str, spans: Sequence[Span], *, max_chars: int = SENTENCE_CHARS) -> str:
    """The cleaned sentence with matched words between « », cut around the first match if long."""
    segs = window(clean_segments(segments(snippet, spans)), max_chars)
    return "".join(f"{OPEN}{s.text}{CLOSE}" if s.bold else s.text for s in segs)


def _date(message: AlertMessage) -> str:
    return message.published.isoformat() if message.published else "date unknown"


def render_console(message: AlertMessage) -> str:
    """A few lines per alert: watchlists, title, source · date, URL, matched sentences, also-by."""
    names = ", ".join(n for n in (clean_line(w.name) for w in message.watchlists) if n) or "alert"
    lines = [
        f"[{clip(names, 200)}] {clip(clean_line(message.title), 200) or '(untitled)'}",
        f"  {clip(clean_line(message.source), 100) or 'unknown source'} · {_date(message)}",
        f"  {clean_line(message.url)}",
    ]
    multi = len(message.watchlists) > 1
    for w in message.watchlists:
        sentence = render_sentence_marked(w.snippet, w.spans)
        if sentence:
            label = f"{clip(clean_line(w.name), 60)}: " if multi else ""
            lines.append(f"  > {label}{sentence}")
    if message.also_reported_by:
        others = ", ".join(n for n in (clean_line(s) for s in message.also_reported_by) if n)
        lines.append(f"  also reported by: {clip(others, 300)}")
    return "\n".join(lines) + "\n"


def _stamp(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def render_console_digest(digest: Digest) -> str:
    """The digest as one block of text: a heading line, then each story with its alerts indented."""
    groups = group_by_story(digest.items)
    n = len(digest.items)
    lines = [
        f"== monitor digest: {n} alert{'' if n == 1 else 's'} in {len(groups)} "
        f"stor{'y' if len(groups) == 1 else 'ies'}, {_stamp(digest.period_start)} – "
        f"{_stamp(digest.period_end)} =="
    ]
    for group in groups:
        first = group[0]
        lines.append(f"* {clip(clean_line(first.title), 200) or '(untitled)'}")
        for item in group:
            names = ", ".join(clean_line(w.name) for w in item.watchlists)
            lines.append(
                f"  - [{clip(names, 120)}] {clip(clean_line(item.title), 160) or '(untitled)'} "
                f"({clip(clean_line(item.source), 80)} · {_date(item)})"
            )
            lines.append(f"    {clean_line(item.url)}")
    return "\n".join(lines) + "\n"


class ConsoleNotifier:
    """Writes alerts to ``stream`` (default: the current ``sys.stdout``) and flushes after each."""

    kind = "console"

    def __init__(self, *, name: str, stream: TextIO | None = None) -> None:
        self.name = name
        self._stream = stream
        self._lock = asyncio.Lock()
        self._log = get_logger(__name__, channel=name, kind=self.kind)

    async def send(self, message: AlertMessage) -> DeliveryOutcome:
        return await self._write(render_console(message), alert=message.idempotency_key)

    async def send_digest(self, digest: Digest) -> DeliveryOutcome:
        return await self._write(render_console_digest(digest), alert=digest.idempotency_key)

    async def send_story_update(self, message: AlertMessage) -> DeliveryOutcome:
        """A later member of an alerted story: one "also reported by" line."""
        return await self._write(render_console_story_update(message), alert=message.idempotency_key)

    async def send_test(self) -> DeliveryOutcome:
        text = f"[monitor] test message for channel {clean_line(self.name)}\n"
        return await self._write(text, alert="test")

    async def aclose(self) -> None:
        return None

    async def _write(self, text: str, *, alert: str) -> DeliveryOutcome:
        stream = self._stream or sys.stdout
        # One lock so that concurrent alerts do not interleave their lines.
        async with self._lock:
            try:
                stream.write(text)
                stream.flush()
            except (OSError, ValueError) as exc:  # closed stream, broken pipe
                self._log.warning("notify.failed", alert=alert, error=str(exc))
                return transient(f"console {self.name}: {type(exc).__name__}: {exc}")
        return DeliveryOutcome(ok=True)
