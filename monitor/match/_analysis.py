"""One article, analysed once for all watchlists.

Per field (title, body) the text is folded and cut into words with C-level string calls. Everything a
watchlist needs beyond word presence is computed lazily and cached, because most articles need it for
few literals: phrase and prefix presence (one substring search in the space-joined words), word
positions (for NEAR and ``cs()``) and original offsets (for snippets).
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable
from itertools import accumulate, compress, count, pairwise
from operator import add, itemgetter

import ahocorasick

from monitor.match._ast import CaseTerm, Near, Or, Phrase, Prefix, Query, Term
from monitor.match._fold import OffsetMap, clean, replace_non_ascii
from monitor.match._types import Document, normalize_host, normalize_language

__all__ = ["DocView", "FieldText", "Span", "filter_keys", "near_spans"]

Span = tuple[int, int]  # first and last word position, inclusive
_NONE: list[int] = []
_SCANS = 6  # words looked up one scan at a time before all positions are indexed in one pass
_second = itemgetter(1)
_BIG = 1 << 62


class FieldText:
    """The words of one field, with lazily computed positions, phrase checks and original offsets."""

    __slots__ = (
        "_bigrams",
        "_distinct",
        "_indexed",
        "_joined",
        "_map",
        "_offsets",
        "_positions",
        "_prefixes",
        "_seen",
        "_sentences",
        "cleaned",
        "text",
        "tokens",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self.cleaned = clean(replace_non_ascii(text))
        self.tokens = self.cleaned.split()
        self._joined: str | None = None
        self._bigrams: set[tuple[str, ...]] | None = None
        self._seen: dict[str, bool] = {}
        self._positions: dict[str, list[int]] = {}
        self._indexed = False
        self._prefixes: dict[str, list[int]] = {}
        self._offsets: list[int] | None = None
        self._sentences: list[tuple[int, int]] = []  # whole sentences already found, sorted
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

    def has_phrase(self, words: tuple[str, ...]) -> bool:
        """Whether the words occur in a row: adjacent pairs are looked up in a set built once."""
        pairs = self._bigrams
        if pairs is None:
            tokens = self.tokens
            pairs = self._bigrams = set(pairwise(tokens))  # C-level, no Python loop
        if len(words) == 2:
            return words in pairs
        if not all(pair in pairs for pair in pairwise(words)):
            return False
        return self.has(" " + " ".join(words) + " ")

    # positions ----------------------------------------------------------------------------------------
    def positions(self, word: str) -> list[int]:
        """Word positions of ``word``: scanned per word for the first few words, then all indexed."""
        positions = self._positions
        found = positions.get(word)
        if found is not None:
            return found
        if self._indexed:
            return _NONE
        if len(positions) < _SCANS:
            found = []
            tokens = self.tokens
            i = -1
            try:
                while True:
                    i = tokens.index(word, i + 1)
                    found.append(i)
            except ValueError:
                positions[word] = found
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
    def _starts(self) -> list[int]:
        """Folded start offset of every word, computed by C-level iterators (no Python loop)."""
        if self._offsets is None:
            parts = self.cleaned.split(" ")
            starts = map(add, accumulate(map(len, parts), initial=0), count())
            self._offsets = list(compress(starts, parts))
        return self._offsets

    def original_span(self, first: int, last: int) -> tuple[int, int]:
        """Original character offsets (end exclusive) of the words ``first..last``."""
        if self._map is None:
            self._map = OffsetMap(self.text)
        starts = self._starts()
        return self._map.start(starts[first]), self._map.end(starts[last] + len(self.tokens[last]))

    def whole(self) -> tuple[int, int, bool, bool]:
        """The whole field, stripped (a title is one "sentence")."""
        begin = len(self.text) - len(self.text.lstrip())
        return begin, max(begin, len(self.text.rstrip())), False, False

    def sentence(self, start: int, end: int) -> tuple[int, int, bool, bool]:
        """Bounds of the sentence around original ``start..end`` (see ``sentence_bounds``), cached."""
        known = self._sentences
        k = bisect_right(known, (start, _BIG)) - 1
        if k >= 0 and known[k][0] <= start and end <= known[k][1]:
            return known[k][0], known[k][1], False, False
        from monitor.match._snippet import sentence_bounds

        found = sentence_bounds(self.text, start, end)
        if not found[2] and not found[3]:
            insort(known, (found[0], found[1]))
        return found

    def original_word(self, i: int) -> str:
        start, end = self.original_span(i, i)
        return unicodedata.normalize("NFKC", self.text[start:end])

    # spans of span nodes ------------------------------------------------------------------------------
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

    def first_span(self, node: Term | Phrase | Prefix) -> Span | None:
        """The first occurrence of a plain literal."""
        if isinstance(node, Term):
            found = self.positions(node.word)
            return (found[0], found[0]) if found else None
        if isinstance(node, Phrase):
            found = self.phrase_positions(node.words)
            return (found[0], found[0] + len(node.words) - 1) if found else None
        found = self.prefix_positions(node.stem)
        return (found[0], found[0]) if found else None


def near_spans(left: list[Span], right: list[Span], distance: int, ordered: bool) -> list[Span]:
    """Combined ranges of the pairs (a, b) that do not overlap and are within ``distance`` words.

    ``right`` is sorted by start, so the partners after each ``a`` are found by bisection; partners
    before ``a`` (unordered NEAR only) are found the same way on the ends.
    """
    if not left or not right:
        return []
    out: set[Span] = set()
    starts = [s for s, _e in right]
    by_end = sorted(right, key=lambda span: span[1])
    ends = [e for _s, e in by_end]
    for a_start, a_end in left:
        j = bisect_right(starts, a_end)
        while j < len(right) and right[j][0] - a_end <= distance:
            out.add((a_start, max(a_end, right[j][1])))
            j += 1
        if not ordered:
            j = bisect_left(ends, a_start - distance)
            while j < len(by_end) and by_end[j][1] < a_start:
                out.add((by_end[j][0], max(a_end, by_end[j][1])))
                j += 1
    return sorted(out)


def filter_keys(doc: Document) -> Iterable[str]:
    """The ``source:`` and ``lang:`` keys an article satisfies (every parent domain, every subtag prefix)."""
    host = normalize_host(doc.source)
    if host:
        labels = host.split(".")
        for i in range(len(labels)):
            yield "source:" + ".".join(labels[i:])
    lang = normalize_language(doc.language)
    if lang:
        tags = lang.split("-")
        for i in range(1, len(tags) + 1):
            yield "lang:" + "-".join(tags[:i])


class DocView:
    """What compiled matchers read: the analysed fields and the set of keys present anywhere.

    ``any`` holds every word of the title and body, the ``source:``/``lang:`` keys of the article and the
    indexed prefix keys found by the engine's automaton.
    """

    __slots__ = ("_body_keys", "any", "body", "doc", "title", "title_keys")

    def __init__(
        self, doc: Document, title: FieldText, body: FieldText, prefixes: ahocorasick.Automaton | None = None
    ) -> None:
        self.doc = doc
        self.title = title
        self.body = body
        self.title_keys = set(title.tokens)
        self.any = set(body.tokens)
        self.any.update(self.title_keys)
        if prefixes is not None and self.any:  # indexed "stem*" keys, one scan over the distinct words
            self.any.update(map(_second, prefixes.iter(" " + " ".join(self.any) + " ")))
        self.any.update(filter_keys(doc))
        self._body_keys: set[str] | None = None

    @property
    def body_keys(self) -> set[str]:
        if self._body_keys is None:
            self._body_keys = set(self.body.tokens)
        return self._body_keys

    def fields(self, field: str) -> tuple[FieldText, ...]:
        if field == "title":
            return (self.title,)
        if field == "body":
            return (self.body,)
        return (self.title, self.body)

    def has_word(self, word: str, field: str) -> bool:
        if field == "title":
            return word in self.title_keys
        if field == "body":
            return word in self.body_keys
        return word in self.any

    def has(self, needle: str, field: str) -> bool:
        """Prefix (" stem") presence in a field, or in either."""
        if field == "any":
            return self.title.has(needle) or self.body.has(needle)
        return (self.title if field == "title" else self.body).has(needle)

    def has_phrase(self, words: tuple[str, ...], field: str) -> bool:
        if field == "any":
            return self.title.has_phrase(words) or self.body.has_phrase(words)
        return (self.title if field == "title" else self.body).has_phrase(words)

    def has_spans(self, node: CaseTerm | Near) -> bool:
        return any(f.spans(node) for f in self.fields(node.field))
