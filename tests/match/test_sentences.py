"""Sentence boundaries for snippets: the regex scan (``boundaries``) finds exactly the boundaries that
``_next_sentence`` defines, and sentences located through them, or through the few boundaries around a
range (``nearby_boundaries``), are the ones the mark-by-mark scan located before the scan existed
(``_scanned_bounds`` below keeps that earlier definition)."""

from __future__ import annotations

import re
from bisect import bisect_left

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.match._sentences import (
    _CONTEXT,
    _LONG,
    _REACH,
    _TRAILING,
    Sentences,
    _next_sentence,
    boundaries,
    ender_marks,
    nearby_boundaries,
    plain_boundaries,
    sentence_bounds,
)

# Pieces that exercise every branch of ``_next_sentence``: runs of enders with and without line breaks,
# closers, blanks of every kind, initials, abbreviations (any case), digits, words in either case.
_WORDS = ["word", "Word", "said", "x", "U", "S", "Mr", "mrs", "GEN", "approx", "st", "xSt", "3", "3.5"]
_LETTERS = ["İ", "\u212a", "²", "é", "Éa"]
_MARKS = [".", ".", ".", "...", "..", "!", "?", "?!", "…", "。", "！", "？", "\n", "\n\n", ".\n", "\n.", ". "]
_BLANKS = [" ", " ", "  ", "\t", "\u2028", "\x1c", '"', "'", "”", "’", "»", ")", "]", "("]
_PIECES = _WORDS + _LETTERS + _MARKS + _BLANKS
texts = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)


@settings(max_examples=2000, deadline=None)
@given(text=texts)
def test_the_regex_scan_finds_exactly_the_defined_boundaries(text: str) -> None:
    assert boundaries(text) == plain_boundaries(text)


def test_boundaries_of_usual_text() -> None:
    text = 'He met Mr. Smith in the U.S. on Monday. "Fine," he said.\n\nThen… nothing. Really?! yes. 3.5 m.'
    found = boundaries(text)
    afters = [code & 0xFFFFFFFF for code in found]
    # not after "Mr." or "U.S.", nor before a word in lower case ("Then… nothing", "Really?! yes"), nor
    # after the initial "m."; both the full stop and the blank line before "Then"
    assert [text[a : a + 6] for a in afters] == ['"Fine,', "Then… ", "Then… ", "Really", "3.5 m."]
    assert found == plain_boundaries(text)


def _scanned_bounds(text: str, start: int, end: int) -> tuple[int, int, bool, bool]:
    """``sentence_bounds`` as it was defined before ``boundaries``: every mark within reach is checked
    with ``_next_sentence``, walking away from the range."""
    marks = ender_marks(text)
    n = len(text)
    lo = max(0, start - _REACH)
    begin = -1
    first = bisect_left(marks, start)
    for p in reversed(marks[:first]):
        if p < lo:
            break
        after = _next_sentence(text, p)
        if 0 <= after <= start:
            begin = after
            break
    cut_begin = begin < 0 and lo > 0
    begin = max(begin, lo)
    stop = min(end + _REACH, n)
    finish = -1
    for p in marks[first:]:
        if p < end:
            continue
        if p >= stop:
            break
        if _next_sentence(text, p) >= 0:
            finish = p + 1
            while finish < n and text[finish] in _TRAILING:
                finish += 1
            break
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


# long texts (several hundred characters) so that the reach, the long-sentence cut and the context apply
_LONG_PIECES = [*_PIECES, " a few more ordinary words here", " And"]
long_texts = st.lists(st.sampled_from(_LONG_PIECES), max_size=300).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=long_texts, data=st.data())
def test_sentences_are_the_ones_the_mark_by_mark_scan_located(text: str, data: st.DataObject) -> None:
    words = [m.span() for m in re.finditer(r"\w+", text)]
    if not words:
        return
    known = boundaries(text)
    picked = data.draw(st.lists(st.sampled_from(words), min_size=1, max_size=20))
    for (start, _), (_, end) in zip(picked, data.draw(st.permutations(picked)), strict=True):
        if start > end:
            start, end = end, start  # also ranges over several words, across full stops
        expected = _scanned_bounds(text, start, end)
        assert sentence_bounds(text, start, end, known) == expected
        assert sentence_bounds(text, start, end, nearby_boundaries(text, start, end)) == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=long_texts, data=st.data())
def test_remembered_sentences_are_the_ones_sentence_bounds_gives(text: str, data: st.DataObject) -> None:
    """``Sentences`` reuses a sentence for ranges between the same boundaries: any range, in any
    order (words, ranges over several words, ranges starting or ending on blanks or punctuation)."""
    sentences = Sentences(text)
    offsets = st.integers(0, len(text))
    for start, end in data.draw(st.lists(st.tuples(offsets, offsets), min_size=1, max_size=40)):
        if start > end:
            start, end = end, start
        assert sentences.bounds(start, end) == sentence_bounds(text, start, end)
    words = [m.span() for m in re.finditer(r"\w+", text)]
    for start, end in data.draw(st.lists(st.sampled_from(words), max_size=40)) if words else []:
        assert sentences.bounds(start, end) == sentence_bounds(text, start, end)
