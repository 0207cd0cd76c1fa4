"""Sentence boundaries around matched words, for snippets.

Boundaries are found only around the matched words (a window of the text, not the whole article) with
a regular expression plus a short list of abbreviations, which is enough for alert snippets and costs
microseconds; a full sentence segmenter would cost more per article than matching.
"""

from __future__ import annotations

from bisect import bisect_left

__all__ = ["ender_marks", "sentence_bounds"]

_REACH = 400  # how far a sentence boundary is looked for
_LONG = 400  # a longer "sentence" is cut to the matched words plus context
_CONTEXT = 150
_ABBREVIATIONS = frozenset(
    (
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "gen",
        "sen",
        "rep",
        "gov",
        "st",
        "lt",
        "col",
        "capt",
        "sgt",
        "maj",
        "adm",
        "cmdr",
        "jr",
        "sr",
        "vs",
        "etc",
        "no",
        "nos",
        "inc",
        "corp",
        "ltd",
        "co",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "fig",
        "approx",
        "dept",
        "vol",
        "rev",
        "mt",
        "ft",
    )
)
_ENDERS = ".!?…\n。！？"
_CLOSERS = "\"'”’»)]"
_TRAILING = _ENDERS + _CLOSERS  # what a sentence's end takes along
_LONGEST_ABBREVIATION = max(map(len, _ABBREVIATIONS))


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
        if text[run] == ".":  # the letters ([^\W\d_]) before the dot, back to a longest abbreviation
            begin, floor = run, max(0, run - _LONGEST_ABBREVIATION - 1)
            while begin > floor and (c := text[begin - 1]).isalnum() and not c.isdecimal():
                begin -= 1
            if begin < run and (run - begin == 1 or text[begin:run].lower() in _ABBREVIATIONS):
                return -1
    while q < n and text[q].isspace():
        q += 1
    if q < n and text[q].islower() and text[p] != "\n":
        return -1
    return q


def ender_marks(text: str) -> list[int]:
    """Offsets of every character that may end a sentence, sorted.

    ``str.find`` loops (one per character present in the text) cost a fraction of a regex scan (and
    less than splitting the text, or a numpy pass over its code points).
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
    text: str, start: int, end: int, marks: list[int] | None = None, checked: dict[int, int] | None = None
) -> tuple[int, int, bool, bool]:
    """The sentence around ``text[start:end]``: (begin, end, cut at begin, cut at end).

    ``marks`` are the candidate boundaries (``ender_marks``); the nearest ones on each side, within
    ``_REACH`` characters, are checked by ``_next_sentence``. A sentence longer than ``_LONG`` is cut to
    the matched words with ``_CONTEXT`` characters around them. ``checked`` remembers the checks of a
    text: the hits of one article locate many sentences, and the mark that ends one begins the next.
    """
    if marks is None:
        marks = ender_marks(text)
    if checked is None:
        checked = {}
    n = len(text)
    lo = start - _REACH if start > _REACH else 0
    begin = -1
    first = bisect_left(marks, start)  # the first mark at or after the start
    k = first - 1
    while k >= 0:
        p = marks[k]
        if p < lo:
            break
        after = checked.get(p)
        if after is None:
            after = checked[p] = _next_sentence(text, p)
        if 0 <= after <= start:
            begin = after
            break
        k -= 1
    cut_begin = begin < 0 and lo > 0
    if begin < lo:
        begin = lo
    stop = end + _REACH
    if stop > n:
        stop = n
    finish = -1
    k = first
    last = len(marks)
    while k < last and marks[k] < end:  # marks inside the range (a phrase across a full stop)
        k += 1
    while k < last:
        p = marks[k]
        if p >= stop:
            break
        after = checked.get(p)
        if after is None:
            after = checked[p] = _next_sentence(text, p)
        if after >= 0:
            finish = p + 1
            while finish < n and text[finish] in _TRAILING:
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
