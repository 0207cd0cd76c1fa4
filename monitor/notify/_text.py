"""Channel-independent text handling: cleaning untrusted article text, matched spans, windows.

Article titles and sentences come from arbitrary feeds, so every channel starts from the same cleaned
text: no control characters (a terminal escape sequence in a title must not repaint the operator's
console, a CR/LF must not reach an e-mail header), no bidirectional overrides (which can make
``evil.com/moc.knab`` read as a bank), no zero-width characters (used to smuggle markup past filters).
ZWJ/ZWNJ are kept: several scripts and emoji sequences need them.

Spans index into the *original* snippet, so segmentation happens before any cleaning and each segment is
cleaned on its own; the renderers then only decide how a bold segment looks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.core import AlertMessage, Span

__all__ = [
    "ELLIPSIS",
    "Segment",
    "clean_line",
    "clean_segments",
    "clip",
    "group_by_story",
    "segments",
    "window",
]

ELLIPSIS = "…"

# C0/C1 controls (tab, CR, LF included: callers want one line), DEL, bidi embeddings/overrides/isolates,
# zero-width space, word joiner, invisible operators, BOM, interlinear annotation and object replacement.
_INVISIBLE = re.compile(
    "[\u0000-\u001f\u007f-\u009f\u061c\u180e\u200b\u200e\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
_SPACES = re.compile(r"\s+")


def _clean(text: str) -> str:
    # Controls become spaces (a newline between two words must not glue them together), then runs of
    # whitespace collapse to one space.
    return _SPACES.sub(" ", _INVISIBLE.sub(" ", text))


def clean_line(text: str | None) -> str:
    """One line of display-safe text: no controls, no invisible format characters, single spaces."""
    return _clean(text or "").strip()


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of snippet text; ``bold`` is true for text inside a matched span."""

    text: str
    bold: bool = False


def _merged(spans: Iterable[Span], length: int) -> list[tuple[int, int]]:
    """Spans clamped to the snippet, empty ones dropped, overlapping or touching ones merged."""
    ranges = sorted(
        (max(0, s.start), min(length, s.end)) for s in spans if min(length, s.end) > max(0, s.start)
    )
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def segments(snippet: str, spans: Iterable[Span]) -> list[Segment]:
    """Split the raw snippet at its matched spans (clamped, sorted, merged; bad spans are ignored)."""
    out: list[Segment] = []
    pos = 0
    for start, end in _merged(spans, len(snippet)):
        if start > pos:
            out.append(Segment(snippet[pos:start]))
        out.append(Segment(snippet[start:end], bold=True))
        pos = end
    if pos < len(snippet):
        out.append(Segment(snippet[pos:]))
    return out


def clean_segments(raw: Sequence[Segment]) -> list[Segment]:
    """Clean every segment, keep bold runs free of edge whitespace and collapse spaces across segments.

    A bold run that starts or ends with a space cannot be rendered as Slack bold (``* word*`` is not
    bold), so the edge whitespace moves into the neighbouring plain text.
    """
    out: list[Segment] = []

    def add(text: str, bold: bool) -> None:
        if not text:
            return
        if out and out[-1].text.endswith(" ") and text.startswith(" "):
            text = text[1:]
            if not text:
                return
        if out and out[-1].bold == bold:
            out[-1] = Segment(out[-1].text + text, bold)
        else:
            out.append(Segment(text, bold))

    for seg in raw:
        text = _clean(seg.text)
        if not seg.bold:
            add(text, False)
            continue
        core = text.strip()
        if not core:
            add(text, False)
            continue
        if text[0] == " ":
            add(" ", False)
        add(core, True)
        if text[-1] == " ":
            add(" ", False)
    # Trim the sentence's outer whitespace.
    if out and not out[0].bold:
        out[0] = Segment(out[0].text.lstrip(), False)
    if out and not out[-1].bold:
        out[-1] = Segment(out[-1].text.rstrip(), False)
    return [s for s in out if s.text]


def window(segs: Sequence[Segment], max_chars: int) -> list[Segment]:
    """At most ``max_chars`` characters of the sentence, centred so that the first match stays visible.

    A long sentence is cut before the first match (with a leading ellipsis) when the match would
    otherwise fall off the end, and cut at the end with a trailing ellipsis.
    """
    total = sum(len(s.text) for s in segs)
    if total <= max_chars:
        return list(segs)
    first_bold = 0
    pos = 0
    for s in segs:
        if s.bold:
            first_bold = pos
            break
        pos += len(s.text)
    budget = max_chars - 2  # room for two ellipses
    start = max(0, min(first_bold - budget // 3, total - budget))
    end = start + budget
    out: list[Segment] = [Segment(ELLIPSIS)] if start > 0 else []
    pos = 0
    for s in segs:
        lo, hi = max(start, pos), min(end, pos + len(s.text))
        if lo < hi:
            part = s.text[lo - pos : hi - pos]
            if s.bold:
                part = part.strip()
            if part:
                out.append(Segment(part, s.bold))
        pos += len(s.text)
    if end < total:
        out.append(Segment(ELLIPSIS))
    return out


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when anything was cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def group_by_story(items: Iterable[AlertMessage]) -> list[list[AlertMessage]]:
    """Messages grouped by ``story_id`` in first-seen order; ``None`` makes a group of its own."""
    groups: list[list[AlertMessage]] = []
    index: dict[int, int] = {}
    for item in items:
        if item.story_id is None:
            groups.append([item])
        elif item.story_id in index:
            groups[index[item.story_id]].append(item)
        else:
            index[item.story_id] = len(groups)
            groups.append([item])
    return groups
