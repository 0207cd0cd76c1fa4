"""From a ``Query`` tree to what the engine runs: index keys, a matcher closure and a witness finder.

* ``required_clauses``: disjunctions of keys that every matching article must contain (``a (b OR c)``
  gives ``{a}`` and ``{b, c}``). The engine indexes a watchlist under its most selective clauses, as
  Lucene Monitor's presearcher does, so that only candidates are evaluated.
* ``compile_matcher``: a closure over a ``DocView``. Plain literals become set operations done in C
  (``keys <= view.any``); only NEAR and ``cs()`` look at word positions.
* ``witness``: for a watchlist that matched, the word ranges that made it match (for the snippet).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from monitor.match._analysis import DocView, Span
from monitor.match._ast import And, CaseTerm, Lang, Near, Not, Or, Phrase, Prefix, Query, Source, Term

__all__ = [
    "Matcher",
    "Witness",
    "compile_matcher",
    "compile_query",
    "estimate",
    "required_clauses",
    "witness",
]

Matcher = Callable[[DocView], bool]
Witness = list[tuple[str, Span]]  # (field name, word range)

# A small list of very frequent English words: a clause made of them is a poor index choice.
_COMMON = frozenset(
    (
        "a", "about", "after", "against", "all", "also", "an", "and", "any", "are", "as", "at", "be",
        "been", "before", "being", "between", "both", "but", "by", "can", "could", "did", "do", "does",
        "during", "each", "for", "from", "had", "has", "have", "he", "her", "his", "how", "i", "if", "in",
        "into", "is", "it", "its", "just", "more", "most", "new", "no", "not", "now", "of", "on", "one",
        "only", "or", "other", "our", "out", "over", "said", "says", "she", "so", "some", "such", "than",
        "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "through", "to",
        "two", "under", "up", "us", "was", "we", "were", "what", "when", "where", "which", "while", "who",
        "will", "with", "would", "year", "years", "you", "people", "government", "president", "state",
        "states", "world"
    )
)


# required clauses ---------------------------------------------------------------------------------------
def estimate(key: str, frequencies: Mapping[str, float] | None = None) -> float:
    """Estimated share of articles containing ``key`` (observed if known, else from its shape)."""
    if frequencies is not None:
        seen = frequencies.get(key)
        if seen is not None:
            return seen
    if key.startswith("source:"):
        return 0.05
    if key.startswith("lang:"):
        return 0.9
    if key.endswith("*"):
        return min(0.6, 3.0 * _word_estimate(key[:-1]) + 0.1 / len(key))
    if " " in key:
        product = 1.0
        for word in key.split(" "):
            product *= _word_estimate(word)
        return min(_word_estimate(max(key.split(" "), key=len)), 20.0 * product)
    return _word_estimate(key)


def _word_estimate(word: str) -> float:
    if word in _COMMON:
        return 0.8
    if word.isdigit():
        return 0.1 if len(word) <= 2 else 0.05
    return {1: 0.5, 2: 0.3, 3: 0.1, 4: 0.08, 5: 0.06, 6: 0.05, 7: 0.04}.get(len(word), 0.03)


Cost = Callable[[frozenset[str]], float]


class _Clauses:
    """Required clauses of each node of one query, computed once per node (memoised by identity).

    A clause is a disjunction of keys, necessary for a match; ``[]`` means no positive literal is
    required. Keys are words, ``stem*`` prefixes and ``source:``/``lang:`` filters; a phrase or ``cs()``
    literal requires each of its words; an OR requires the union of the cheapest clause of each branch.
    """

    def __init__(self, cost: Cost) -> None:
        self.cost = cost
        self.memo: dict[int, list[frozenset[str]]] = {}

    def __call__(self, node: Query) -> list[frozenset[str]]:
        found = self.memo.get(id(node))
        if found is None:
            found = self.memo[id(node)] = self._compute(node)
        return found

    def _compute(self, node: Query) -> list[frozenset[str]]:
        if isinstance(node, Phrase | CaseTerm):
            return [frozenset((w,)) for w in dict.fromkeys(node.words)]
        if isinstance(node, Term | Prefix | Source | Lang):
            return [frozenset((node.key,))]
        if isinstance(node, And | Near):
            out: list[frozenset[str]] = []
            for child in node.children if isinstance(node, And) else (node.left, node.right):
                out.extend(c for c in self(child) if c not in out)
            return out
        if isinstance(node, Or):
            union: set[str] = set()
            for child in node.children:
                clauses = self(child)
                if not clauses:
                    return []
                best: frozenset[str] = min(clauses, key=self.cost)
                union |= best
            return [frozenset(union)]
        return []  # Not

    def single_keys(self, node: Query) -> frozenset[str]:
        """Keys that must all be in ``view.any`` (a cheap first test before anything else)."""
        return frozenset(k for clause in self(node) if len(clause) == 1 for k in clause)


def required_clauses(node: Query, cost: Cost) -> list[frozenset[str]]:
    """Disjunctions of keys, each necessary for a match (see ``_Clauses``)."""
    return _Clauses(cost)(node)


def compile_query(query: Query, cost: Cost) -> tuple[Matcher, list[frozenset[str]]]:
    """The matcher of a query and its required clauses, sharing one clause computation."""
    clauses = _Clauses(cost)
    return _Compiler(clauses).compile(query), clauses(query)


def compile_matcher(node: Query) -> Matcher:
    """A closure telling whether ``node`` holds for a view."""
    return _Compiler(_Clauses(len)).compile(node)


# matchers -----------------------------------------------------------------------------------------------
def _plain_key(node: Query) -> str | None:
    """Key of a literal decided by membership in ``view.any`` alone."""
    if isinstance(node, Term | Prefix) and node.field == "any":
        return node.key
    if isinstance(node, Source | Lang):
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
        absent: set[str] = set()
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
        present: set[str] = set()
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


# witness ------------------------------------------------------------------------------------------------
def holds(node: Query, view: DocView) -> bool:
    """Plain interpretation of the tree over a view (used for witnesses, not in the hot path)."""
    if isinstance(node, And):
        return all(holds(c, view) for c in node.children)
    if isinstance(node, Or):
        return any(holds(c, view) for c in node.children)
    if isinstance(node, Not):
        return not holds(node.child, view)
    if isinstance(node, CaseTerm | Near):
        return view.has_spans(node)
    if isinstance(node, Term):
        return view.has_word(node.word, node.field)
    if isinstance(node, Phrase):
        return view.has_phrase(node.words, node.field)
    if isinstance(node, Prefix) and node.field != "any":
        return view.has(" " + node.stem, node.field)
    return node.key in view.any  # Source, Lang


def witness(node: Query, view: DocView) -> Witness:
    """Word ranges that show why ``node`` holds: the first occurrence of each positive literal used."""
    if isinstance(node, And):
        out: Witness = []
        for child in node.children:
            out.extend(witness(child, view))
        return out
    if isinstance(node, Or):
        for child in node.children:
            if holds(child, view):
                return witness(child, view)
        return []
    if isinstance(node, Not | Source | Lang):
        return []
    if isinstance(node, Near):
        return _near_witness(node, view)
    for name in ("title", "body") if node.field == "any" else (node.field,):
        text = view.title if name == "title" else view.body
        if isinstance(node, CaseTerm):
            spans = text.spans(node)
            first = spans[0] if spans else None
        else:
            first = text.first_span(node)
        if first is not None:
            return [(name, first)]
    return []


def _near_witness(node: Near, view: DocView) -> Witness:
    """The first pair of operand occurrences that satisfies the NEAR, as two ranges."""
    for name in ("title", "body") if node.field == "any" else (node.field,):
        text = view.title if name == "title" else view.body
        for combined in text.spans(node):
            lefts = [s for s in text.spans(node.left) if combined[0] <= s[0] and s[1] <= combined[1]]
            rights = [s for s in text.spans(node.right) if combined[0] <= s[0] and s[1] <= combined[1]]
            for a in lefts:
                for b in rights:
                    after = a[1] < b[0] and b[0] - a[1] <= node.distance
                    before = b[1] < a[0] and a[0] - b[1] <= node.distance and not node.ordered
                    if after or before:
                        return [(name, a), (name, b)]
            return [(name, combined)]  # pragma: no cover - a combined range always has such a pair
    return []
