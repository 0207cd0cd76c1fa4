"""The keys of one article that watchlists can test, found in one pass (see ``Engine``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter

import ahocorasick

from monitor.match._analysis import FieldText
from monitor.match._ast import CaseTerm, Key, Near
from monitor.match._types import Document, normalize_host, normalize_language

__all__ = ["DocView", "Lookup", "filter_keys"]

_second = itemgetter(1)


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


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the engine looks for in every article: the keys its watchlists can test in ``DocView.any``.

    ``automaton`` finds ``stem*`` prefixes (as " stem") and pairs of adjacent words (as " w1 w2 ") in
    one scan of the space-joined words.
    """

    words: frozenset[str] = frozenset()
    automaton: ahocorasick.Automaton | None = None


class DocView:
    """What compiled matchers read: the analysed fields and the set of keys present anywhere.

    ``any`` holds the keys of ``lookup`` that occur in the title or body (words, pairs of adjacent words,
    ``stem*`` prefixes found by the automaton) and the ``source:``/``lang:`` keys of the article. Words
    no watchlist uses are left out: that keeps the set, and the intersections with it, small.
    """

    __slots__ = ("_body_keys", "any", "body", "doc", "title", "title_keys", "witnesses")

    def __init__(self, doc: Document, title: FieldText, body: FieldText, lookup: Lookup) -> None:
        self.doc = doc
        self.title = title
        self.body = body
        self.title_keys = set(title.tokens)
        found: set[Key] = set(lookup.words.intersection(body.tokens))
        found.update(lookup.words.intersection(title.tokens))
        if lookup.automaton is not None:  # one scan over both fields; "|" keeps pairs inside a field
            found.update(map(_second, lookup.automaton.iter(title.joined() + "|" + body.joined())))
        found.update(filter_keys(doc))
        self.any = found
        self._body_keys: set[str] | None = None
        self.witnesses: dict[object, list[tuple[str, int, int]]] = {}  # first occurrences, per literal

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
        if isinstance(node, CaseTerm):
            return any(f.case_ranges(node) for f in self.fields(node.field))
        return any(f.spans(node) for f in self.fields(node.field))
