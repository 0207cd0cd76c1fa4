"""The reverse-search engine: many watchlists, one pass over each article.

Design (after Lucene Monitor and the Elasticsearch percolator):

1. Each article is folded and cut into words once (``FieldText``).
2. The literals of all watchlists are looked up in one go: whole words by hashing each distinct word of
   the article against the set of indexed keys (one C-level set intersection), phrases and prefix
   wildcards by one scan of a pyahocorasick automaton over the article's words. Scanning the words
   themselves through the automaton as well was measured at ten times the cost of the hash lookup,
   because every occurrence of every indexed word comes back to Python.
3. Each watchlist is indexed under its two most selective required clauses (its "presearcher" terms);
   only watchlists whose indexed clauses are both present are candidates. Watchlists with no required
   positive literal (only filters or negations inside an OR) are always candidates.
4. Candidates are evaluated by compiled closures: set operations for plain literals, word positions only
   for NEAR and ``cs()``. Hits get a snippet with the matched words.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import ahocorasick

from monitor.core import WatchlistHit
from monitor.log import get_logger
from monitor.match._analysis import DocView, FieldText
from monitor.match._ast import And, Near, Not, Or, Prefix, Query
from monitor.match._compile import Matcher, compile_query, estimate, witness
from monitor.match._errors import QuerySyntaxError
from monitor.match._parser import parse_query
from monitor.match._snippet import build_hit
from monitor.match._types import Document, WatchlistSpec

__all__ = ["Engine", "EngineStats", "explain"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class EngineStats:
    """Counters for benchmarks and metrics; ``last_*`` describe the most recent ``match`` call."""

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
class _Compiled:
    query: Query
    matcher: Matcher
    clauses: tuple[frozenset[str], ...]


class Engine:
    """Matches documents against a fixed set of watchlists; build a new one to change them."""

    def __init__(self) -> None:  # use Engine.build
        self._ids: list[int] = []
        self._compiled: list[_Compiled] = []
        self._cache: dict[tuple[str, tuple[tuple[str, ...], ...]], _Compiled] = {}
        self._post1: dict[str, tuple[int, ...]] = {}
        self._post2: dict[str, tuple[int, ...]] = {}
        self._keys1: frozenset[str] = frozenset()
        self._keys2: frozenset[str] = frozenset()
        self._always: frozenset[int] = frozenset()
        self._automaton: ahocorasick.Automaton | None = None
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
        engine = cls()
        seen: set[int] = set()
        reuse = previous._cache if previous is not None else {}

        estimates: dict[str, float] = {}

        def cost(clause: frozenset[str]) -> float:
            total = 0.0
            for key in clause:
                known = estimates.get(key)
                if known is None:
                    known = estimates[key] = estimate(key, frequencies)
                total += known
            return total

        for spec in sorted(specs, key=lambda s: s.id):  # internal numbers follow ids: hits come sorted
            if spec.id in seen:
                raise ValueError(f"duplicate watchlist id {spec.id}")
            seen.add(spec.id)
            cache_key = (spec.query, spec.synonyms)
            compiled = engine._cache.get(cache_key) or reuse.get(cache_key)
            if compiled is None:
                try:
                    query = parse_query(spec.query, synonyms=spec.synonyms)
                except QuerySyntaxError as exc:
                    raise exc.for_watchlist(spec.id, spec.name) from None
                matcher, clauses = compile_query(query, cost)
                compiled = _Compiled(query, matcher, _index_clauses(clauses, cost))
            engine._cache[cache_key] = compiled
            engine._ids.append(spec.id)
            engine._compiled.append(compiled)
        engine._index()
        engine._build_s = time.perf_counter() - started
        return engine

    def _index(self) -> None:
        post1: dict[str, list[int]] = {}
        post2: dict[str, list[int]] = {}
        always: list[int] = []
        prefixes: set[str] = set()
        for n, compiled in enumerate(self._compiled):
            _collect_prefixes(compiled.query, prefixes)
            clauses = compiled.clauses
            if not clauses:
                always.append(n)
                continue
            for k in clauses[0]:
                post1.setdefault(k, []).append(n)
            for k in clauses[-1]:
                post2.setdefault(k, []).append(n)
        self._post1 = {k: tuple(v) for k, v in post1.items()}
        self._post2 = {k: tuple(v) for k, v in post2.items()}
        self._keys1 = frozenset(self._post1)
        self._keys2 = frozenset(self._post2)
        self._always = frozenset(always)
        if prefixes:
            automaton = ahocorasick.Automaton()
            for key in prefixes:
                automaton.add_word(" " + key[:-1], key)
            automaton.make_automaton()
            self._automaton = automaton
        self._automaton_keys = len(prefixes)

    # matching -----------------------------------------------------------------------------------------
    def analyse(self, doc: Document) -> DocView:
        """Fold, cut and look up one document (the part of ``match`` shared by all watchlists)."""
        return DocView(doc, FieldText(doc.title), FieldText(doc.body), self._automaton)

    def candidates(self, view: DocView) -> set[int]:
        """Internal numbers of the watchlists worth evaluating: both index clauses present, or always."""
        keys = view.any
        found: set[int] = set().union(*map(self._post1.__getitem__, self._keys1 & keys))
        if found:
            found &= set().union(*map(self._post2.__getitem__, self._keys2 & keys))
        if self._always:
            found |= self._always
        return found

    def match(self, doc: Document) -> list[WatchlistHit]:
        """The watchlists that match ``doc``, each with its snippet, ordered by watchlist id."""
        view = self.analyse(doc)
        candidates = self.candidates(view)
        compiled = self._compiled
        matched = sorted(n for n in candidates if compiled[n].matcher(view))
        self._documents += 1
        self._candidates += len(candidates)
        self._hits += len(matched)
        self._last_candidates = len(candidates)
        self._last_hits = len(matched)
        hits: list[WatchlistHit] = []
        made: dict[tuple[tuple[str, tuple[int, int]], ...], WatchlistHit] = {}
        for n in matched:
            found = tuple(witness(compiled[n].query, view))
            shared = made.get(found)
            if shared is None:  # watchlists matched by the same words share one snippet
                shared = made[found] = build_hit(0, view, list(found))
            hits.append(WatchlistHit(self._ids[n], shared.snippet, shared.spans))
        return hits

    # introspection ------------------------------------------------------------------------------------
    @property
    def stats(self) -> EngineStats:
        return EngineStats(
            watchlists=len(self._ids),
            keys=len(self._keys1 | self._keys2),
            automaton_keys=self._automaton_keys,
            always_candidates=len(self._always),
            build_s=self._build_s,
            documents=self._documents,
            candidates=self._candidates,
            hits=self._hits,
            last_candidates=self._last_candidates,
            last_hits=self._last_hits,
        )

    def __len__(self) -> int:
        return len(self._ids)


def _collect_prefixes(node: Query, out: set[str]) -> None:
    """Every ``stem*`` key of a query: the automaton finds them all in one scan of an article's words."""
    if isinstance(node, Prefix):
        out.add(node.key)
    elif isinstance(node, And | Or):
        for child in node.children:
            _collect_prefixes(child, out)
    elif isinstance(node, Not):
        _collect_prefixes(node.child, out)
    elif isinstance(node, Near):
        _collect_prefixes(node.left, out)
        _collect_prefixes(node.right, out)


def _index_clauses(
    required: list[frozenset[str]], cost: Callable[[frozenset[str]], float]
) -> tuple[frozenset[str], ...]:
    """The (at most two) required clauses a watchlist is indexed under: the cheapest ones.

    Clauses without prefix keys are preferred: a prefix clause is less selective than a word.
    """
    clauses = sorted(required, key=cost)
    plain = [c for c in clauses if not any(k.endswith("*") for k in c)]
    return tuple(plain[:2] or clauses[:1])


def explain(query: str, doc: Document, *, synonyms: Sequence[Sequence[str]] = ()) -> WatchlistHit | None:
    """Match one query against one document through the real engine (``watchlist test`` uses it)."""
    spec = WatchlistSpec(id=0, name="query", query=query, synonyms=tuple(tuple(g) for g in synonyms))
    hits = Engine.build([spec]).match(doc)
    return hits[0] if hits else None
