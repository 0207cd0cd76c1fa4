"""Snippets: the sentence(s) of the original text that contain a hit's matched words.

Sentence boundaries are found only around the matched words (a window of the text, not the whole
article) with a regular expression plus a short list of abbreviations, which is enough for alert
snippets and costs microseconds; a full sentence segmenter would cost more per article than matching.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from monitor.core import Span, WatchlistHit
from monitor.match._analysis import DocView
from monitor.match._compile import Witness

__all__ = ["build_hit", "mark_spans", "sentence_bounds", "sentence_starts"]

_LONG = 400  # a longer "sentence" is cut to the matched words plus context
_CONTEXT = 150
_MAX_PARTS = 3
_ELLIPSIS = "…"
_GAP = " … "
_ABBREVIATIONS = """Mr Mrs Ms Dr Prof Gen Sen Rep Gov St Lt Col Capt Sgt Maj Adm Cmdr Jr Sr vs etc No Nos Inc
    Corp Ltd Co Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Fig approx Dept Vol Rev Mt Ft""".split()
# A sentence ends at . ! ? … (plus closing quotes or brackets) and whitespace, unless the next word starts
# in lower case, or the dot follows a single letter ("U.S.", "J. Smith") or a common abbreviation; a line
# break always ends one. One regular expression, so that no Python code runs per boundary.
_NOT_AFTER = "".join(
    rf"(?<!\b{re.escape(a)})(?<!\b{re.escape(a.lower())})" for a in _ABBREVIATIONS
)
_SENTENCE_END = re.compile(
    rf"(?:(?<![\s.(\[\"'][^\W\d_]){_NOT_AFTER}\.+|[!?…。！？]+)[\"'”’»)\]]*\s+(?![a-zà-ÿ])|\n\s*"
)


def sentence_starts(text: str) -> list[int]:
    """Offsets where sentences begin (0 included): after a sentence end and its whitespace."""
    return [0, *(m.end() for m in _SENTENCE_END.finditer(text))]


def sentence_bounds(text: str, start: int, end: int, starts: list[int]) -> tuple[int, int, bool, bool]:
    """The sentence(s) around ``text[start:end]``: (begin, end, cut at begin, cut at end)."""
    begin = starts[bisect_right(starts, start) - 1]
    k = bisect_left(starts, end)
    finish = starts[k] if k < len(starts) else len(text)
    while begin < start and text[begin].isspace():
        begin += 1
    while finish > end and text[finish - 1].isspace():
        finish -= 1
    cut_begin = cut_end = False
    if finish - begin > _LONG:
        if start - begin > _CONTEXT:
            cut = text.find(" ", start - _CONTEXT, start)
            begin, cut_begin = (cut + 1 if cut >= 0 else start - _CONTEXT), True
        if finish - end > _CONTEXT:
            cut = text.rfind(" ", end, end + _CONTEXT)
            finish, cut_end = (cut if cut >= 0 else end + _CONTEXT), True
    return begin, finish, cut_begin, cut_end


def build_hit(watchlist_id: int, view: DocView, found: Witness) -> WatchlistHit:
    """The hit of one watchlist: its matched sentence(s) and the spans of the words in them."""
    parts: dict[tuple[str, int, int], tuple[bool, bool, list[tuple[int, int]]]] = {}
    for name, (first, last) in found:
        text = view.title if name == "title" else view.body
        o_start, o_end = text.original_span(first, last)
        if name == "title":
            raw = text.text
            begin = len(raw) - len(raw.lstrip())
            bounds = (begin, max(begin, len(raw.rstrip())), False, False)
        else:
            bounds = sentence_bounds(text.text, o_start, o_end, text.sentence_starts())
        key = (name, bounds[0], bounds[1])
        parts.setdefault(key, (bounds[2], bounds[3], []))[2].append((o_start, o_end))
    if not parts:  # only filters matched (source:, lang:): show the title, or the first sentence
        raw = view.title.text if view.title.text.strip() else view.body.text
        name = "title" if raw is view.title.text else "body"
        begin = len(raw) - len(raw.lstrip())
        if name == "title":
            finish, cut_end = len(raw.rstrip()), False
        else:
            _b, finish, _c, cut_end = sentence_bounds(raw, begin, begin, view.body.sentence_starts())
        parts[(name, begin, finish)] = (False, cut_end, [])
    ordered = sorted(_merge(parts), key=lambda item: (item[0] != "title", item[1]))[:_MAX_PARTS]
    snippet: list[str] = []
    spans: list[Span] = []
    offset = 0
    for name, begin, finish, cut_begin, cut_end, matched in ordered:
        if snippet:
            snippet.append(_GAP)
            offset += len(_GAP)
        if cut_begin:
            snippet.append(_ELLIPSIS)
            offset += len(_ELLIPSIS)
        source = view.title.text if name == "title" else view.body.text
        snippet.append(source[begin:finish])
        spans.extend(Span(offset + s - begin, offset + e - begin) for s, e in sorted(set(matched)))
        offset += finish - begin
        if cut_end:
            snippet.append(_ELLIPSIS)
            offset += len(_ELLIPSIS)
    return WatchlistHit(watchlist_id=watchlist_id, snippet="".join(snippet), spans=tuple(spans))


def _merge(
    parts: dict[tuple[str, int, int], tuple[bool, bool, list[tuple[int, int]]]],
) -> list[tuple[str, int, int, bool, bool, list[tuple[int, int]]]]:
    """Sentences of one field that overlap or touch become one part."""
    merged: list[tuple[str, int, int, bool, bool, list[tuple[int, int]]]] = []
    for (name, begin, finish), (cut_b, cut_e, matched) in sorted(parts.items()):
        if merged and merged[-1][0] == name and begin <= merged[-1][2] + 1:
            p_name, p_begin, p_finish, p_cut_b, p_cut_e, p_matched = merged[-1]
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
