"""Slack Block Kit rendering (built with ``slack_sdk.models.blocks``) and mrkdwn escaping.

Untrusted text (titles, sentences, source names) only ever reaches Slack through ``escape_slack`` or
``_esc``:

* ``&``, ``<``, ``>`` become entities, so a feed cannot write ``<!channel>``, ``<@U123>`` or a disguised
  link ``<https://evil|bank>``; every mrkdwn object is also sent with ``verbatim=True`` so Slack does
  not turn bare channel names or URLs into links on its own.
* Slack mrkdwn has no escape for its formatting characters, so ``*``, ``_``, ``~`` and `````` in article
  text are replaced by look-alikes (∗ ＿ ∼ ˋ). Article text then cannot close our bold markers early,
  open a code span that swallows them, or strike text through. This is deliberate: the displayed
  sentence may differ from the source in those characters (the webhook and e-mail keep them).
* Our own bold markers are padded with a zero-width space where a neighbour is not whitespace, because
  Slack only honours ``*`` at a word boundary (a match inside "bank*ing*" would not show as bold).
* Link targets are limited to http(s), percent-encode ``|``, ``<``, ``>``, quotes, spaces and
  non-ASCII, and escape ``&``; a URL that cannot be made safe is shown as text, not linked.

Limits (50 blocks, 3,000 characters per section text, 150 per header) are met by construction and
checked again by slack_sdk's validators when ``to_dict()`` runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from monitor.core import AlertMessage, Span
from monitor.notify._base import Digest
from monitor.notify._text import (
    ELLIPSIS,
    Segment,
    clean_line,
    clean_segments,
    clip,
    group_by_story,
    segments,
    window,
)

__all__ = [
    "MAX_BLOCKS",
    "MAX_HEADER",
    "MAX_SECTION",
    "escape_slack",
    "fallback_text",
    "safe_link_target",
    "slack_blocks",
    "slack_digest_blocks",
    "slack_test_blocks",
]

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_CONTEXT = 2000
SENTENCE_CHARS = 1000  # raw characters of a matched sentence shown before escaping
TITLE_CHARS = 300
MAX_LINK_TARGET = 1500
ZWSP = "\u200b"

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_LOOKALIKES = {"*": "\u2217", "_": "\uff3f", "~": "\u223c", "`": "\u02cb"}
_TABLE = str.maketrans({**_ENTITIES, **_LOOKALIKES})
# Printable ASCII that may stay as is in a link target: everything but space, quotes, | < > \ ^ ` { }.
_URL_SAFE = "!#$%&'()*+,-./:;=?@[]_~"


def _esc(text: str) -> str:
    return text.translate(_TABLE)


def escape_slack(text: str) -> str:
    """Untrusted text made inert for mrkdwn: one clean line, ``&<>`` escaped, ``*_~``` look-alikes."""
    return _esc(clean_line(text))


def safe_link_target(url: str) -> str | None:
    """``url`` usable inside ``<url|label>``, or ``None`` when it is not a plain http(s) URL."""
    url = clean_line(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    target = quote(url, safe=_URL_SAFE).replace("&", "&amp;")
    return target if len(target) <= MAX_LINK_TARGET else None


def _link(url: str, label: str) -> str:
    """``<target|label>`` for a safe http(s) URL, else the escaped label (and URL) as plain text."""
    target = safe_link_target(url)
    shown = escape_slack(label) or escape_slack(url)
    if target is None:
        return shown
    return f"<{target}|{shown}>"


def _bold(text: str, *, before: str, after: str) -> str:
    pad_l = ZWSP if before and not before.isspace() else ""
    pad_r = ZWSP if after and not after.isspace() else ""
    return f"{pad_l}*{_esc(text)}*{pad_r}"


def render_sentence(segs: Sequence[Segment], budget: int) -> str:
    """Segments as mrkdwn in at most ``budget`` characters; a cut ends in an ellipsis, never mid-entity."""
    out: list[str] = []
    used = 0
    for i, seg in enumerate(segs):
        before = segs[i - 1].text[-1:] if i else ""
        after = segs[i + 1].text[:1] if i + 1 < len(segs) else ""
        piece = _bold(seg.text, before=before, after=after) if seg.bold else _esc(seg.text)
        rest_after = i + 1 < len(segs)
        room = budget - used - (len(ELLIPSIS) if rest_after else 0)
        if len(piece) <= room:
            out.append(piece)
            used += len(piece)
            continue
        # Cut this segment: keep the longest prefix that still fits together with the ellipsis.
        room = budget - used - len(ELLIPSIS)
        keep = ""
        overhead = len(_bold("", before=before, after="x")) if seg.bold else 0
        cost = overhead
        for ch in seg.text:
            c = len(_esc(ch))
            if cost + c > room:
                break
            keep += ch
            cost += c
        if seg.bold and keep.strip():
            out.append(_bold(keep.rstrip(), before=before, after="x"))
        elif not seg.bold and keep:
            out.append(_esc(keep))
        out.append(ELLIPSIS)
        break
    return "".join(out)


def _esc_fit(text: str, limit: int) -> str:
    """``_esc(text)`` in at most ``limit`` characters, cut between entities and ending in an ellipsis."""
    out = _esc(text)
    if len(out) <= limit:
        return out
    kept: list[str] = []
    used = 0
    for ch in text:
        e = _esc(ch)
        if used + len(e) > limit - len(ELLIPSIS):
            break
        kept.append(e)
        used += len(e)
    return "".join(kept).rstrip() + ELLIPSIS


def _fit_list(prefix: str, items: Sequence[str], budget: int) -> str:
    """``prefix`` + comma-separated items (already mrkdwn), ending in "… and N more" when they do not fit.

    An item is only added if the "… and N more" for the items after it would still fit, so the result
    never exceeds ``budget``.
    """
    text = prefix
    for n, item in enumerate(items):
        candidate = text + (", " if n else "") + item
        left = len(items) - n - 1
        tail = f", {ELLIPSIS} and {left} more" if left else ""
        if len(candidate) + len(tail) > budget:
            return f"{text}{', ' if n else ''}{ELLIPSIS} and {len(items) - n} more"
        text = candidate
    return text


def _date(message: AlertMessage) -> str:
    return message.published.isoformat() if message.published else "date unknown"


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_mrkdwn(text))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[_mrkdwn(clip(text, MAX_CONTEXT))])


def _header(text: str) -> HeaderBlock:
    shown = clip(clean_line(text) or "monitor", MAX_HEADER)
    return HeaderBlock(text=PlainTextObject(text=shown, emoji=False))


def _title_md(message: AlertMessage, budget: int) -> str:
    """The linked title in bold; without the link when the pair would not fit in ``budget``."""
    title = clip(clean_line(message.title), TITLE_CHARS) or clean_line(message.url) or "(untitled)"
    linked = f"*{_link(message.url, title)}*"
    if len(linked) <= budget:
        return linked
    return f"*{_esc_fit(title, min(budget - 2, 1000))}*"


def _watchlist_section(name: str, snippet: str, spans: Sequence[Span]) -> SectionBlock:
    head = f"*{_esc_fit(clean_line(name), 300) or 'watchlist'}*"
    segs = window(clean_segments(segments(snippet, spans)), SENTENCE_CHARS)
    if not segs:
        return _section(head)
    body = render_sentence(segs, MAX_SECTION - len(head) - 2)
    return _section(f"{head}\n>{body}")


def _to_dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


def slack_blocks(message: AlertMessage) -> list[dict[str, Any]]:
    """Block Kit for one alert: watchlists, linked title, source and date, matched sentences, also-by."""
    names = [clean_line(w.name) for w in message.watchlists]
    blocks: list[Block] = [
        _header(", ".join(n for n in names if n) or "monitor alert"),
        _section(_title_md(message, MAX_SECTION)),
        _context(f"{_esc_fit(clean_line(message.source), 300)} · {_date(message)}"),
    ]
    tail: list[Block] = []
    if message.also_reported_by:
        items = [_esc_fit(clean_line(s), 300) for s in message.also_reported_by if clean_line(s)]
        if items:
            tail.append(_section(_fit_list("Also reported by: ", items, MAX_SECTION)))
    room = MAX_BLOCKS - len(blocks) - len(tail)
    watchlists = list(message.watchlists)
    if len(watchlists) > room:
        shown, hidden = watchlists[: room - 1], len(watchlists) - (room - 1)
        tail.insert(0, _context(f"{ELLIPSIS} and {hidden} more watchlists matched"))
    else:
        shown = watchlists
    blocks += [_watchlist_section(w.name, w.snippet, w.spans) for w in shown]
    return _to_dicts(blocks + tail)


def fallback_text(message: AlertMessage) -> str:
    """The notification text Slack shows where blocks are not rendered (push notifications)."""
    names = ", ".join(n for n in (clean_line(w.name) for w in message.watchlists) if n)
    return escape_slack(clip(f"{names}: {clean_line(message.title)}" if names else message.title, 300))


def _period(start: datetime, end: datetime) -> str:
    fmt = "%Y-%m-%d %H:%M %Z"
    return f"{start.strftime(fmt).strip()} – {end.strftime(fmt).strip()}"


def _digest_item(message: AlertMessage) -> str:
    """One alert of a digest in at most ~2,700 characters (title ≤ 1,500, the rest ≤ 1,200)."""
    names = _esc_fit(", ".join(clean_line(w.name) for w in message.watchlists), 800)
    source = _esc_fit(clean_line(message.source), 300)
    return f"• {_title_md(message, 1500)}\n   {source} · {_date(message)} · {names}"


def _digest_group(items: Sequence[AlertMessage]) -> SectionBlock:
    lines: list[str] = []
    used = 0
    for n, item in enumerate(items):
        line = _digest_item(item)
        reserve = len(f"\n{ELLIPSIS} and {len(items)} more") if n + 1 < len(items) else 0
        if used + len(line) + 1 + reserve > MAX_SECTION:
            lines.append(f"{ELLIPSIS} and {len(items) - n} more")
            break
        lines.append(line)
        used += len(line) + 1
    return _section("\n".join(lines))


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def slack_digest_blocks(digest: Digest) -> list[dict[str, Any]]:
    """One block per story (up to Slack's 50), each listing its alerts; the rest are counted."""
    groups = group_by_story(digest.items)
    n = len(digest.items)
    blocks: list[Block] = [
        _header(f"monitor digest: {_plural(n, 'alert')} in {_plural(len(groups), 'story', 'stories')}"),
        _context(_esc(_period(digest.period_start, digest.period_end))),
    ]
    if not groups:
        blocks.append(_section("No new alerts in this period."))
    room = MAX_BLOCKS - len(blocks)
    shown = groups if len(groups) <= room else groups[: room - 1]
    blocks += [_digest_group(g) for g in shown]
    if len(shown) < len(groups):
        blocks.append(_context(f"{ELLIPSIS} and {len(groups) - len(shown)} more stories"))
    return _to_dicts(blocks)


def slack_test_blocks(name: str) -> list[dict[str, Any]]:
    return _to_dicts(
        [
            _section(
                f"*monitor test message* for channel *{escape_slack(name)}*: "
                "if you can read this, alerts will arrive here."
            )
        ]
    )
