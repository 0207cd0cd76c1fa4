"""Snippets: the sentence(s) of the original text that contain a hit's matched words.

Sentence boundaries are found only around the matched words (a window of the text, not the whole
article) with a regular expression plus a short list of abbreviations, which is enough for alert
snippets and costs microseconds; a full sentence segmenter would cost more per article than matching.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from monitor.core import Span, WatchlistHit
from monitor.match._compile import Witness
from monitor.match._view import DocView

__all__ = ["build_hit", "ender_marks", "mark_spans", "sentence_bounds"]

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


def build_hit(watchlist_id: int, view: DocView, found: Witness) -> WatchlistHit:
    """The hit of one watchlist: its matched sentence(s) and the spans of the words in them."""
    parts: dict[tuple[str, int, int], tuple[bool, bool, list[tuple[int, int]]]] = {}
    for name, f_start, f_end in found:
        text = view.title if name == "title" else view.body
        o_start, o_end = text.original(f_start, f_end)
        bounds = text.whole() if name == "title" else text.sentence(o_start, o_end)
        key = (name, bounds[0], bounds[1])
        part = parts.get(key)
        if part is None:
            parts[key] = (bounds[2], bounds[3], [(o_start, o_end)])
        else:
            part[2].append((o_start, o_end))
    if not parts:  # only filters matched (source:, lang:): show the title, or the first sentence
        if view.title.text.strip():
            begin, finish, cut_begin, cut_end = view.title.whole()
            parts[("title", begin, finish)] = (cut_begin, cut_end, [])
        else:
            begin = len(view.body.text) - len(view.body.text.lstrip())
            begin, finish, cut_begin, cut_end = view.body.sentence(begin, begin)
            parts[("body", begin, finish)] = (cut_begin, cut_end, [])
    if len(parts) == 1:
        (((name, begin, finish), (cut_begin, cut_end, matched)),) = parts.items()
        lead = _ELLIPSIS if cut_begin else ""
        base = len(lead) - begin
        source = view.title.text if name == "title" else view.body.text
        snippet = lead + source[begin:finish] + (_ELLIPSIS if cut_end else "")
        spans = tuple(Span(s + base, e + base) for s, e in sorted(set(matched)))
        return WatchlistHit(watchlist_id=watchlist_id, snippet=snippet, spans=spans)
    ordered = sorted(_merge(parts), key=lambda item: (item[0] != "title", item[1]))[:_MAX_PARTS]
    pieces: list[str] = []
    collected: list[Span] = []
    offset = 0
    for name, begin, finish, cut_begin, cut_end, matched in ordered:
        if pieces:
            pieces.append(_GAP)
            offset += len(_GAP)
        if cut_begin:
            pieces.append(_ELLIPSIS)
            offset += len(_ELLIPSIS)
        source = view.title.text if name == "title" else view.body.text
        pieces.append(source[begin:finish])
        collected.extend(Span(offset + s - begin, offset + e - begin) for s, e in sorted(set(matched)))
        offset += finish - begin
        if cut_end:
            pieces.append(_ELLIPSIS)
            offset += len(_ELLIPSIS)
    return WatchlistHit(watchlist_id=watchlist_id, snippet="".join(pieces), spans=tuple(collected))


def _merge(
    parts: dict[tuple[str, int, int], tuple[bool, bool, list[tuple[int, int]]]],
) -> list[tuple[str, int, int, bool, bool, list[tuple[int, int]]]]:
    """Sentences of one field that overlap or touch become one part."""
    merged: list[tuple[str, int, int, bool, bool, list[tuple[int, int]]]] = []
    for (name, begin, finish), (cut_b, cut_e, matched) in sorted(parts.items()):
        if merged and merged[-1][0] == name and begin <= merged[-1][2] + 1:
            _name, p_begin, p_finish, p_cut_b, p_cut_e, p_matched = merged[-1]
            cut_end = cut_e if finish >= p_finish else p_cut_e
            merged[-1] = (name, p_begin, max(p_finish, finish), p_cut_b, cut_end, p_matched + matched)
        else:
            merged.append((name, begin, finish, cut_b, cut_e, list(matched)))
    return merged


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
