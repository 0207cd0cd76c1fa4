"""The keys of one article that watchlists can test, found in one pass (see ``Engine``)."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping
from itertools import chain, pairwise, repeat
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from monitor.match._analysis import FieldText
from monitor.match._ast import CaseTerm, Key, Near
from monitor.match._parser import MIN_STEM
from monitor.match._types import Document, normalize_host, normalize_language

__all__ = ["DocView", "Lookup", "TokenKeys", "filter_keys"]

_Ints = npt.NDArray[np.int64]
_SOURCES = 10_000  # sources and languages whose filter keys are remembered; past that they start again
# An engine with at most this many ``stem*`` and pair keys takes ``DocView``'s path for few keys
_FEW_STEMS = 24  # one substring search per field each (1-3 us); the token table costs ~250 us an article
_FEW_PAIRS = 64  # a Python check each, and a phrase search only when both words are in the article


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


class TokenKeys(dict[str, tuple[int, ...]]):
    """Token → the numbers of the keys it gives: in the postings (``PostingIndex.key_id``, positive)
    for its word and every watched ``stem*`` it starts with that index something, and minus the
    position in ``names`` of each such ``stem*``; ``()`` when it gives none of these.

    Filled on first sight of a token: news text reuses its vocabulary, so after a few hundred articles
    almost every token is a C-level dict hit, where the article's words used to go through a set
    intersection and an automaton scan each time. One flat tuple of ints per token: ``DocView`` reads
    the numbers of all an article's tokens in one C-level pass into an array, and every object read
    there is a likely cache miss (the word's own key is not needed: ``DocView`` takes the article's own
    strings, which are in the cache)."""

    _LIMIT = 1_000_000  # tokens remembered; past that the cache starts again (numbers, typos, names)

    def __init__(
        self, words: frozenset[str], stems: frozenset[str], key_id: Callable[[Key], int] = lambda key: 0
    ) -> None:
        super().__init__()
        self.words = words
        self.stems = stems
        self.heads = frozenset(stem[:MIN_STEM] for stem in stems)  # most tokens start like no stem
        self.longest = max(map(len, stems), default=0)
        self.key_id = key_id
        self.names: tuple[str, ...] = ("", *sorted(stem + "*" for stem in stems))  # ``stem*`` by number
        self._code = {name: -i for i, name in enumerate(self.names)}

    def __missing__(self, token: str) -> tuple[int, ...]:
        keys: list[str] = []
        if token[:MIN_STEM] in self.heads:
            stems = self.stems
            for end in range(MIN_STEM, min(len(token), self.longest) + 1):
                if token[:end] in stems:
                    keys.append(token[:end] + "*")
        if len(self) >= self._LIMIT:
            self.clear()
        numbered: list[Key] = [token, *keys] if token in self.words else [*keys]
        found = (*(i for i in map(self.key_id, numbered) if i), *map(self._code.__getitem__, keys))
        self[token] = found
        return found

    def keys_of(self, numbers: Iterable[int]) -> list[Key]:
        """The ``stem*`` keys of the negative numbers among ``numbers``."""
        names = self.names
        return [names[-n] for n in numbers if n < 0]


class Lookup:
    """What the engine looks for in every article: the keys its watchlists can test in ``DocView.any``.

    Words and ``stem*`` prefixes come from ``tokens`` (see ``TokenKeys``), pairs of adjacent words (the
    keys of phrases) from a C-level intersection of ``pairs`` with the article's word pairs. ``numbers``
    are the keys' numbers in the postings (``PostingIndex.numbers``; a key missing there is 0): a
    mapping, not a function, so that an article's other keys are numbered by a C-level ``map``.
    ``filters`` remembers the ``filter_keys`` of each source and language (a few hundred sites).

    ``few`` (an engine with few ``stem*`` and pair keys, which is what a deployment with tens or hundreds
    of watchlists has) sends ``DocView`` down the path that looks for the watched keys themselves:
    ``vocabulary`` (the watched words and the words of the watched pairs) intersected with the tokens,
    each stem by one substring search, each pair whose two words are there by a phrase check. The
    token table path costs about 250 us an article whatever the engine (a dict lookup per distinct
    word, every adjacent pair made into a tuple); this one about 30 us. Tests compare both paths.
    """

    __slots__ = ("few", "filters", "numbers", "pairs", "tokens", "vocabulary")

    def __init__(
        self,
        words: frozenset[str] = frozenset(),
        stems: frozenset[str] = frozenset(),
        pairs: frozenset[tuple[str, str]] = frozenset(),
        numbers: Mapping[Key, int] = MappingProxyType({}),
    ) -> None:
        self.tokens = TokenKeys(words, stems, lambda key: numbers.get(key, 0))
        self.pairs = pairs
        self.numbers = numbers
        self.vocabulary = words.union(*pairs)
        self.few = len(stems) <= _FEW_STEMS and len(pairs) <= _FEW_PAIRS
        self.filters: dict[tuple[str, str | None], tuple[str, ...]] = {}


class DocView:
    """What compiled matchers read: the analysed fields and the set of keys present anywhere.

    ``any`` holds every word of the title and body, the keys of ``lookup`` that occur there (pairs of
    adjacent words, ``stem*`` prefixes) and the ``source:``/``lang:`` keys of the article;
    ``title_pairs`` the word pairs of the title (where a phrase's first occurrence is looked for
    first). Only membership is asked of ``any`` (``in``, ``<=``, ``isdisjoint``: each iterates its
    smaller side), so words no watchlist uses cost nothing there; pairs and stems no watchlist uses are
    left out, because finding them would.
    """

    __slots__ = (
        "any",
        "body",
        "doc",
        "key_ids",
        "located",
        "parts",
        "pieces",
        "refs",
        "title",
        "title_keys",
        "title_pairs",
        "title_part",
        "witnesses",
    )

    def __init__(self, doc: Document, title: FieldText, body: FieldText, lookup: Lookup) -> None:
        self.doc = doc
        self.title = title
        self.body = body
        self.title_keys = set(title.tokens)
        self.witnesses: dict[object, list[tuple[str, int, int]]] = {}  # first occurrences, per literal
        # per-article caches of the hit path (``_witness.ref_ranges``, ``_snippet``): witness ranges per
        # ref, sentence and original offsets per range, snippet text per sentence
        self.refs: dict[object, list[tuple[str, int, int]]] = {}
        self.located: dict[tuple[str, int, int], tuple[tuple[str, int, int, bool, bool], int, int]] = {}
        # keyed by one sentence, or a frozenset of several
        self.parts: dict[object, tuple[str, dict[tuple[str, int, int, bool, bool], int | None]]] = {}
        self.pieces: dict[tuple[str, int, int, bool, bool], tuple[str, int]] = {}  # a sentence's text, shift
        self.title_part: tuple[str, int, int, bool, bool] | None = None  # the title as a snippet's sentence
        filters = self._filters(doc, lookup)
        if lookup.few:
            self._few(lookup, filters)
        else:
            self._all(lookup, filters)

    @staticmethod
    def _filters(doc: Document, lookup: Lookup) -> tuple[str, ...]:
        source = (doc.source, doc.language)
        filters = lookup.filters.get(source)
        if filters is None:
            if len(lookup.filters) >= _SOURCES:
                lookup.filters.clear()
            filters = lookup.filters[source] = tuple(filter_keys(doc))
        return filters

    def _few(self, lookup: Lookup, filters: tuple[str, ...]) -> None:
        """``any`` for an engine with few stems and pairs: the watched keys the article has (the words
        of the watched pairs among them, which is harmless: ``any`` is only asked about watched keys)."""
        title, body = self.title, self.body
        vocabulary = lookup.vocabulary
        found: set[Key] = set(vocabulary.intersection(body.tokens))  # iterates the tokens, in C
        found.update(vocabulary.intersection(self.title_keys))
        title_pairs: list[Key] = []
        for pair in lookup.pairs:
            if pair[0] in found and pair[1] in found:
                if title.has_phrase(pair):
                    title_pairs.append(pair)
                    found.add(pair)
                elif body.has_phrase(pair):
                    found.add(pair)
        self.title_pairs: frozenset[Key] = frozenset(title_pairs)
        for stem in lookup.tokens.stems:  # the table's own set: the few path uses no other part of it
            if title.starts_word(stem) or body.starts_word(stem):
                found.add(stem + "*")
        found.update(filters)
        self.any = found
        self.key_ids: _Ints = np.fromiter(map(lookup.numbers.get, found, repeat(0)), dtype=np.int64)

    def _all(self, lookup: Lookup, filters: tuple[str, ...]) -> None:
        """``any`` through the token table (``TokenKeys``): every word of the article, and the watched
        stems and pairs it has."""
        title, body = self.title, self.body
        # the body's distinct words are the keys of its first-occurrence index, which hits use anyway
        body_words = body.first_indexes()
        tokens = lookup.tokens
        get = tokens.__getitem__
        # every word of the article, watched or not (membership is all that is asked of ``any``):
        # a C-level copy of strings in the cache, where the watched words' own strings are not
        found: set[Key] = set(body_words)
        found.update(self.title_keys)
        title_only = self.title_keys.difference(body_words)
        # the numbers of the tokens giving keys (``TokenKeys``), read in C as the array is made below
        numbers: Iterable[int] = chain.from_iterable(
            chain(filter(None, map(get, body_words)), filter(None, map(get, title_only)))
        )
        others: set[Key] = set(filters)
        self.title_pairs = frozenset()
        if lookup.pairs:
            self.title_pairs = lookup.pairs.intersection(pairwise(title.tokens))
            others.update(self.title_pairs)
            others.update(lookup.pairs.intersection(pairwise(body.tokens)))
        if others:
            found |= others
            numbers = chain(numbers, map(lookup.numbers.get, others, repeat(0)))
        # numbers of the keys in the postings (0 or repeated at times: harmless), for ``PostingIndex``,
        # made into an array straight from the iterators; negative ones name ``stem*`` keys
        ids: _Ints = np.fromiter(numbers, dtype=np.int64)
        stems = ids < 0
        if stems.any():
            found.update(tokens.keys_of(ids[stems].tolist()))
            ids = ids[~stems]
        self.any = found
        self.key_ids = ids

    @property
    def body_keys(self) -> Container[str]:
        return self.body.first_indexes()

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
            return any(f.first_case(node) is not None for f in self.fields(node.field))
        return any(f.has_near(node) for f in self.fields(node.field))
