"""Sentence boundaries around matched words, for snippets.

A sentence ends at . ! ? … or a line break (``_next_sentence`` says exactly when), with a short list of
abbreviations, which is enough for alert snippets; a full sentence segmenter would cost more per article
than matching. The boundaries of a text are listed once (``boundaries``, a few regex scans) when its
first sentence is needed, and each sentence is then two bisections (``sentence_bounds``).
"""

from __future__ import annotations

import re
from bisect import bisect_left

__all__ = [
    "Boundaries",
    "Sentences",
    "boundaries",
    "ender_marks",
    "nearby_boundaries",
    "plain_boundaries",
    "sentence_bounds",
]

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
    """Offsets of every character that may end a sentence, sorted."""
    marks: list[int] = []
    for c in _ENDERS:
        i = text.find(c)
        while i >= 0:
            marks.append(i)
            i = text.find(c, i + 1)
    marks.sort()
    return marks


# The boundaries of a text: for each mark that ends a sentence (sorted), ``mark << _SHIFT | after``
# where ``after`` is where the next sentence starts. One int per boundary sorts and bisects at C speed.
Boundaries = list[int]
_SHIFT = 32
_AFTER = (1 << _SHIFT) - 1

_E = _ENDERS  # for character classes (no character in it needs escaping there)
_RARE = "!?…。！？"  # the enders other than the dot and the line break
_LETTER = r"[^\W\d_]"  # what ``_next_sentence`` counts as a letter (alnum, not a decimal digit)


def _vetoes() -> str:
    """Lookbehinds (after the dot) refusing a dot that follows an initial or an abbreviation, as the
    whole word before it: one lookbehind per length (they need a fixed width), letters in either case
    spelled out (``(?i)`` would also take "ſ" for "s", which ``str.lower`` does not)."""
    by_length: dict[int, list[str]] = {1: [_LETTER]}
    for word in sorted(_ABBREVIATIONS):
        by_length.setdefault(len(word), []).append("".join(f"[{c}{c.upper()}]" for c in word))
    return "".join(
        rf"(?<!(?<!{_LETTER})(?:{'|'.join(spellings)})\.)" for _, spellings in sorted(by_length.items())
    )


# A full stop that ends a sentence by its shape: a dot that starts its run of enders, not after an
# initial or an abbreviation, with nothing but line breaks after it in the run, then closers and
# whitespace (or the end), and no ASCII lower-case letter next. Possessive: a run is never cut short.
_FULL_STOP = re.compile(rf"\.(?<![{_E}]\.){_vetoes()}\n*+(?![{_E}])[\"'”’»)\]]*+(?:\s++|\Z)(?![a-z])")
_DOT_IN_RUN = re.compile(rf"\.(?:(?<=[{_E}]\.)|(?=\n*+[{_RARE}.]))")  # the other dots of runs
# A line break always ends a sentence; the next one starts after the blanks (the empty group's offset).
_NEWLINE = re.compile(r"\n(?=\s*+())")


def plain_boundaries(text: str) -> Boundaries:
    """``boundaries`` by the definition: ``_next_sentence`` at every mark (the tests' reference)."""
    return [p << _SHIFT | q for p in ender_marks(text) if (q := _next_sentence(text, p)) >= 0]


def boundaries(text: str) -> Boundaries:
    """The marks of ``text`` that end a sentence and where each next sentence starts, as
    ``plain_boundaries`` gives them.

    An article with many hits locates sentences all over its text, and checking each of its hundred
    marks in Python (``_next_sentence``) cost more than the rest of its snippets. Here regexes led by a
    literal (C-level searches, unlike a character class, which ``re`` scans a character at a time) do
    most of it: full stops whose shape ends a sentence, abbreviations included (Python only checks a
    next letter beyond ASCII for lower case), line breaks (always a boundary); the rare other marks
    (? ! …, runs such as "..." or ".\n") go through ``_next_sentence``.
    """
    n = len(text)
    found = [m.start() << _SHIFT | m.start(1) for m in _NEWLINE.finditer(text)]
    found += [
        m.start() << _SHIFT | after
        for m in _FULL_STOP.finditer(text)
        if (after := m.end()) == n or not text[after].islower()  # (a lower-case letter beyond ASCII)
    ]
    rare = [m.start() for m in _DOT_IN_RUN.finditer(text)]
    for c in _RARE:
        i = text.find(c)
        while i >= 0:
            rare.append(i)
            i = text.find(c, i + 1)
    for p in rare:
        after = _next_sentence(text, p)
        if after >= 0:
            found.append(p << _SHIFT | after)
    found.sort()
    return found


def nearby_boundaries(text: str, start: int, end: int) -> Boundaries:
    """The boundaries ``sentence_bounds`` uses for ``text[start:end]`` and no others: the nearest one
    before the start (within reach, with its next sentence starting by the start) and the first one at
    or after the end (within reach), found by checking the marks nearest first.

    For a text asked for one sentence (an article that few watchlists match) this costs a fraction of
    listing all its boundaries.
    """
    lo = start - _REACH if start > _REACH else 0
    stop = min(len(text), end + _REACH)
    found: Boundaries = []
    for p in sorted(_marks_in(text, lo, start), reverse=True):
        after = _next_sentence(text, p)
        if 0 <= after <= start:
            found.append(p << _SHIFT | after)
            break
    for p in sorted(_marks_in(text, end, stop)):
        after = _next_sentence(text, p)
        if after >= 0:
            found.append(p << _SHIFT | after)
            break
    return found


def _marks_in(text: str, lo: int, hi: int) -> list[int]:
    marks: list[int] = []
    for c in _ENDERS:
        i = text.find(c, lo, hi)
        while i >= 0:
            marks.append(i)
            i = text.find(c, i + 1, hi)
    return marks


def sentence_bounds(
    text: str, start: int, end: int, known: Boundaries | None = None
) -> tuple[int, int, bool, bool]:
    """The sentence around ``text[start:end]``: (begin, end, cut at begin, cut at end).

    The nearest boundaries on each side (``known``: ``boundaries(text)``, listed once per text), within
    ``_REACH`` characters, delimit it; a boundary inside the range (a phrase across a full stop) does
    not count. A sentence longer than ``_LONG`` is cut to the matched words with ``_CONTEXT`` characters
    around them.
    """
    codes = boundaries(text) if known is None else known
    before, after = bisect_left(codes, start << _SHIFT), bisect_left(codes, end << _SHIFT)
    return _sentence_at(text, start, end, codes, before, after)


def _sentence_at(
    text: str, start: int, end: int, codes: Boundaries, before: int, after: int
) -> tuple[int, int, bool, bool]:
    """``sentence_bounds`` once the first boundaries at or after the start (``before``) and the end
    (``after``) are known."""
    n = len(text)
    lo = start - _REACH if start > _REACH else 0
    begin = -1
    k = before - 1  # the last boundary before the start
    while k >= 0 and codes[k] >> _SHIFT >= lo:
        if codes[k] & _AFTER <= start:
            begin = codes[k] & _AFTER
            break
        k -= 1
    cut_begin = begin < 0 and lo > 0
    if begin < lo:
        begin = lo
    stop = end + _REACH
    if stop > n:
        stop = n
    finish = -1
    k = after  # the first boundary at or after the end
    if k < len(codes) and codes[k] >> _SHIFT < stop:
        finish = (codes[k] >> _SHIFT) + 1
        while finish < n and text[finish] in _TRAILING:
            finish += 1
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


class Sentences:
    """``sentence_bounds`` over all the boundaries of one text (listed on creation), remembering each
    sentence found by the boundaries around it (an article's hits locate many words per sentence).

    A sentence is remembered when it came out plainly: its start is the next-sentence offset of the
    last boundary before the range, its end comes from the first boundary at or after it (both within
    reach), nothing was cut (it is at most ``_LONG`` long) and neither end was moved over blanks, the
    end stopping at a non-blank. A range between the same two boundaries then gives the same sentence
    if it starts at or after that offset and ends by its end, with both boundaries within its reach:
    ``sentence_bounds`` would take the same boundaries, cut nothing and move nothing.
    """

    __slots__ = ("codes", "found", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.codes = boundaries(text)
        self.found: dict[int, tuple[int, int, int, int]] = {}  # boundary numbers → begin, end, marks

    def bounds(self, start: int, end: int) -> tuple[int, int, bool, bool]:
        """``sentence_bounds(text, start, end, boundaries(text))``."""
        codes = self.codes
        before = bisect_left(codes, start << _SHIFT)
        after = bisect_left(codes, end << _SHIFT)
        key = before << _SHIFT | after
        known = self.found.get(key)
        if known is not None:
            begin, finish, first_mark, last_mark = known
            if begin <= start and start - _REACH <= first_mark and last_mark < end + _REACH and end <= finish:
                return begin, finish, False, False
            return _sentence_at(self.text, start, end, codes, before, after)
        found = _sentence_at(self.text, start, end, codes, before, after)
        begin, finish, cut_begin, cut_end = found
        if before and after < len(codes) and not cut_begin and not cut_end and 0 < finish - begin <= _LONG:
            first_mark, last_mark = codes[before - 1] >> _SHIFT, codes[after] >> _SHIFT
            text = self.text
            if (
                begin == codes[before - 1] & _AFTER
                and begin <= start
                and start - _REACH <= first_mark
                and last_mark < end + _REACH
                and end <= finish
                and not text[begin].isspace()
                and not text[finish - 1].isspace()
            ):
                self.found[key] = (begin, finish, first_mark, last_mark)
        return found
