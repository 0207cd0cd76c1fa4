"""One article, analysed once for all watchlists.

Per field (title, body) the text is folded and cut into words with C-level string calls. Everything a
watchlist needs beyond word presence is computed lazily and cached, because most articles need it for
few literals: phrase and prefix presence (one substring search in the space-joined words), word
positions (for NEAR and ``cs()``), original offsets and sentence starts (for snippets).
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from operator import itemgetter

import ahocorasick

from monitor.match._ast import CaseTerm, Near, Or, Phrase, Prefix, Query, Term
from monitor.match._fold import OffsetMap, clean, replace_non_ascii
from monitor.match._types import Document, normalize_host, normalize_language

__all__ = ["DocView", "FieldText", "Span", "filter_keys", "near_spans"]

Span = tuple[int, int]  # first and last word position, inclusive
_NONE: list[int] = []
_second = itemgetter(1)


class FieldText:
    """The words of one field, with lazily computed positions, phrase checks and original offsets."""

    __slots__ = (
        "_distinct",
        "_joined",
        "_map",
        "_offsets",
        "_padded",
        "_positions",
        "_prefixes",
        "_seen",
        "_sentences",
        "_spans",
        "cleaned",
        "text",
        "tokens",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self.cleaned = clean(replace_non_ascii(text))
        self.tokens = self.cleaned.split()
        self._joined: str | None = None
        self._seen: dict[str, bool] = {}
        self._positions: dict[str, list[int]] | None = None
        self._prefixes: dict[str, list[int]] = {}
        self._offsets: dict[str, list[int]] = {}
        self._spans: dict[Span, tuple[int, int]] = {}
        self._padded: str | None = None
        self._map: OffsetMap | None = None
        self._distinct: list[str] | None = None
        self._sentences: list[int] | None = None

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

    def first(self, needle: str) -> int:
        """Word position of the first occurrence of ``needle`` (as for ``has``), or -1."""
        joined = self.joined()
        at = joined.find(needle)
        return -1 if at < 0 else joined.count(" ", 0, at)

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
        if not self.has(" " + " ".join(words) + " "):
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
    def _folded_offsets(self, word: str) -> list[int]:
        """Folded start offset of each occurrence of ``word``, in the order of its positions."""
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

    def _rank(self, i: int) -> int:
        """How many times the word at position ``i`` occurs before ``i``."""
        if self._positions is not None:
            return bisect_left(self.positions(self.tokens[i]), i)
        return self.tokens[:i].count(self.tokens[i])

    def original_span(self, first: int, last: int) -> tuple[int, int]:
        """Original character offsets (end exclusive) of the words ``first..last``."""
        done = self._spans.get((first, last))
        if done is not None:
            return done
        if self._map is None:
            self._map = OffsetMap(self.text)
        start_word, end_word = self.tokens[first], self.tokens[last]
        start = self._folded_offsets(start_word)[self._rank(first)]
        end = self._folded_offsets(end_word)[self._rank(last)] + len(end_word)
        done = self._spans[(first, last)] = (self._map.start(start), self._map.end(end))
        return done

    def original_word(self, i: int) -> str:
        start, end = self.original_span(i, i)
        return unicodedata.normalize("NFKC", self.text[start:end])

    def sentence_starts(self) -> list[int]:
        """Original offsets where sentences begin (computed once per field, for snippets)."""
        if self._sentences is None:
            from monitor.match._snippet import sentence_starts

            self._sentences = sentence_starts(self.text)
        return self._sentences

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
        """The first occurrence of a plain literal, found without indexing positions."""
        if isinstance(node, Term):
            try:
                i = self.tokens.index(node.word)
            except ValueError:
                return None
            return (i, i)
        if isinstance(node, Phrase):
            i = self.first(" " + node.key + " ")
            return None if i < 0 else (i, i + len(node.words) - 1)
        i = self.first(" " + node.stem)
        return None if i < 0 else (i, i)


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
        """Phrase (" w1 w2 ") or prefix (" stem") presence in a field, or in either."""
        if field == "any":
            return self.title.has(needle) or self.body.has(needle)
        return (self.title if field == "title" else self.body).has(needle)

    def has_spans(self, node: CaseTerm | Near) -> bool:
        return any(f.spans(node) for f in self.fields(node.field))
