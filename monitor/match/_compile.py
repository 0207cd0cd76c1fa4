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

__all__ = ["Matcher", "Witness", "compile_matcher", "estimate", "required_clauses", "witness"]

Matcher = Callable[[DocView], bool]
Witness = list[tuple[str, Span]]  # (field name, word range)

_KEYED = (Term, Phrase, Prefix, Source, Lang)

# A small list of very frequent English words: a clause made of them is a poor index choice.
_COMMON = frozenset(
    """a about after against all also an and any are as at be been before being between both but by can
    could did do does during each for from had has have he her his how i if in into is it its just more
    most new no not now of on one only or other our out over said says she so some such than that the
    their them then there these they this those through to two under up us was we were what when where
    which while who will with would year years you people government president state states world""".split()
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


def required_clauses(node: Query, cost: Callable[[frozenset[str]], float]) -> list[frozenset[str]]:
    """Disjunctions of keys, each necessary for a match; ``[]`` if no positive literal is required."""
    if isinstance(node, (*_KEYED, CaseTerm)):
        return [frozenset((node.key,))]
    if isinstance(node, And):
        out: list[frozenset[str]] = []
        for child in node.children:
            out.extend(c for c in required_clauses(child, cost) if c not in out)
        return out
    if isinstance(node, Near):
        return required_clauses(And((node.left, node.right)), cost)
    if isinstance(node, Or):
        union: set[str] = set()
        for child in node.children:
            clauses = required_clauses(child, cost)
            if not clauses:
                return []
            union |= min(clauses, key=cost)
        return [frozenset(union)]
    return []  # Not


# matchers -----------------------------------------------------------------------------------------------
def _leaf_keyset(node: Query) -> tuple[str, str] | None:
    """(field, key) of a literal that is decided by key presence alone."""
    if isinstance(node, Term | Phrase | Prefix):
        return node.field, node.key
    if isinstance(node, Source | Lang):
        return "any", node.key
    return None


def compile_matcher(node: Query) -> Matcher:
    leaf = _leaf_keyset(node)
    if leaf is not None:
        return _key_in(*leaf)
    if isinstance(node, CaseTerm | Near):
        needed = frozenset(k for clause in required_clauses(node, len) if len(clause) == 1 for k in clause)
        checked: CaseTerm | Near = node

        def spans_matcher(view: DocView) -> bool:
            return needed <= view.any and view.has_spans(checked)

        return spans_matcher
    if isinstance(node, Not):
        inner = compile_matcher(node.child)
        return lambda view: not inner(view)
    if isinstance(node, And):
        return _compile_and(node)
    if isinstance(node, Or):
        return _compile_or(node)
    raise TypeError(f"cannot compile {node!r}")  # pragma: no cover


def _key_in(field: str, key: str) -> Matcher:
    if field == "title":
        return lambda view: key in view.title_keys
    if field == "body":
        return lambda view: key in view.body_keys
    return lambda view: key in view.any


def _compile_and(node: And) -> Matcher:
    present: set[str] = set()
    absent: set[str] = set()
    rest: list[Matcher] = []
    for child in node.children:
        leaf = _leaf_keyset(child)
        neg = _leaf_keyset(child.child) if isinstance(child, Not) else None
        if leaf is not None and leaf[0] == "any":
            present.add(leaf[1])
        elif neg is not None and neg[0] == "any":
            absent.add(neg[1])
        else:
            rest.append(compile_matcher(child))
    must, must_not, others = frozenset(present), frozenset(absent), tuple(rest)

    def and_matcher(view: DocView) -> bool:
        keys = view.any
        if not must <= keys or not keys.isdisjoint(must_not):
            return False
        return all(f(view) for f in others)

    if not others and not must_not:
        return lambda view: must <= view.any
    return and_matcher


def _compile_or(node: Or) -> Matcher:
    present: set[str] = set()
    rest: list[Matcher] = []
    for child in node.children:
        leaf = _leaf_keyset(child)
        if leaf is not None and leaf[0] == "any":
            present.add(leaf[1])
        else:
            rest.append(compile_matcher(child))
    anyof, others = frozenset(present), tuple(rest)
    if not others:
        return lambda view: not anyof.isdisjoint(view.any)

    def or_matcher(view: DocView) -> bool:
        if not anyof.isdisjoint(view.any):
            return True
        return any(f(view) for f in others)

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
    leaf = _leaf_keyset(node)
    assert leaf is not None
    return leaf[1] in view.keys(leaf[0])


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
    names = ("title", "body") if node.field == "any" else (node.field,)
    for name in names:
        spans = getattr(view, name).spans(node)
        if spans:
            return [(name, spans[0])]
    return []


def _near_witness(node: Near, view: DocView) -> Witness:
    """The first pair of operand occurrences that satisfies the NEAR, as two ranges."""
    for name in ("title", "body") if node.field == "any" else (node.field,):
        text = getattr(view, name)
        for combined in text.spans(node):
            lefts = [s for s in text.spans(node.left) if combined[0] <= s[0] and s[1] <= combined[1]]
            rights = [s for s in text.spans(node.right) if combined[0] <= s[0] and s[1] <= combined[1]]
            for a in lefts:
                for b in rights:
                    gap = b[0] - a[1] if a[1] < b[0] else (a[0] - b[1] if not node.ordered else -1)
                    if 0 < gap <= node.distance and (a[1] < b[0] or b[1] < a[0]):
                        return [(name, a), (name, b)]
            return [(name, combined)]  # pragma: no cover - a combined range always has such a pair
    return []
