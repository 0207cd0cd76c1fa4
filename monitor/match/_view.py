"""The keys of one article that watchlists can test, found in one pass (see ``Engine``)."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping
from itertools import chain, pairwise, repeat
from operator import itemgetter
from types import MappingProxyType

from monitor.match._analysis import FieldText
from monitor.match._ast import CaseTerm, Key, Near
from monitor.match._parser import MIN_STEM
from monitor.match._types import Document, normalize_host, normalize_language

__all__ = ["DocView", "Lookup", "TokenKeys", "filter_keys"]

_first = itemgetter(0)
_second = itemgetter(1)
_SOURCES = 10_000  # sources and languages whose filter keys are remembered; past that they start again


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


class TokenKeys(dict[str, tuple[tuple[Key, ...], tuple[int, ...]] | tuple[()]]):
    """Token → the keys it gives (its word if a watchlist uses it, and ``stem*`` for every watched stem
    it starts with) and their numbers in the postings (``PostingIndex.key_id``), or ``()`` when it gives
    none. Filled on first sight of a token: news text reuses its vocabulary, so after a few hundred
    articles almost every token is a C-level dict hit, where the article's words used to go through a
    set intersection and an automaton scan each time. Carrying the key numbers saves looking every key
    up again in the postings (a dict of every indexed key: a cache miss or two per key)."""

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

    def __missing__(self, token: str) -> tuple[tuple[Key, ...], tuple[int, ...]] | tuple[()]:
        keys: list[Key] = [token] if token in self.words else []
        if token[:MIN_STEM] in self.heads:
            stems = self.stems
            for end in range(MIN_STEM, min(len(token), self.longest) + 1):
                if token[:end] in stems:
                    keys.append(token[:end] + "*")
        if len(self) >= self._LIMIT:
            self.clear()
        found: tuple[tuple[Key, ...], tuple[int, ...]] | tuple[()] = ()
        if keys:
            found = (tuple(keys), tuple(i for i in map(self.key_id, keys) if i))
        self[token] = found
        return found


class Lookup:
    """What the engine looks for in every article: the keys its watchlists can test in ``DocView.any``.

    Words and ``stem*`` prefixes come from ``tokens`` (see ``TokenKeys``), pairs of adjacent words (the
    keys of phrases) from a C-level intersection of ``pairs`` with the article's word pairs. ``numbers``
    are the keys' numbers in the postings (``PostingIndex.numbers``; a key missing there is 0): a
    mapping, not a function, so that an article's other keys are numbered by a C-level ``map``.
    ``filters`` remembers the ``filter_keys`` of each source and language (a few hundred sites).
    """

    __slots__ = ("filters", "numbers", "pairs", "tokens")

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
        self.filters: dict[tuple[str, str | None], tuple[str, ...]] = {}


class DocView:
    """What compiled matchers read: the analysed fields and the set of keys present anywhere.

    ``any`` holds the keys of ``lookup`` that occur in the title or body (words, pairs of adjacent words,
    ``stem*`` prefixes) and the ``source:``/``lang:`` keys of the article; ``title_pairs`` the word pairs
    of the title (where a phrase's first occurrence is looked for first). Words no watchlist uses are
    left out: that keeps the set, and the intersections with it, small.
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
        # the body's distinct words are the keys of its first-occurrence index, which hits use anyway
        body_words = body.first_indexes()
        get = lookup.tokens.__getitem__
        given = list(filter(None, map(get, body_words)))  # tokens giving keys
        given += filter(None, map(get, self.title_keys.difference(body_words)))
        found: set[Key] = set(chain.from_iterable(map(_first, given)))
        ids = list(chain.from_iterable(map(_second, given)))
        source = (doc.source, doc.language)
        filters = lookup.filters.get(source)
        if filters is None:
            if len(lookup.filters) >= _SOURCES:
                lookup.filters.clear()
            filters = lookup.filters[source] = tuple(filter_keys(doc))
        others: set[Key] = set(filters)
        self.title_pairs: frozenset[Key] = frozenset()
        if lookup.pairs:
            self.title_pairs = lookup.pairs.intersection(pairwise(title.tokens))
            others.update(self.title_pairs)
            others.update(lookup.pairs.intersection(pairwise(body.tokens)))
        if others:
            found |= others
            ids += map(lookup.numbers.get, others, repeat(0))
        self.any = found
        self.key_ids = ids  # numbers of the keys in the postings (0 or repeated at times: harmless)
        self.witnesses: dict[object, list[tuple[str, int, int]]] = {}  # first occurrences, per literal
        # per-article caches of the hit path (``_witness.ref_ranges``, ``_snippet``): witness ranges per
        # ref, sentence and original offsets per range, snippet text per sentence
        self.refs: dict[object, list[tuple[str, int, int]]] = {}
        self.located: dict[tuple[str, int, int], tuple[tuple[str, int, int, bool, bool], int, int]] = {}
        # keyed by one sentence, or a frozenset of several
        self.parts: dict[object, tuple[str, dict[tuple[str, int, int, bool, bool], int | None]]] = {}
        self.pieces: dict[tuple[str, int, int, bool, bool], tuple[str, int]] = {}  # a sentence's text, shift
        self.title_part: tuple[str, int, int, bool, bool] | None = None  # the title as a snippet's sentence

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
