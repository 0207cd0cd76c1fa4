"""From a ``Query`` tree to what the engine runs: index keys, a matcher closure and a witness finder.

* ``required_clauses``: disjunctions of keys that every matching article must contain (``a (b OR c)``
  gives ``{a}`` and ``{b, c}``). The engine indexes a watchlist under its most selective clauses, as
  Lucene Monitor's presearcher does, so that only candidates are evaluated.
* ``compile_matcher``: a closure over a ``DocView``. Plain literals become set operations done in C
  (``keys <= view.any``); only NEAR and ``cs()`` look at word positions.

What made a watchlist match (for its snippet) is found by ``_witness``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import chain, pairwise

from monitor.match._ast import And, CaseTerm, Key, Lang, Near, Not, Or, Phrase, Prefix, Query, Source, Term
from monitor.match._view import DocView

__all__ = [
    "Compiled",
    "KeyTest",
    "Matcher",
    "compile_matcher",
    "compile_query",
    "estimate",
    "key_test",
    "required_clauses",
]

Matcher = Callable[[DocView], bool]

# A small list of very frequent English words: a clause made of them is a poor index choice.
_COMMON_WORDS = (
    "a about after against all also an and any are as at be been before being between both but by can "
    "could did do does during each for from had has have he her his how i if in into is it its just more "
    "most new no not now of on one only or other our out over said says she so some such than that the "
    "their them then there these they this those through to two under up us was we were what when where "
    "which while who will with would year years you people government president state states world"
)
_COMMON = frozenset(_COMMON_WORDS.split())


# required clauses ---------------------------------------------------------------------------------------
def estimate(key: Key, frequencies: Mapping[str, float] | None = None) -> float:
    """Estimated share of articles containing ``key`` (observed if known, else from its shape).

    ``frequencies`` is keyed by words, ``stem*``, filters, and "w1 w2" for a pair of adjacent words.
    """
    name = key if isinstance(key, str) else " ".join(key)
    if frequencies is not None:
        seen = frequencies.get(name)
        if seen is not None:
            return seen
    if isinstance(key, tuple):
        first, second = (_word_estimate(w) for w in key)
        return min(first, second, 20.0 * first * second)
    if key.startswith("source:"):
        return 0.05
    if key.startswith("lang:"):
        return 0.9
    if key.endswith("*"):
        return min(0.6, 3.0 * _word_estimate(key[:-1]) + 0.1 / len(key))
    return _word_estimate(key)


def _word_estimate(word: str) -> float:
    if word in _COMMON:
        return 0.8
    if word.isdigit():
        return 0.1 if len(word) <= 2 else 0.05
    return {1: 0.5, 2: 0.3, 3: 0.1, 4: 0.08, 5: 0.06, 6: 0.05, 7: 0.04}.get(len(word), 0.03)


Clause = frozenset[Key]
Cost = Callable[[Clause], float]
# The clauses of term nodes, by identity, for all the queries of one build (``compile_query``): the
# parser shares one node per bare word, and a build of 100,000 queries would make the same clause for
# it thousands of times. Each entry keeps its node, so that no identity is reused while it is kept.
SharedTerms = dict[int, tuple["Query", "list[Clause]"]]


class _Clauses:
    """Required clauses of each node of one query, computed once per node (memoised by identity).

    A clause is a disjunction of keys, necessary for a match; ``[]`` means no positive literal is
    required. Keys are words, ``stem*`` prefixes and ``source:``/``lang:`` filters; a phrase or ``cs()``
    literal requires each of its words; an OR requires the union of the cheapest clause of each branch.
    """

    def __init__(self, cost: Cost, terms: SharedTerms | None = None) -> None:
        self.cost = cost
        self.memo: dict[int, list[Clause]] = {}
        self.terms: SharedTerms = {} if terms is None else terms

    def __call__(self, node: Query) -> list[Clause]:
        found = self.memo.get(id(node))
        if found is None:
            if type(node) is Term:  # a bare word's node is shared by the queries that have it
                shared = self.terms.get(id(node))
                if shared is None:
                    shared = self.terms[id(node)] = (node, self._compute(node))
                found = self.memo[id(node)] = shared[1]
            else:
                found = self.memo[id(node)] = self._compute(node)
        return found

    def _compute(self, node: Query) -> list[Clause]:
        # class patterns, not isinstance with X | Y (three times slower): a build computes this for
        # every node of 100,000s of queries
        match node:
            case Phrase() | CaseTerm() if len(node.words) > 1:
                return [frozenset((pair,)) for pair in dict.fromkeys(pairwise(node.words))]
            case CaseTerm():
                return [frozenset(node.words)]
            case Term() | Prefix() | Source() | Lang():
                return [frozenset((node.key,))]
            case And():  # the children's clauses in order, each once (a dict dedupes them in C)
                return list(dict.fromkeys(chain.from_iterable(map(self, node.children))))
            case Near():
                return list(dict.fromkeys(chain(self(node.left), self(node.right))))
            case Or():
                union: set[Key] = set()
                for child in node.children:
                    clauses = self(child)
                    if not clauses:
                        return []
                    best: Clause = min(clauses, key=self.cost)
                    union |= best
                return [frozenset(union)]
        return []  # Not (and a one-word Phrase, which the parser never makes)

    def single_keys(self, node: Query) -> frozenset[Key]:
        """Keys that must all be in ``view.any`` (a cheap first test before anything else)."""
        return frozenset(k for clause in self(node) if len(clause) == 1 for k in clause)


def required_clauses(node: Query, cost: Cost) -> list[Clause]:
    """Disjunctions of keys, each necessary for a match (see ``_Clauses``)."""
    return _Clauses(cost)(node)


# must all be present, must all be absent, each must have one present
KeyTest = tuple[tuple[Key, ...], tuple[Key, ...], tuple[tuple[Key, ...], ...]]


@dataclass(frozen=True, slots=True)
class Compiled:
    """A query ready for the engine: its test, required clauses, and the literal keys it looks for.

    ``test`` is a ``KeyTest`` (plain data, evaluated inline by the engine) for queries decided by key
    presence alone, which are most of them, else a matcher closure. ``literals`` are words, ``stem*``
    prefixes and pairs of adjacent words. Tuples of strings rather than sets or closures: the
    cyclic garbage collector stops tracking those, and an engine holds one of each per watchlist.
    """

    query: Query
    test: KeyTest | Matcher
    literals: tuple[Key, ...]


def compile_query(
    query: Query, cost: Cost, terms: SharedTerms | None = None
) -> tuple[Compiled, list[Clause]]:
    """The test of a query and the keys it looks up in ``view.any``; and its required clauses.

    ``terms`` (one dict per build, see ``SharedTerms``) lets the queries of a build share the clauses
    of their words; the cost of a clause must not change while it is shared."""
    clauses = _Clauses(cost, terms)
    found: dict[Key, None] = {}
    _literals(query, found)
    test: KeyTest | Matcher | None = key_test(query)
    if test is None:
        test = _Compiler(clauses).compile(query)
    return Compiled(query, test, tuple(found)), clauses(query)


def key_test(query: Query) -> KeyTest | None:
    """The query as key presence tests, if that decides it: literals in any field, filters, their ORs
    and NOTs under one AND (``a b``, ``(a OR b) NOT c``, ``"w1 w2" source:x``)."""
    key = _plain_key(query)
    if key is not None:
        return (key,), (), ()
    if isinstance(query, Or):
        group = _plain_group(query)
        return None if group is None else ((), (), (group,))
    if not isinstance(query, And):
        return None
    must: list[Key] = []
    must_not: list[Key] = []
    groups: list[tuple[Key, ...]] = []
    for child in query.children:
        key = _plain_key(child)
        if key is not None:
            must.append(key)
            continue
        if isinstance(child, Or):
            group = _plain_group(child)
            if group is None:
                return None
            groups.append(group)
            continue
        if not isinstance(child, Not):
            return None
        key = _plain_key(child.child)
        group = (key,) if key is not None else _plain_group(child.child)
        if group is None:
            return None
        must_not.extend(group)
    return tuple(dict.fromkeys(must)), tuple(dict.fromkeys(must_not)), tuple(groups)


def _plain_group(node: Query) -> tuple[Key, ...] | None:
    """The keys of an OR whose children are all plain literals."""
    if not isinstance(node, Or):
        return None
    keys = tuple(_plain_key(child) for child in node.children)
    return None if None in keys else keys  # type: ignore[return-value]


def _literals(node: Query, found: dict[Key, None]) -> None:
    match node:
        case Term():
            found[node.word] = None
        case Phrase() | CaseTerm():
            if len(node.words) == 1:
                found[node.words[0]] = None
            found.update(dict.fromkeys(pairwise(node.words)))
        case Prefix():
            found[node.key] = None
        case And() | Or():
            for child in node.children:
                _literals(child, found)
        case Not():
            _literals(node.child, found)
        case Near():
            _literals(node.left, found)
            _literals(node.right, found)


def compile_matcher(node: Query) -> Matcher:
    """A closure telling whether ``node`` holds for a view."""
    return _Compiler(_Clauses(len)).compile(node)


# matchers -----------------------------------------------------------------------------------------------
def _plain_key(node: Query) -> Key | None:
    """Key of a literal decided by membership in ``view.any`` alone."""
    match node:
        case Term() | Prefix():
            return node.key if node.field == "any" else None
        case Phrase():
            words = node.words
            return (words[0], words[1]) if node.field == "any" and len(words) == 2 else None
        case Source() | Lang():
            return node.key
    return None


class _Compiler:
    def __init__(self, clauses: _Clauses) -> None:
        self.clauses = clauses

    def compile(self, node: Query) -> Matcher:
        key = _plain_key(node)
        if key is not None:
            return lambda view: key in view.any
        if isinstance(node, Term):
            word, field = node.word, node.field
            return lambda view: view.has_word(word, field)
        if isinstance(node, Phrase):
            words, sequence, where = self.clauses.single_keys(node), node.words, node.field
            return lambda view: words <= view.any and view.has_phrase(sequence, where)
        if isinstance(node, Prefix):
            needle, where = " " + node.stem, node.field
            return lambda view: view.has(needle, where)
        if isinstance(node, CaseTerm | Near):
            needed = self.clauses.single_keys(node)
            checked: CaseTerm | Near = node
            return lambda view: needed <= view.any and view.has_spans(checked)
        if isinstance(node, Not):
            inner = self.compile(node.child)
            return lambda view: not inner(view)
        if isinstance(node, And):
            return self._and(node)
        if isinstance(node, Or):
            return self._or(node)
        raise TypeError(f"cannot compile {node!r}")  # pragma: no cover

    def _and(self, node: And) -> Matcher:
        absent: set[Key] = set()
        rest: list[Matcher] = []
        for child in node.children:
            negated = _plain_key(child.child) if isinstance(child, Not) else None
            if negated is not None:
                absent.add(negated)
            elif _plain_key(child) is None:
                rest.append(self.compile(child))
        must, must_not, others = self.clauses.single_keys(node), frozenset(absent), tuple(rest)
        if not others and not must_not:
            return lambda view: must <= view.any
        if len(others) == 1 and not must_not:
            only = others[0]
            return lambda view: must <= view.any and only(view)

        def and_matcher(view: DocView) -> bool:
            keys = view.any
            if not must <= keys or not keys.isdisjoint(must_not):
                return False
            for f in others:  # noqa: SIM110 - a plain loop is faster than all() over a generator here
                if not f(view):
                    return False
            return True

        return and_matcher

    def _or(self, node: Or) -> Matcher:
        present: set[Key] = set()
        rest: list[Matcher] = []
        for child in node.children:
            key = _plain_key(child)
            if key is not None:
                present.add(key)
            else:
                rest.append(self.compile(child))
        anyof, others = frozenset(present), tuple(rest)
        if not others:
            return lambda view: not anyof.isdisjoint(view.any)

        def or_matcher(view: DocView) -> bool:
            if not anyof.isdisjoint(view.any):
                return True
            for f in others:  # noqa: SIM110 - a plain loop is faster than any() over a generator here
                if f(view):
                    return True
            return False

        return or_matcher
