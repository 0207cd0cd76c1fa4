"""Snippets: the sentence(s) of the original text that contain a hit's matched words.

Sentence boundaries are found only around the matched words (a window of the text, not the whole
article) with a regular expression plus a short list of abbreviations, which is enough for alert
snippets and costs microseconds; a full sentence segmenter would cost more per article than matching.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from itertools import pairwise, starmap
from operator import itemgetter

from monitor.core import Span, WatchlistHit
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

_REACH = 400  # how far a sentence boundary is looked for
_LONG = 400  # a longer "sentence" is cut to the matched words plus context
_CONTEXT = 150
_MAX_PARTS = 3
_ELLIPSIS = "…"
_GAP = " … "
_ABBREVIATIONS = frozenset(
    (
        "mr", "mrs", "ms", "dr", "prof", "gen", "sen", "rep", "gov", "st", "lt", "col", "capt", "sgt",
        "maj", "adm", "cmdr", "jr", "sr", "vs", "etc", "no", "nos", "inc", "corp", "ltd", "co", "jan",
        "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "fig", "approx",
        "dept", "vol", "rev", "mt", "ft"
    )
)
_ENDERS = ".!?…\n。！？"
_CLOSERS = "\"'”’»)]"
_WORD_BEFORE = re.compile(r"[^\W\d_]+\Z")


def _next_sentence(text: str, p: int) -> int:
    """If the punctuation (or line break) at ``p`` ends a sentence, where the next one starts; else -1.

    A sentence ends at . ! ? … (plus closing quotes or brackets) followed by whitespace, unless the next
    word starts in lower case, or the dot follows a single letter ("U.S.", "J. Smith") or a common
    abbreviation ("Mr.", "Gen."); a line break always ends one.
    """
    n = len(text)
    if text[p] == "\n":
        q = p
    else:
        run = p
        while run > 0 and text[run - 1] in _ENDERS:
            run -= 1
        q = p
        while q < n and text[q] in _ENDERS:
            q += 1
        while q < n and text[q] in _CLOSERS:
            q += 1
        if q < n and not text[q].isspace():
            return -1  # "3.5", "example.com", "U.S.-led"
        if text[run] == ".":
            word = _WORD_BEFORE.search(text, max(0, run - 12), run)
            if word is not None and (len(word.group()) == 1 or word.group().lower() in _ABBREVIATIONS):
                return -1
    while q < n and text[q].isspace():
        q += 1
    if q < n and text[q].islower() and text[p] != "\n":
        return -1
    return q


def ender_marks(text: str) -> list[int]:
    """Offsets of every character that may end a sentence, sorted.

    ``str.find`` loops (one per character present in the text) cost a fraction of a regex scan.
    """
    marks: list[int] = []
    for c in _ENDERS:
        i = text.find(c)
        while i >= 0:
            marks.append(i)
            i = text.find(c, i + 1)
    marks.sort()
    return marks


def sentence_bounds(
    text: str, start: int, end: int, marks: list[int] | None = None
) -> tuple[int, int, bool, bool]:
    """The sentence around ``text[start:end]``: (begin, end, cut at begin, cut at end).

    ``marks`` are the candidate boundaries (``ender_marks``); the nearest ones on each side, within
    ``_REACH`` characters, are checked by ``_next_sentence``. A sentence longer than ``_LONG`` is cut to
    the matched words with ``_CONTEXT`` characters around them.
    """
    if marks is None:
        marks = ender_marks(text)
    n = len(text)
    lo = max(0, start - _REACH)
    begin = -1
    k = bisect_left(marks, start) - 1
    while k >= 0 and marks[k] >= lo:
        after = _next_sentence(text, marks[k])
        if 0 <= after <= start:
            begin = after
            break
        k -= 1
    cut_begin = begin < 0 and lo > 0
    begin = max(begin, lo)
    stop = min(n, end + _REACH)
    finish = -1
    k = bisect_left(marks, end)
    while k < len(marks) and marks[k] < stop:
        p = marks[k]
        if _next_sentence(text, p) >= 0:
            finish = p + 1
            while finish < n and (text[finish] in _ENDERS or text[finish] in _CLOSERS):
                finish += 1
            break
        k += 1
    cut_end = finish < 0 and stop < n
    if finish < 0:
        finish = stop
    while begin < start and text[begin].isspace():
        begin += 1
    while finish > end and text[finish - 1].isspace():
        finish -= 1
    if start - begin > _CONTEXT and (cut_begin or finish - begin > _LONG):
        cut = text.find(" ", start - _CONTEXT, start)
        begin, cut_begin = (cut + 1 if cut >= 0 else start - _CONTEXT), True
    if finish - end > _CONTEXT and (cut_end or finish - begin > _LONG):
        cut = text.rfind(" ", end, end + _CONTEXT)
        finish, cut_end = (cut if cut >= 0 else end + _CONTEXT), True
    return begin, finish, cut_begin, cut_end


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
        text = view.title if name == "title" else view.body
        o_start, o_end = text.original(f_start, f_end)
        begin, finish, cut_begin, cut_end = (
            text.whole() if name == "title" else text.sentence(o_start, o_end)
        )
        known = view.located[found] = ((name, begin, finish, cut_begin, cut_end), o_start, o_end)
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
