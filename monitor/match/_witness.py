"""Why a watchlist matched: the word ranges its snippet shows.

``witness`` is the plain definition: walk the query tree over a view; an AND shows every child, an OR
its first child that holds, a NEAR the first pair of operand occurrences within the distance, a
literal its first occurrence (title before body); NOT and filters show nothing.

The engine gets the same answer from a *plan*, compiled once per watchlist (on its first hit): the
literals whose first occurrences make the witness, as a tuple of interned ``Ref`` objects, or a small
closure when the query has an OR (which alternative to show depends on the article). Refs are shared
by all watchlists, so that per article each literal is located once, and watchlists whose plans give
the same refs share one snippet. A ref hashes by identity (a C-level hash, unlike a dataclass node).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from monitor.match._ast import And, CaseTerm, Key, Lang, Near, Not, Or, Phrase, Prefix, Query, Source, Term
from monitor.match._compile import _plain_key
from monitor.match._snippet import Witness
from monitor.match._view import DocView

__all__ = [
    "Choice",
    "Interner",
    "Picks",
    "Plan",
    "Ref",
    "Witness",
    "compile_plan",
    "holds",
    "interner",
    "leaf_ranges",
    "ref_ranges",
    "resolve",
    "witness",
]


class Ref:
    """One literal (or NEAR) whose witness ranges are looked up once per article and cached."""

    __slots__ = ("node",)

    def __init__(self, node: Term | Phrase | Prefix | CaseTerm | Near) -> None:
        self.node = node

    def __repr__(self) -> str:
        return f"Ref({self.node!r})"


class Choice(tuple[tuple[Key, "Ref | None"], ...]):
    """An OR of plain literals in a plan: (key, ref) options; the first key present is shown (a filter
    has no ref: it shows nothing)."""

    __slots__ = ()


class Picks(tuple["Ref | Choice", ...]):
    """A plan of refs and choices in query order, resolved without a Python call per OR."""

    __slots__ = ()


Plan = tuple[Ref, ...] | Picks | Choice | Callable[[DocView], tuple[Ref, ...]]
Interner = Callable[[Term | Phrase | Prefix | CaseTerm | Near], Ref]


def interner() -> Interner:
    """A function that returns one ``Ref`` per distinct literal (per key and field; per node for others)."""
    refs: dict[Hashable, Ref] = {}

    def intern(node: Term | Phrase | Prefix | CaseTerm | Near) -> Ref:
        name: Hashable = (node.key, node.field) if isinstance(node, Term | Phrase | Prefix) else node
        ref = refs.get(name)
        if ref is None:
            ref = refs[name] = Ref(node)
        return ref

    return intern


def compile_plan(node: Query, intern: Interner) -> Plan:
    """The refs ``witness`` would show: a constant tuple when no OR is involved, ``Picks`` when the ORs
    are of plain literals (most), else a closure."""
    kind = type(node)
    if kind is And:
        return _concat([compile_plan(child, intern) for child in node.children])  # type: ignore[union-attr]
    if kind is Or:
        return _choose(node, intern)  # type: ignore[arg-type]
    if kind is Not or kind is Source or kind is Lang:
        return ()
    return (intern(node),)  # type: ignore[arg-type]


def resolve(plan: Plan, view: DocView) -> tuple[Ref, ...]:
    """The refs a plan shows for one article."""
    kind = type(plan)
    if kind is tuple:
        return plan  # type: ignore[return-value]
    if kind is Picks or kind is Choice:
        keys = view.any
        items: tuple[Ref | Choice, ...] = plan if kind is Picks else (plan,)  # type: ignore[assignment]
        out: list[Ref] = []
        for item in items:
            if isinstance(item, Ref):
                out.append(item)
                continue
            for key, ref in item:
                if key in keys:
                    if ref is not None:
                        out.append(ref)
                    break
        return tuple(out)
    return plan(view)  # type: ignore[operator]


def _concat(parts: list[Plan]) -> Plan:
    if not any(callable(part) for part in parts):
        items: list[Ref | Choice] = []
        for part in parts:
            if type(part) is Choice:
                items.append(part)
            else:
                items.extend(part)  # type: ignore[arg-type]
        if any(type(item) is Choice for item in items):
            return Picks(items)
        return tuple(items)  # type: ignore[arg-type]
    steps = tuple(part for part in parts if part != ())

    def and_plan(view: DocView) -> tuple[Ref, ...]:
        out: tuple[Ref, ...] = ()
        for step in steps:
            out += resolve(step, view)
        return out

    return and_plan


def _choose(node: Or, intern: Interner) -> Plan:
    options = tuple((_plain_key(child), child, compile_plan(child, intern)) for child in node.children)
    if all(key is not None and type(plan) is tuple and len(plan) <= 1 for key, _child, plan in options):
        return Choice((key, plan[0] if plan else None) for key, _child, plan in options)  # type: ignore[index,misc]

    def or_plan(view: DocView) -> tuple[Ref, ...]:
        keys = view.any
        for key, child, plan in options:
            if (key in keys) if key is not None else holds(child, view):
                return resolve(plan, view)
        return ()

    return or_plan


def ref_ranges(ref: Ref, view: DocView) -> Witness:
    """The witness ranges of one ref in one article, computed once per article."""
    found = view.refs.get(ref)
    if found is None:
        node = ref.node
        found = _near_witness(node, view) if isinstance(node, Near) else leaf_ranges(node, view)
        view.refs[ref] = found
    return found


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
    """Folded ranges that show why ``node`` holds: the first occurrence of each positive literal used."""
    kind = type(node)
    if kind is And:
        out: Witness = []
        for child in node.children:  # type: ignore[union-attr]
            out.extend(witness(child, view))
        return out
    if kind is Or:
        for child in node.children:  # type: ignore[union-attr]
            if holds(child, view):
                return witness(child, view)
        return []
    if kind is Near:
        return _near_witness(node, view)  # type: ignore[arg-type]
    if kind is Not or kind is Source or kind is Lang:
        return []
    return _leaf_witness(node, view)  # type: ignore[arg-type]


def _leaf_witness(node: Term | Phrase | Prefix | CaseTerm, view: DocView) -> Witness:
    """First occurrence of a literal, title before body, cached per article (for ``witness``)."""
    cache_key = (node, node.field) if isinstance(node, CaseTerm) else (node.key, node.field)
    cache = view.witnesses
    found = cache.get(cache_key)
    if found is None:
        found = cache[cache_key] = leaf_ranges(node, view)
    return found


def leaf_ranges(node: Term | Phrase | Prefix | CaseTerm, view: DocView) -> Witness:
    """First occurrence of a literal, title before body."""
    if type(node) is Term:  # most literals: the title's word set says which field to look in
        word, field = node.word, node.field
        if field != "body" and word in view.title_keys:
            first = view.title.first_word(word)
            return [("title", *first)] if first is not None else []
        if field != "title":
            first = view.body.first_word(word)
            return [("body", *first)] if first is not None else []
        return []
    for name in ("title", "body") if node.field == "any" else (node.field,):
        text = view.title if name == "title" else view.body
        if isinstance(node, CaseTerm):
            first = text.first_case(node)
            if first is not None:
                return [(name, *first)]
        else:
            first = text.first_occurrence(node)
            if first is not None:
                return [(name, *first)]
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
                        return [(name, *text.folded_span(*a)), (name, *text.folded_span(*b))]
            return [(name, *text.folded_span(*combined))]  # pragma: no cover - always such a pair
    return []
