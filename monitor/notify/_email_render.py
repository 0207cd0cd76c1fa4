"""E-mail rendering: multipart plain text + HTML from fixed jinja2 templates, header-safe subjects.

The templates are files in ``templates/``; article text only ever enters them as *data*, so template
syntax in a title (``{{ 7*7 }}``) is printed, not evaluated. HTML templates are autoescaped (and links
are only made from http(s) URLs); the plain-text ones are not escaped, which is right for text/plain.
Every header value is one cleaned line: no CR/LF can reach the header block.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import jinja2

from monitor.core import AlertMessage, AlertWatchlist
from monitor.notify._base import Digest
from monitor.notify._text import clean_line, clean_segments, clip, group_by_story, segments, window

__all__ = ["render_email", "render_email_digest", "render_email_test"]

SENTENCE_CHARS = 2000
SUBJECT_CHARS = 200
DEFAULT_DOMAIN = "monitor.invalid"


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("monitor.notify", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates ship with the package and never change under a running process: no stat() per render.
        auto_reload=False,
    )


def _render(name: str, **context: Any) -> str:
    return _env().get_template(name).render(**context)


def _safe_href(url: str) -> str | None:
    url = clean_line(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def message_id(key: str, *, kind: str, domain: str) -> str:
    """A Message-ID derived from the idempotency key: a resend of the same alert carries the same id."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}.{kind}@{domain}>"


def _watchlist(w: AlertWatchlist) -> dict[str, Any]:
    segs = window(clean_segments(segments(w.snippet, w.spans)), SENTENCE_CHARS)
    return {
        "name": clean_line(w.name) or "watchlist",
        "segments": segs,
        "marked": "".join(f"«{s.text}»" if s.bold else s.text for s in segs),
    }


def _names(watchlists: Sequence[AlertWatchlist]) -> str:
    return ", ".join(n for n in (clean_line(w.name) for w in watchlists) if n)


def _item(message: AlertMessage) -> dict[str, Any]:
    return {
        "title": clean_line(message.title) or clean_line(message.url) or "(untitled)",
        "url": clean_line(message.url),
        "link": _safe_href(message.url),
        "source": clean_line(message.source) or "unknown source",
        "date": message.published.isoformat() if message.published else "date unknown",
        "names": _names(message.watchlists),
        "watchlists": [_watchlist(w) for w in message.watchlists],
    }


def _headers(msg: EmailMessage, *, subject: str, msgid: str) -> None:
    msg["Subject"] = clip(clean_line(subject), SUBJECT_CHARS)
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = msgid
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    msg["X-Auto-Response-Suppress"] = "All"  # the same for Exchange


def _assemble(subject: str, msgid: str, text: str, html: str) -> EmailMessage:
    msg = EmailMessage()
    _headers(msg, subject=subject, msgid=msgid)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def render_email(message: AlertMessage, *, domain: str = DEFAULT_DOMAIN) -> EmailMessage:
    """One alert as multipart/alternative; From/To are the sender's business (``EmailNotifier``)."""
    names = _names(message.watchlists)
    item = _item(message)
    context = {
        **item,
        "heading": f"monitor alert: {names}" if names else "monitor alert",
        "also": [n for n in (clean_line(s) for s in message.also_reported_by) if n],
        "channel": clean_line(message.channel),
    }
    subject = f"[monitor] {clip(names, 100)}: {item['title']}" if names else f"[monitor] {item['title']}"
    return _assemble(
        subject,
        message_id(message.idempotency_key, kind="alert", domain=domain),
        _render("alert.txt", **context),
        _render("alert.html", **context),
    )


def _stamp(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def render_email_digest(digest: Digest, *, domain: str = DEFAULT_DOMAIN) -> EmailMessage:
    """One e-mail for a whole digest: stories in first-seen order, each with its alerts."""
    groups = group_by_story(digest.items)
    n, s = len(digest.items), len(groups)
    heading = f"monitor digest: {n} alert{'' if n == 1 else 's'} in {s} stor{'y' if s == 1 else 'ies'}"
    period = f"{_stamp(digest.period_start)} – {_stamp(digest.period_end)}"
    stories = []
    for group in groups:
        items = [_item(m) for m in group]
        stories.append({"title": items[0]["title"], "items": items})
    context = {
        "heading": heading,
        "period": period,
        "stories": stories,
        "channel": clean_line(digest.channel),
    }
    return _assemble(
        f"[monitor] {heading} ({period})",
        message_id(digest.idempotency_key, kind="digest", domain=domain),
        _render("digest.txt", **context),
        _render("digest.html", **context),
    )


def render_email_test(channel: str, *, domain: str = DEFAULT_DOMAIN) -> EmailMessage:
    context = {"channel": clean_line(channel)}
    return _assemble(
        f"[monitor] test message for channel {clean_line(channel)}",
        message_id(str(uuid.uuid4()), kind="test", domain=domain),
        _render("test.txt", **context),
        _render("test.html", **context),
    )
