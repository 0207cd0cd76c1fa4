"""The reverse-search engine: many watchlists, one pass over each article.

Design (after Lucene Monitor and the Elasticsearch percolator):

1. Each article is folded and cut into words once per field (``FieldText``: a few C-level string calls).
2. All the literals of all watchlists are looked up in one go (``DocView``): each distinct word of the
   article (the keys of the body's first-occurrence dict, ``FieldText.first_indexes``: one C-level
   ``dict(zip(reversed(tokens), numbers))``, where later duplicates overwrite earlier ones, so each
   word keeps its first number) is looked up in the engine's token table (``TokenKeys``: the posting
   numbers of the word and of every watched ``stem*`` it starts with, and the stems' own numbers,
   negative, as one flat tuple of ints, computed on a token's first sight; read in C straight into
   the array of key numbers), pairs of adjacent words (the keys of phrases) by a C-level set
   intersection. ``DocView.any`` holds every word of the article (a C-level copy of its own strings)
   with those stems and pairs. This replaced a pyahocorasick scan: at 100,000 watchlists the
   automaton returned ~600 matches per article as Python objects and cost twice the table lookups;
   news text reuses its vocabulary, so the table is a dict hit per word. An engine with few ``stem*``
   and pair keys (``Lookup.few``: tens or hundreds of watchlists) skips the table, whose cost per
   article does not shrink with the engine: its watched words are intersected with the tokens in C,
   each stem is one substring search and each pair a phrase check, and ``any`` holds only watched keys.
3. Each watchlist is indexed under its two most selective required clauses (Lucene Monitor's
   presearcher terms, chosen by estimated frequency: rare words, word pairs, then wildcards); only
   watchlists whose two indexed clauses are both present are candidates (``PostingIndex``: numpy
   postings, one gather of both clauses' postings per article, marked in one array whose two halves
   are ANDed). A watchlist with no required positive literal would be an "always candidate" (the
   parser refuses such queries, so this list is a safety net).
4. Candidates are evaluated exactly, and each one that holds gets its hit in the same pass (``hits``,
   ``_hits``): queries decided by key presence alone (most) are plain data (``KeyTest``), tested
   inline with set methods, and their hit shows their keys; the others are compiled closures (word
   positions are computed only for NEAR and ``cs()``) with a *plan* naming what their hit shows.
5. A hit carries the matched sentence(s) and spans: each literal is found and its sentence located
   once per article (the sentence boundaries of a text are listed once; a body word's offset is its
   first number in the dict above, looked up in the word start offsets, which are one numpy pass over
   the padded text: a space followed by a non-space, ``space[:-1] > space[1:]``), and the text of each
   combination of sentences is built once, so a hit costs little more than its spans.
6. Building parses and compiles every query once (queries of plain words, or plain words with AND and
   NOT, skip the grammar); the clauses of a bare word's node, which the parser shares between queries,
   and the cost of each clause are computed once per build.

``Engine.match`` updates plain counters (``stats``) without a lock: they are for benchmarks and metrics,
and a concurrent caller can only make them slightly off.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from monitor.core import WatchlistHit
from monitor.log import get_logger
from monitor.match._analysis import FieldText
from monitor.match._ast import Key
from monitor.match._compile import (
    Clause,
    Compiled,
    KeyTest,
    Matcher,
    SharedTerms,
    compile_query,
    estimate,
)
from monitor.match._errors import QuerySyntaxError
from monitor.match._hits import article_hits
from monitor.match._index import PostingIndex
from monitor.match._parser import parse_query
from monitor.match._types import Document, WatchlistSpec
from monitor.match._view import DocView, Lookup
from monitor.match._witness import Plan, compile_plan, interner

__all__ = ["Engine", "EngineStats", "explain"]

log = get_logger(__name__)

_FREEZE_AT = 5_000  # watchlists: smaller engines (``explain``, tests, a search) are left to the collector


@dataclass(frozen=True, slots=True)
class EngineStats:
    """Counters for benchmarks and metrics; ``last_*`` describe the most recent ``match`` call.

    ``automaton_keys`` counts the ``stem*`` and word-pair keys (the ones not found by a plain word
    lookup; the name is from when an automaton found them).
    """

    watchlists: int
    keys: int
    automaton_keys: int
    always_candidates: int
    build_s: float
    documents: int
    candidates: int
    hits: int
    last_candidates: int
    last_hits: int


@dataclass(frozen=True, slots=True)
class _Entry:
    """A compiled watchlist query and the (at most two) clauses it is indexed under."""

    compiled: Compiled
    index: tuple[tuple[Key, ...], ...]  # tuples, not sets: see ``Compiled``


class Engine:
    """Matches documents against a fixed set of watchlists; build a new one to change them."""

    def __init__(self) -> None:  # use Engine.build
        self._ids: list[int] = []
        self._entries: list[_Entry] = []
        self._tests: list[KeyTest | Matcher] = []
        self._plans: list[Plan | None] = []  # compiled on a watchlist's first hit
        self._intern = interner()
        self._cache: dict[tuple[str, tuple[tuple[str, ...], ...]], _Entry] = {}
        self._postings = PostingIndex((), 0)
        self._lookup = Lookup()
        self._automaton_keys = 0
        self._build_s = 0.0
        self._documents = 0
        self._candidates = 0
        self._hits = 0
        self._last_candidates = 0
        self._last_hits = 0

    # building -----------------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        specs: Iterable[WatchlistSpec],
        *,
        frequencies: Mapping[str, float] | None = None,
        previous: Engine | None = None,
    ) -> Engine:
        """Compile watchlists into an engine; raises ``QuerySyntaxError`` naming the bad watchlist.

        ``frequencies`` (share of articles containing a key) sharpens the choice of index clauses;
        without it the choice uses the shape of the words. ``previous`` lets a rebuild reuse the parsed
        and compiled queries of watchlists that did not change.
        """
        started = time.perf_counter()
        specs = list(specs)
        large = len(specs) >= _FREEZE_AT
        if large:  # collect what is garbage now, so that the freeze below keeps no garbage alive
            gc.collect()
        paused = gc.isenabled()
        if paused:  # see _build: the cyclic collector would re-scan the growing heap over and over
            gc.disable()
        try:
            engine = cls._build(specs, frequencies, previous)
        finally:
            if paused:
                gc.enable()
        if large:
            gc.freeze()
        engine._build_s = time.perf_counter() - started
        return engine

    @classmethod
    def _build(
        cls, specs: Iterable[WatchlistSpec], frequencies: Mapping[str, float] | None, previous: Engine | None
    ) -> Engine:
        """The build itself. It allocates about ten objects per watchlist (query nodes, key tuples), and
        each of the cyclic collector's full passes re-scans all of them: pausing the collector meanwhile
        cut the build of 100,000 watchlists from 11 s to 4.3 s. Reference counting still frees garbage.

        A large engine is then frozen (``gc.freeze``: moved out of the collector's generations, where
        the first passes after a build cost seconds, 0.5 ms per article over the next 5,000 articles
        at 100,000 watchlists). That is safe because an engine holds no reference cycles: it is freed
        by reference counting when the next one replaces it (a test checks this). What the freeze keeps
        beyond that is what was alive anyway, plus garbage cycles other threads made during the build.
        """
        engine = cls()
        seen: set[int] = set()
        reuse = previous._cache if previous is not None else {}

        estimates: dict[Key, float] = {}
        terms: SharedTerms = {}  # clauses of the words' nodes, shared by the queries of this build

        costs: dict[Clause, float] = {}  # a word's clause is one object shared by its queries (``terms``)

        def cost(clause: Clause) -> float:
            total = costs.get(clause)
            if total is None:
                total = 0.0
                for key in clause:
                    known = estimates.get(key)
                    if known is None:
                        known = estimates[key] = estimate(key, frequencies)
                    total += known
                costs[clause] = total
            return total

        for spec in sorted(specs, key=lambda s: s.id):  # internal numbers follow ids: hits come sorted
            if spec.id in seen:
                raise ValueError(f"duplicate watchlist id {spec.id}")
            seen.add(spec.id)
            cache_key = (spec.query, spec.synonyms)
            entry = engine._cache.get(cache_key) or reuse.get(cache_key)
            if entry is None:
                try:
                    query = parse_query(spec.query, synonyms=spec.synonyms)
                except QuerySyntaxError as exc:
                    raise exc.for_watchlist(spec.id, spec.name) from None
                compiled, clauses = compile_query(query, cost, terms)
                entry = _Entry(compiled, tuple(tuple(c) for c in sorted(clauses, key=cost)[:2]))
            engine._cache[cache_key] = entry
            engine._ids.append(spec.id)
            engine._entries.append(entry)
            engine._tests.append(entry.compiled.test)
        engine._plans = [None] * len(engine._entries)
        engine._index()
        return engine

    def _index(self) -> None:
        words: set[str] = set()
        pairs: set[tuple[str, str]] = set()
        prefixes: set[str] = set()
        for entry in self._entries:
            for key in entry.compiled.literals:
                if isinstance(key, tuple):
                    pairs.add(key)
                elif key[-1] == "*":
                    prefixes.add(key)
                else:
                    words.add(key)
        self._postings = PostingIndex((entry.index for entry in self._entries), len(self._entries))
        self._lookup = Lookup(
            frozenset(words), frozenset(p[:-1] for p in prefixes), frozenset(pairs), self._postings.numbers
        )
        self._automaton_keys = len(prefixes) + len(pairs)

    # matching -----------------------------------------------------------------------------------------
    def analyse(self, doc: Document) -> DocView:
        """Fold, cut and look up one document (the part of ``match`` shared by all watchlists)."""
        return DocView(doc, FieldText(doc.title), FieldText(doc.body), self._lookup)

    def candidates(self, view: DocView) -> list[int]:
        """Internal numbers of the watchlists worth evaluating (both index clauses present), sorted."""
        return self._postings.candidates_of(view.key_ids)

    def match(self, doc: Document) -> list[WatchlistHit]:
        """The watchlists that match ``doc``, each with its snippet, ordered by watchlist id."""
        view = self.analyse(doc)
        candidates = self.candidates(view)
        hits = self.hits(view, candidates)
        self._documents += 1
        self._candidates += len(candidates)
        self._hits += len(hits)
        self._last_candidates = len(candidates)
        self._last_hits = len(hits)
        return hits

    def hits(self, view: DocView, candidates: list[int]) -> list[WatchlistHit]:
        """The candidates whose query holds (exact evaluation), each with the sentence(s) its literals
        were found in and their spans (``_hits``: one pass that evaluates and builds the hits)."""
        return article_hits(view, candidates, self._tests, self._plans, self._ids, self._compile_plan)

    def _compile_plan(self, n: int) -> Plan:
        return compile_plan(self._entries[n].compiled.query, self._intern)

    # introspection ------------------------------------------------------------------------------------
    @property
    def stats(self) -> EngineStats:
        return EngineStats(
            watchlists=len(self._ids),
            keys=len(self._postings.keys),
            automaton_keys=self._automaton_keys,
            always_candidates=self._postings.always,
            build_s=self._build_s,
            documents=self._documents,
            candidates=self._candidates,
            hits=self._hits,
            last_candidates=self._last_candidates,
            last_hits=self._last_hits,
        )

    def __len__(self) -> int:
        return len(self._ids)


def explain(query: str, doc: Document, *, synonyms: Sequence[Sequence[str]] = ()) -> WatchlistHit | None:
    """Match one query against one document through the real engine (``watchlist test`` uses it)."""
    spec = WatchlistSpec(id=0, name="query", query=query, synonyms=tuple(tuple(g) for g in synonyms))
    hits = Engine.build([spec]).match(doc)
    return hits[0] if hits else None
