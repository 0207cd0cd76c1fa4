"""One article, analysed once for all watchlists.

Per field (title, body) the text is folded and cut into words with C-level string calls. Everything a
watchlist needs beyond word presence is computed lazily and cached, because most articles need it for
few literals: phrase and prefix presence (one substring search in the space-joined words), word
positions (for NEAR and ``cs()``) and original offsets (for snippets). ``DocView`` (in ``_view``)
puts the fields together with the keys the engine found.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from monitor.match._ast import CaseTerm, Key, Near, Or, Phrase, Prefix, Query, Term
from monitor.match._fold import OffsetMap, clean, non_ascii, replace_non_ascii
from monitor.match._near import Span, near_exists, near_spans
from monitor.match._occurrences import occurrences
from monitor.match._sentences import Sentences, nearby_boundaries, sentence_bounds

__all__ = ["FieldText", "Span", "near_spans"]

_Ints = npt.NDArray[np.intp]
_NONE: list[int] = []
_SCANS = 32  # words looked up one at a time (a few us each) before all are indexed in one pass (~120 us)
_FEW = 40  # tokens of a field short enough to scan as a list (a title)
_SEARCHES = 8  # phrases checked by substring search before the set of adjacent pairs is built
_NUMBERS = list(range(50_000))  # word numbers of ``first_indexes`` (a long article has 10,000 words)


class FieldText:
    """The words of one field, with lazily computed positions, phrase checks and original offsets."""

    __slots__ = (
        "_bigrams",
        "_bounds",
        "_bounds_asked",
        "_cases",
        "_chars",
        "_distinct",
        "_first_index",
        "_firsts",
        "_indexed",
        "_joined",
        "_map",
        "_padded",
        "_positions",
        "_prefixes",
        "_seen",
        "_start_offsets",
        "cleaned",
        "text",
        "tokens",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self._chars = non_ascii(text)
        self.cleaned = clean(replace_non_ascii(text, self._chars))
        self.tokens = self.cleaned.split()
        self._joined: str | None = None
        self._bigrams: set[tuple[str, ...]] | None = None
        self._firsts: dict[Key, tuple[int, int] | None] = {}
        self._first_index: dict[str, int] | None = None
        self._cases: dict[CaseTerm, tuple[int, int] | None] = {}
        self._seen: dict[str, bool] = {}
        self._positions: dict[str, list[int]] = {}
        self._indexed = False
        self._prefixes: dict[str, list[int]] = {}
        self._start_offsets: _Ints | None = None
        self._padded: str | None = None
        self._bounds: Sentences | None = None
        self._bounds_asked = False
        self._map: OffsetMap | None = None
        self._distinct: list[str] | None = None

    # presence -----------------------------------------------------------------------------------------
    def joined(self) -> str:
        """The words separated by single spaces, with a space at both ends."""
        if self._joined is None:
            self._joined = " " + " ".join(self.tokens) + " "
        return self._joined

    def has(self, needle: str) -> bool:
        """Whether ``needle`` (" w1 w2 " for a phrase, " stem" for a prefix) occurs in ``joined()``."""
        seen = self._seen.get(needle)
        if seen is None:
            seen = self._seen[needle] = needle in self.joined()
        return seen

    def starts_word(self, stem: str) -> bool:
        """Whether a word starts with ``stem``: in ``padded()`` every word follows a space, and one
        substring search there needs no ``joined()`` (a join of every word, ~35 us for an article)."""
        return (" " + stem) in self.padded()

    def has_phrase(self, words: tuple[str, ...]) -> bool:
        """Whether the words occur in a row: one substring search in ``joined()`` for the first few
        phrases asked, then adjacent pairs are looked up in a set built once (it costs forty searches)."""
        pairs = self._bigrams
        if pairs is None:
            if len(self._seen) < _SEARCHES:
                return self.has(" " + " ".join(words) + " ")
            pairs = self._bigrams = set(pairwise(self.tokens))  # C-level, no Python loop
        if len(words) == 2:
            return words in pairs
        if not all(pair in pairs for pair in pairwise(words)):
            return False
        return self.has(" " + " ".join(words) + " ")

    # positions ----------------------------------------------------------------------------------------
    def positions(self, word: str) -> list[int]:
        """Word positions of ``word``, per word for the first ``_SCANS`` words, then all indexed. In a
        long field: the first from ``first_indexes``, the next by ``str.find`` of " word" in ``padded()``
        (contiguous, unlike the token strings), numbered by one ``searchsorted`` in the word offsets."""
        positions = self._positions
        found = positions.get(word)
        if found is not None:
            return found
        if self._indexed:
            return _NONE
        if len(positions) < _SCANS:
            found = positions[word] = []
            tokens = self.tokens
            if len(tokens) <= _FEW:  # a title: scanning its few tokens beats any set-up
                found.extend(i for i, token in enumerate(tokens) if token == word)
                return found
            first = self.first_indexes().get(word)
            if first is None:
                return found
            found.append(first)
            padded, starts = self.padded(), self._start_array()
            needle = " " + word
            after = len(needle)
            later, at = [], padded.find(needle, starts.item(first) + after)
            while at >= 0:
                if padded[at + after] == " ":  # not a longer word starting so
                    later.append(at)
                at = padded.find(needle, at + after)
            if later:
                found += np.searchsorted(starts, later).tolist()
            return found
        positions.clear()
        get = positions.get
        for i, token in enumerate(self.tokens):
            found = get(token)
            if found is None:
                positions[token] = [i]
            else:
                found.append(i)
        self._indexed = True
        return positions.get(word, _NONE)

    def phrase_positions(self, words: tuple[str, ...]) -> list[int]:
        n = len(words)
        if n == 1:
            return self.positions(words[0])
        if not self.has_phrase(words):
            return _NONE
        want = list(words)
        tokens = self.tokens
        return [i for i in self.positions(words[0]) if tokens[i : i + n] == want]

    def prefix_positions(self, stem: str) -> list[int]:
        found = self._prefixes.get(stem)
        if found is None:
            found = []
            if self.has(" " + stem):
                if self._distinct is None:
                    self._distinct = sorted(set(self.tokens))
                distinct = self._distinct
                i = bisect_left(distinct, stem)
                while i < len(distinct) and distinct[i].startswith(stem):
                    found.extend(self.positions(distinct[i]))
                    i += 1
                found.sort()
            self._prefixes[stem] = found
        return found

    # original text ------------------------------------------------------------------------------------
    def _start_array(self) -> _Ints:
        """Folded start offset of every word: where a space is followed by a non-space in ``padded()``
        (vectorised, on one byte per character when the text is ASCII, as it nearly always is). Kept as
        an array: a list costs an int object per word, more than the rest of this together."""
        if self._start_offsets is None:
            padded = self.padded()
            if padded.isascii():
                chars = np.frombuffer(padded.encode("ascii"), dtype=np.uint8)
            else:
                chars = np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32)  # one per character
            space = chars == 32
            self._start_offsets = np.flatnonzero(space[:-1] > space[1:])  # offset in padded, less one
        return self._start_offsets

    def first_indexes(self) -> dict[str, int]:
        """Each distinct word and the number of its first occurrence (later insertions of a word
        overwrite earlier ones, so the tokens go in reverse; the numbers come from a list made once,
        where ``range`` would allocate an int per word). It doubles as the set of the words."""
        if self._first_index is None:
            tokens, n = self.tokens, len(self.tokens)
            numbers = _NUMBERS[n - 1 :: -1] if 0 < n <= len(_NUMBERS) else range(n - 1, -1, -1)
            self._first_index = dict(zip(reversed(tokens), numbers, strict=True))
        return self._first_index

    def folded_span(self, first: int, last: int) -> tuple[int, int]:
        """Folded character offsets (end exclusive) of the words ``first..last``."""
        starts = self._start_array()
        return starts.item(first), starts.item(last) + len(self.tokens[last])

    def original(self, folded_start: int, folded_end: int) -> tuple[int, int]:
        """Original character offsets of a folded range that starts and ends at word boundaries."""
        if self._map is None:
            self._map = OffsetMap(self.text, self._chars)
        if self._map.identity:  # folding changed no length (ASCII text, most accented letters)
            return folded_start, folded_end
        return self._map.start(folded_start), self._map.end(folded_end)

    def original_span(self, first: int, last: int) -> tuple[int, int]:
        """Original character offsets (end exclusive) of the words ``first..last``."""
        return self.original(*self.folded_span(first, last))

    def padded(self) -> str:
        """``" " + cleaned + " "``: a word is always between spaces; offsets shift by one."""
        if self._padded is None:
            self._padded = " " + self.cleaned + " "
        return self._padded

    def first_word(self, word: str) -> tuple[int, int] | None:
        """Folded offsets of the first occurrence of a word (``None`` if absent).

        A short field (a title) is searched: in ``padded()`` every word stands between spaces, so a
        ``str.find`` of " word" and a check of the character after it answer. A longer one (a body)
        answers from ``first_indexes`` (which ``DocView`` builds anyway as the body's set of words) and
        the word offsets: an article with many hits asks for tens of words, and each search of a body
        (a few us: the needle's leading space is everywhere, so the search skips little) cost more.
        """
        if len(self.tokens) > _FEW:
            index = self.first_indexes().get(word)
            if index is None:
                return None
            start: int = self._start_array().item(index)  # a Python int, with no numpy scalar
            return start, start + len(word)
        padded = self.padded()
        needle = " " + word
        at = padded.find(needle)
        while at >= 0 and padded[at + len(needle)] != " ":  # a longer word starting so
            at = padded.find(needle, at + 1)
        return None if at < 0 else (at, at + len(word))

    def first_phrase(self, words: tuple[str, ...]) -> tuple[int, int] | None:
        """Folded offsets of the first occurrence of words in a row (the first of ``occurrences``).

        In a long field the first occurrence of the first word (``first_indexes``) nearly always starts
        it; if not, the search starts from there."""
        begin = 0
        if len(self.tokens) > _FEW:
            index = self.first_indexes().get(words[0])
            if index is None:
                return None
            n = len(words)
            begin = self._start_array().item(index)  # the space before it, in ``padded()``
            if self.tokens[index : index + n] == list(words):
                return begin, self._start_array().item(index + n - 1) + len(words[-1])
        return next(occurrences(self.padded(), words, begin), None)

    def first_prefix(self, stem: str) -> tuple[int, int] | None:
        """Folded offsets of the first word starting with ``stem``: one ``str.find`` in ``padded()``."""
        padded = self.padded()
        at = padded.find(" " + stem)
        return None if at < 0 else (at, padded.find(" ", at + 1) - 1)

    def first_occurrence(self, node: Term | Phrase | Prefix) -> tuple[int, int] | None:
        """Folded offsets of the first occurrence of a plain literal (cached)."""
        key = node.key
        if key in self._firsts:
            return self._firsts[key]
        found: tuple[int, int] | None
        if isinstance(node, Prefix):
            found = self.first_prefix(node.stem)
        elif isinstance(node, Term):
            found = self.first_word(node.word)
        else:
            found = self.first_phrase(node.words)
        self._firsts[key] = found
        return found

    def first_case(self, node: CaseTerm) -> tuple[int, int] | None:
        """Folded range of the first occurrence of a ``cs()`` literal with exactly its original spelling
        (cached; the occurrences after it are never looked at)."""
        if node in self._cases:
            return self._cases[node]
        found: tuple[int, int] | None = None
        for start, end in occurrences(self.padded(), node.words):
            if len(node.words) == 1:
                spelled: tuple[str, ...] = (self._original_text(start, end),)
            else:
                spelled = tuple(
                    self._original_text(w.start(), w.end()) for w in _WORD.finditer(self.cleaned, start, end)
                )
            if spelled == node.originals:
                found = (start, end)
                break
        self._cases[node] = found
        return found

    def _original_text(self, folded_start: int, folded_end: int) -> str:
        start, end = self.original(folded_start, folded_end)
        return unicodedata.normalize("NFKC", self.text[start:end])

    def whole(self) -> tuple[int, int, bool, bool]:
        """The whole field, stripped (a title is one "sentence")."""
        begin = len(self.text) - len(self.text.lstrip())
        return begin, max(begin, len(self.text.rstrip())), False, False

    def expect_sentences(self) -> None:
        """Several sentences will be asked for: list all the boundaries for the first one already."""
        self._bounds_asked = True

    def sentence(self, start: int, end: int) -> tuple[int, int, bool, bool]:
        """Bounds of the sentence around original ``start..end`` (see ``sentence_bounds``): the first
        from the marks around it, the next ones from all the boundaries of the text (``Sentences``)."""
        if self._bounds is None:
            if not self._bounds_asked:
                self._bounds_asked = True
                return sentence_bounds(self.text, start, end, nearby_boundaries(self.text, start, end))
            self._bounds = Sentences(self.text)
        return self._bounds.bounds(start, end)

    def original_word(self, i: int) -> str:
        start, end = self.original_span(i, i)
        return unicodedata.normalize("NFKC", self.text[start:end])

    # spans of span nodes ------------------------------------------------------------------------------
    def has_near(self, node: Near) -> bool:
        """Whether ``spans(node)`` is not empty. Two words (the usual NEAR), once both are known to be
        in the field, by the tokens within the distance of each occurrence of the first; other
        operands by ``near_exists`` (one pair suffices: no combined ranges are listed)."""
        left, right = node.left, node.right
        if type(left) is not Term or type(right) is not Term:
            lefts = self.spans(left)
            return bool(lefts) and near_exists(lefts, self.spans(right), node.distance, node.ordered)
        word, distance, tokens = right.word, node.distance, self.tokens
        present = self.first_indexes() if len(tokens) > _FEW else tokens
        if word not in present or left.word not in present:
            return False
        for i in self.positions(left.word):
            if word in tokens[i + 1 : i + 1 + distance]:
                return True
            if not node.ordered and word in tokens[max(0, i - distance) : i]:
                return True
        return False

    def spans(self, node: Query) -> list[Span]:
        """Sorted word ranges where a span node (term, phrase, prefix, cs, OR, NEAR) occurs."""
        if isinstance(node, Term):
            return [(i, i) for i in self.positions(node.word)]
        if isinstance(node, Phrase):
            n = len(node.words) - 1
            return [(i, i + n) for i in self.phrase_positions(node.words)]
        if isinstance(node, Prefix):
            return [(i, i) for i in self.prefix_positions(node.stem)]
        if isinstance(node, CaseTerm):
            n = len(node.words)
            return [
                (i, i + n - 1)
                for i in self.phrase_positions(node.words)
                if all(self.original_word(i + k) == node.originals[k] for k in range(n))
            ]
        if isinstance(node, Or):
            merged: set[Span] = set()
            for child in node.children:
                merged.update(self.spans(child))
            return sorted(merged)
        if isinstance(node, Near):
            return near_spans(self.spans(node.left), self.spans(node.right), node.distance, node.ordered)
        raise TypeError(f"not a span node: {node!r}")  # pragma: no cover - the parser refuses these


_WORD = re.compile(r"\S+")
