"""Snippets: the sentence(s) of the original text that contain a hit's matched words.

Sentences are found by ``_sentences`` around the matched words only; here they are put together
(title first, " … " between them) and the matched words' offsets are shifted into the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise, starmap
from operator import itemgetter

from monitor.core import Span, WatchlistHit
from monitor.match._sentences import ender_marks, sentence_bounds
from monitor.match._view import DocView

__all__ = [
    "Layout",
    "Located",
    "Part",
    "build_hit",
    "ender_marks",
    "locate",
    "mark_spans",
    "sentence_bounds",
    "shown",
    "snippet_of",
]

Witness = list[tuple[str, int, int]]  # (field name, folded start, folded end), as in ``_witness``
_first = itemgetter(0)

_MAX_PARTS = 3
_ELLIPSIS = "…"
_GAP = " … "


Part = tuple[str, int, int, bool, bool]  # field, begin, end of a sentence; cut at begin, cut at end
Located = tuple[Part, int, int]  # the sentence of a witness range, and the range's original offsets
Layout = tuple[str, dict[Part, int | None]]  # snippet text, shift of each sentence's offsets into it


def locate(view: DocView, found: tuple[str, int, int]) -> Located:
    """The sentence around one witness range (a title is one sentence) and its original offsets.

    Cached per article: the hits of one article show the same few literal occurrences over and over.
    """
    known = view.located.get(found)
    if known is None:
        name, f_start, f_end = found
        if name == "title":  # the title is one sentence: its part is made once per article
            o_start, o_end = view.title.original(f_start, f_end)
            part = view.title_part
            if part is None:
                part = view.title_part = ("title", *view.title.whole())
        else:
            o_start, o_end = view.body.original(f_start, f_end)
            part = ("body", *view.body.sentence(o_start, o_end))
        known = view.located[found] = (part, o_start, o_end)
    return known


def build_hit(watchlist_id: int, view: DocView, found: Witness) -> WatchlistHit:
    """The hit of one watchlist: its matched sentence(s) and the spans of the words in them."""
    snippet, spans = snippet_of(view, found)
    return WatchlistHit(watchlist_id=watchlist_id, snippet=snippet, spans=spans)


def snippet_of(view: DocView, found: Witness) -> tuple[str, tuple[Span, ...]]:
    """The matched sentence(s) for witness ranges ``found``, and the spans of the words in them."""
    return shown(view, [locate(view, r) for r in found])


def shown(view: DocView, infos: list[Located]) -> tuple[str, tuple[Span, ...]]:
    """The snippet and spans for located witness ranges (``locate``).

    Sentences are joined with " … " (title first, overlapping ones merged, at most three). The text of
    a combination of sentences is made once per article (``_layout``); per hit only the spans are
    shifted into it, so that hundreds of hits of one article cost little more than one.
    """
    layouts = view.parts
    if len(infos) == 1:
        part, start, end = infos[0]
        layout = layouts.get(part)
        if layout is None:
            layout = layouts[part] = _layout(view, (part,))
        base = layout[1][part]
        return layout[0], (Span(start + base, end + base),)  # type: ignore[operator]
    if not infos:
        return _filter_only(view)
    distinct = frozenset(map(_first, infos))
    key: Part | frozenset[Part] = infos[0][0] if len(distinct) == 1 else distinct
    layout = layouts.get(key)
    if layout is None:
        layout = layouts[key] = _layout(view, tuple(sorted(distinct)))
    text, bases = layout
    shifted = {(s + b, e + b) for part, s, e in infos if (b := bases[part]) is not None}
    return text, tuple(starmap(Span, sorted(shifted)))


def _layout(view: DocView, parts: tuple[Part, ...]) -> Layout:
    """The snippet text for some sentences, and where each one's original offsets land in it.

    ``parts`` are sorted by (field, begin), so a title's sentence (there is one at most: the title)
    comes last and is moved first. When no two sentences of one field overlap or touch (almost
    always), the pieces are joined as they are; else ``_merged_layout`` merges them.
    """
    for a, b in pairwise(parts):
        if a[0] == b[0] and b[1] <= a[2] + 1:
            return _merged_layout(view, parts)
    if parts[-1][0] == "title" and len(parts) > 1:
        parts = (parts[-1], *parts[:-1])
    bases: dict[Part, int | None] = dict.fromkeys(parts[_MAX_PARTS:])
    pieces: list[str] = []
    offset = 0
    for part in parts[:_MAX_PARTS]:
        name, begin, finish, cut_begin, cut_end = part
        if pieces:
            pieces.append(_GAP)
            offset += len(_GAP)
        if cut_begin:
            pieces.append(_ELLIPSIS)
            offset += len(_ELLIPSIS)
        bases[part] = offset - begin
        pieces.append((view.title.text if name == "title" else view.body.text)[begin:finish])
        offset += finish - begin
        if cut_end:
            pieces.append(_ELLIPSIS)
            offset += len(_ELLIPSIS)
    return "".join(pieces), bases


def _merged_layout(view: DocView, parts: tuple[Part, ...]) -> Layout:
    """``_layout`` when sentences of one field overlap or touch: they become one piece (cut at the
    end if the one reaching furthest is)."""
    merged: list[_Part] = []
    for part in parts:
        name, begin, finish, cut_begin, cut_end = part
        last = merged[-1] if merged else None
        if last is not None and last.name == name and begin <= last.finish + 1:
            last.cut_end = cut_end if finish >= last.finish else last.cut_end
            last.finish = max(last.finish, finish)
            last.members.append(part)
        else:
            merged.append(_Part(name, begin, finish, cut_begin, cut_end, [part]))
    merged.sort(key=lambda m: (m.name != "title", m.begin))
    bases: dict[Part, int | None] = dict.fromkeys(parts)
    pieces: list[str] = []
    offset = 0
    for one in merged[:_MAX_PARTS]:
        if pieces:
            pieces.append(_GAP)
            offset += len(_GAP)
        if one.cut_begin:
            pieces.append(_ELLIPSIS)
            offset += len(_ELLIPSIS)
        for member in one.members:
            bases[member] = offset - one.begin
        source = view.title.text if one.name == "title" else view.body.text
        pieces.append(source[one.begin : one.finish])
        offset += one.finish - one.begin
        if one.cut_end:
            pieces.append(_ELLIPSIS)
            offset += len(_ELLIPSIS)
    return "".join(pieces), bases


@dataclass(slots=True)
class _Part:
    """A sentence (or several merged) of one field as shown in a snippet."""

    name: str
    begin: int
    finish: int
    cut_begin: bool
    cut_end: bool
    members: list[Part]


def _filter_only(view: DocView) -> tuple[str, tuple[Span, ...]]:
    """Only filters matched (``source:``, ``lang:``): show the title, or else the first sentence."""
    if view.title.text.strip():
        begin, finish, cut_begin, cut_end = view.title.whole()
        source = view.title.text
    else:
        begin = len(view.body.text) - len(view.body.text.lstrip())
        begin, finish, cut_begin, cut_end = view.body.sentence(begin, begin)
        source = view.body.text
    return (_ELLIPSIS if cut_begin else "") + source[begin:finish] + (_ELLIPSIS if cut_end else ""), ()


def mark_spans(hit: WatchlistHit, *, open: str = "[", close: str = "]") -> str:
    """The snippet with every matched span wrapped in ``open``/``close`` (overlapping spans merged)."""
    merged: list[list[int]] = []
    for span in sorted(hit.spans, key=lambda s: (s.start, s.end)):
        if merged and span.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], span.end)
        else:
            merged.append([span.start, span.end])
    out: list[str] = []
    last = 0
    for start, end in merged:
        out.append(hit.snippet[last:start])
        out.append(open + hit.snippet[start:end] + close)
        last = end
    out.append(hit.snippet[last:])
    return "".join(out)
