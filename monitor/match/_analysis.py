"""One article, analysed once for all watchlists.

Per field (title, body) the text is folded and cut into words with C-level string calls. Everything a
watchlist needs beyond key presence (word positions for NEAR, original spellings for ``cs()``, original
offsets for snippets) is computed lazily and cached, because most articles need it for few words.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from monitor.match._ast import CaseTerm, Near, Or, Phrase, Prefix, Query, Term
from monitor.match._fold import OffsetMap, clean, fold
from monitor.match._types import Document, normalize_host, normalize_language

__all__ = ["DocView", "FieldText", "Span", "filter_keys"]

Span = tuple[int, int]  # first and last word position, inclusive
_NONE: list[int] = []


class FieldText:
    """The words of one field, with lazily computed positions and original offsets."""

    __slots__ = (
        "_distinct",
        "_map",
        "_offsets",
        "_padded",
        "_positions",
        "_prefixes",
        "_sentences",
        "_spans",
        "cleaned",
        "text",
        "tokens",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self.cleaned = clean(fold(text))
        self.tokens = self.cleaned.split()
        self._positions: dict[str, list[int]] | None = None
        self._prefixes: dict[str, list[int]] = {}
        self._offsets: dict[str, list[int]] = {}
        self._padded: str | None = None
        self._map: OffsetMap | None = None
        self._distinct: list[str] | None = None
        self._sentences: list[int] | None = None
        self._spans: dict[tuple[int, int], tuple[int, int]] = {}

    def joined(self) -> str:
        """The words separated by single spaces, padded: phrase and prefix keys are found in it."""
        return " " + " ".join(self.tokens) + " "

    # positions ----------------------------------------------------------------------------------------
    def positions(self, word: str) -> list[int]:
        """Word positions of ``word`` (all positions are indexed in one pass, on first use)."""
        positions = self._positions
        if positions is None:
            positions = self._positions = {}
            get = positions.get
            for i, token in enumerate(self.tokens):
                found = get(token)
                if found is None:
                    positions[token] = [i]
                else:
                    found.append(i)
        return positions.get(word, _NONE)

    def phrase_positions(self, words: tuple[str, ...]) -> list[int]:
        n = len(words)
        if n == 1:
            return self.positions(words[0])
        want = list(words)
        tokens = self.tokens
        return [i for i in self.positions(words[0]) if tokens[i : i + n] == want]

    def prefix_positions(self, stem: str) -> list[int]:
        found = self._prefixes.get(stem)
        if found is None:
            found = []
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
    def _folded_offsets(self, word: str) -> list[int]:
        """Folded start offset of each occurrence of ``word``, in the order of ``positions(word)``."""
        found = self._offsets.get(word)
        if found is None:
            if self._padded is None:
                self._padded = " " + self.cleaned + " "
            padded, needle = self._padded, " " + word + " "
            found = []
            i = padded.find(needle)
            while i >= 0:
                found.append(i)
                i = padded.find(needle, i + 1)
            self._offsets[word] = found
        return found

    def original_span(self, first: int, last: int) -> tuple[int, int]:
        """Original character offsets (end exclusive) of the words ``first..last``."""
        done = self._spans.get((first, last))
        if done is not None:
            return done
        if self._map is None:
            self._map = OffsetMap(self.text)
        start_word, end_word = self.tokens[first], self.tokens[last]
        start = self._folded_offsets(start_word)[bisect_left(self.positions(start_word), first)]
        end = self._folded_offsets(end_word)[bisect_left(self.positions(end_word), last)] + len(end_word)
        done = self._spans[(first, last)] = (self._map.start(start), self._map.end(end))
        return done

    def sentence_starts(self) -> list[int]:
        """Original offsets where sentences begin (computed once per field, for snippets)."""
        if self._sentences is None:
            from monitor.match._snippet import sentence_starts

            self._sentences = sentence_starts(self.text)
        return self._sentences

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
    """Key sets per field plus the analysed fields; compiled matchers read only this."""

    __slots__ = ("any", "body", "body_keys", "doc", "title", "title_keys")

    def __init__(
        self, doc: Document, title: FieldText, body: FieldText, title_keys: set[str], body_keys: set[str]
    ) -> None:
        self.doc = doc
        self.title = title
        self.body = body
        self.title_keys = title_keys
        self.body_keys = body_keys
        self.any = title_keys | body_keys
        self.any.update(filter_keys(doc))

    def fields(self, field: str) -> tuple[FieldText, ...]:
        if field == "title":
            return (self.title,)
        if field == "body":
            return (self.body,)
        return (self.title, self.body)

    def keys(self, field: str) -> set[str]:
        if field == "title":
            return self.title_keys
        if field == "body":
            return self.body_keys
        return self.any

    def has_spans(self, node: CaseTerm | Near) -> bool:
        return any(f.spans(node) for f in self.fields(node.field))
